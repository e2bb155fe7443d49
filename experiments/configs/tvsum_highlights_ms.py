"""Highlight detection on TVSum's MS category (making a sandwich), top-5 mAP.

python -m experiments.run --config=tvsum_highlights_ms:synthetic            # CSUM, no labels
python -m experiments.run --config=tvsum_highlights_ms:synthetic,finetuned
"""

from experiments.configs.highlight_common import make_highlights


def get_config(arg=None):
    return make_highlights("tvsum", "MS", arg)
