"""The dpplstm backbone's own supervised regime on SumMe:
MSE to the normalised gtscore plus the DPP term (Zhang et al. 2016).

python -m experiments.run --config=summe_dpplstm_supervised            # eccv16 file in data/
python -m experiments.run --config=summe_dpplstm_supervised:synthetic  # synthetic SumMe-like data
python -m experiments.run --config=summe_dpplstm_supervised:synthetic,quick  # smoke run
"""

from experiments.configs.common import make


def get_config(arg=None):
    return make("summe", "dpplstm", arg, regime="supervised")
