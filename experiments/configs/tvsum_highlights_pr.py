"""Highlight detection on TVSum's PR category (a parade), top-5 mAP.

python -m experiments.run --config=tvsum_highlights_pr:synthetic            # CSUM, no labels
python -m experiments.run --config=tvsum_highlights_pr:synthetic,finetuned
"""

from experiments.configs.highlight_common import make_highlights


def get_config(arg=None):
    return make_highlights("tvsum", "PR", arg)
