"""Unsupervised CSUM with the summarization module of 003 (crosstask_sm) on TVSum.

python -m experiments.run --config=tvsum_crosstask_sm            # eccv16 file in data/
python -m experiments.run --config=tvsum_crosstask_sm:synthetic  # synthetic TVSum-like data
"""

from experiments.configs.common import make


def get_config(arg=None):
    return make("tvsum", "crosstask_sm", arg)
