"""Highlight detection on TVSum's FM category (a flash mob), top-5 mAP.

python -m experiments.run --config=tvsum_highlights_fm:synthetic            # CSUM, no labels
python -m experiments.run --config=tvsum_highlights_fm:synthetic,finetuned
"""

from experiments.configs.highlight_common import make_highlights


def get_config(arg=None):
    return make_highlights("tvsum", "FM", arg)
