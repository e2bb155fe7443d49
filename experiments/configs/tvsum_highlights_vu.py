"""Highlight detection on TVSum's VU category (getting a vehicle unstuck), top-5 mAP.

python -m experiments.run --config=tvsum_highlights_vu:synthetic            # CSUM, no labels
python -m experiments.run --config=tvsum_highlights_vu:synthetic,finetuned
"""

from experiments.configs.highlight_common import make_highlights


def get_config(arg=None):
    return make_highlights("tvsum", "VU", arg)
