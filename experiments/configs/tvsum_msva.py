"""Unsupervised CSUM with the msva backbone on TVSum.

python -m experiments.run --config=tvsum_msva            # eccv16 file in data/
python -m experiments.run --config=tvsum_msva:synthetic  # synthetic TVSum-like data
python -m experiments.run --config=tvsum_msva:stock,small    # the README main job
python -m experiments.run --config=tvsum_msva:synthetic,quick  # smoke run
"""

from experiments.configs.common import make


def get_config(arg=None):
    return make("tvsum", "msva", arg)
