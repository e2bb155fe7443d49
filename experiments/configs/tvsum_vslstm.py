"""Unsupervised CSUM with the vslstm backbone on TVSum.

python -m experiments.run --config=tvsum_vslstm            # eccv16 file in data/
python -m experiments.run --config=tvsum_vslstm:synthetic  # synthetic TVSum-like data
python -m experiments.run --config=tvsum_vslstm:synthetic,quick  # smoke run
"""

from experiments.configs.common import make


def get_config(arg=None):
    return make("tvsum", "vslstm", arg)
