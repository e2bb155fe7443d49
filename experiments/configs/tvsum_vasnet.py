"""Unsupervised CSUM with the vasnet backbone on TVSum.

python -m experiments.run --config=tvsum_vasnet            # eccv16 file in data/
python -m experiments.run --config=tvsum_vasnet:synthetic  # synthetic TVSum-like data
python -m experiments.run --config=tvsum_vasnet:synthetic,quick  # smoke run
"""

from experiments.configs.common import make


def get_config(arg=None):
    return make("tvsum", "vasnet", arg)
