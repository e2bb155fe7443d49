"""Unsupervised CSUM with the transformer backbone on SumMe.

python -m experiments.run --config=summe_transformer            # eccv16 file in data/
python -m experiments.run --config=summe_transformer:synthetic  # synthetic SumMe-like data
python -m experiments.run --config=summe_transformer:synthetic,quick  # smoke run
"""

from experiments.configs.common import make


def get_config(arg=None):
    return make("summe", "transformer", arg)
