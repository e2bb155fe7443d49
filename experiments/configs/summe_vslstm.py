"""Unsupervised CSUM with the vslstm backbone on SumMe.

python -m experiments.run --config=summe_vslstm            # eccv16 file in data/
python -m experiments.run --config=summe_vslstm:synthetic  # synthetic SumMe-like data
python -m experiments.run --config=summe_vslstm:synthetic,quick  # smoke run
"""

from experiments.configs.common import make


def get_config(arg=None):
    return make("summe", "vslstm", arg)
