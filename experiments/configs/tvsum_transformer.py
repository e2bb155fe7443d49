"""Unsupervised CSUM with the transformer backbone on TVSum.

python -m experiments.run --config=tvsum_transformer            # eccv16 file in data/
python -m experiments.run --config=tvsum_transformer:synthetic  # synthetic TVSum-like data
python -m experiments.run --config=tvsum_transformer:synthetic,quick  # smoke run
"""

from experiments.configs.common import make


def get_config(arg=None):
    return make("tvsum", "transformer", arg)
