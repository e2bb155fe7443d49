"""Unsupervised CSUM with the dpplstm backbone on TVSum.

python -m experiments.run --config=tvsum_dpplstm            # eccv16 file in data/
python -m experiments.run --config=tvsum_dpplstm:synthetic  # synthetic TVSum-like data
python -m experiments.run --config=tvsum_dpplstm:synthetic,quick  # smoke run
"""

from experiments.configs.common import make


def get_config(arg=None):
    return make("tvsum", "dpplstm", arg)
