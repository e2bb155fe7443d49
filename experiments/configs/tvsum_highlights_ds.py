"""Highlight detection on TVSum's DS category (a dog show), top-5 mAP.

python -m experiments.run --config=tvsum_highlights_ds:synthetic            # CSUM, no labels
python -m experiments.run --config=tvsum_highlights_ds:synthetic,finetuned
"""

from experiments.configs.highlight_common import make_highlights


def get_config(arg=None):
    return make_highlights("tvsum", "DS", arg)
