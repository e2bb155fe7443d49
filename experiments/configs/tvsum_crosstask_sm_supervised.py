"""The summarization module of 003 (crosstask_sm) on TVSum, trained by MSE to the normalised
gtscore (its supervised regime).

python -m experiments.run --config=tvsum_crosstask_sm_supervised            # eccv16 file
python -m experiments.run --config=tvsum_crosstask_sm_supervised:synthetic  # synthetic data
"""

from experiments.configs.common import make


def get_config(arg=None):
    return make("tvsum", "crosstask_sm", arg, regime="supervised")
