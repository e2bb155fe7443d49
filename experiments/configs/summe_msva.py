"""Unsupervised CSUM with the msva backbone on SumMe.

python -m experiments.run --config=summe_msva            # eccv16 file in data/
python -m experiments.run --config=summe_msva:synthetic  # synthetic SumMe-like data
python -m experiments.run --config=summe_msva:synthetic,quick  # smoke run
"""

from experiments.configs.common import make


def get_config(arg=None):
    return make("summe", "msva", arg)
