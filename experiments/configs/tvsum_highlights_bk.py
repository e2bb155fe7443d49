"""Highlight detection on TVSum's BK category (beekeeping), top-5 mAP.

python -m experiments.run --config=tvsum_highlights_bk:synthetic            # CSUM, no labels
python -m experiments.run --config=tvsum_highlights_bk:synthetic,finetuned
"""

from experiments.configs.highlight_common import make_highlights


def get_config(arg=None):
    return make_highlights("tvsum", "BK", arg)
