"""The msva backbone's own supervised regime on SumMe:
MSE to the normalised gtscore.

python -m experiments.run --config=summe_msva_supervised            # eccv16 file in data/
python -m experiments.run --config=summe_msva_supervised:synthetic  # synthetic SumMe-like data
python -m experiments.run --config=summe_msva_supervised:synthetic,quick  # smoke run
"""

from experiments.configs.common import make


def get_config(arg=None):
    return make("summe", "msva", arg, regime="supervised")
