"""Unsupervised CSUM with the dpplstm backbone on SumMe.

python -m experiments.run --config=summe_dpplstm            # eccv16 file in data/
python -m experiments.run --config=summe_dpplstm:synthetic  # synthetic SumMe-like data
python -m experiments.run --config=summe_dpplstm:synthetic,quick  # smoke run
"""

from experiments.configs.common import make


def get_config(arg=None):
    return make("summe", "dpplstm", arg)
