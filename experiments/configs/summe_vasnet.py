"""Unsupervised CSUM with the vasnet backbone on SumMe.

python -m experiments.run --config=summe_vasnet            # eccv16 file in data/
python -m experiments.run --config=summe_vasnet:synthetic  # synthetic SumMe-like data
python -m experiments.run --config=summe_vasnet:synthetic,quick  # smoke run
"""

from experiments.configs.common import make


def get_config(arg=None):
    return make("summe", "vasnet", arg)
