"""Query-based moment localization with the localization module of 003 (crosstask_lm).

python -m experiments.run --config=qvhighlights_crosstask_lm:synthetic
python -m experiments.run --config=qvhighlights_crosstask_lm:synthetic,finetuned
"""

from experiments.configs.multimodal_common import make_queries


def get_config(arg=None):
    return make_queries("crosstask_lm", arg)
