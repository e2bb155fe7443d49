"""Highlight detection on TVSum's PK category (parkour), top-5 mAP.

python -m experiments.run --config=tvsum_highlights_pk:synthetic            # CSUM, no labels
python -m experiments.run --config=tvsum_highlights_pk:synthetic,finetuned
"""

from experiments.configs.highlight_common import make_highlights


def get_config(arg=None):
    return make_highlights("tvsum", "PK", arg)
