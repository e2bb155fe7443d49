"""The vasnet backbone's own supervised regime on TVSum:
MSE to the normalised gtscore.

python -m experiments.run --config=tvsum_vasnet_supervised            # eccv16 file in data/
python -m experiments.run --config=tvsum_vasnet_supervised:synthetic  # synthetic TVSum-like data
python -m experiments.run --config=tvsum_vasnet_supervised:synthetic,quick  # smoke run
"""

from experiments.configs.common import make


def get_config(arg=None):
    return make("tvsum", "vasnet", arg, regime="supervised")
