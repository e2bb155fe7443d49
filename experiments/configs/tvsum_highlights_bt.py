"""Highlight detection on TVSum's BT category (attempting a bike trick), top-5 mAP.

python -m experiments.run --config=tvsum_highlights_bt:synthetic            # CSUM, no labels
python -m experiments.run --config=tvsum_highlights_bt:synthetic,finetuned
"""

from experiments.configs.highlight_common import make_highlights


def get_config(arg=None):
    return make_highlights("tvsum", "BT", arg)
