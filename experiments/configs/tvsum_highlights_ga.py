"""Highlight detection on TVSum's GA category (grooming an animal), top-5 mAP.

python -m experiments.run --config=tvsum_highlights_ga:synthetic            # CSUM, no labels
python -m experiments.run --config=tvsum_highlights_ga:synthetic,finetuned
"""

from experiments.configs.highlight_common import make_highlights


def get_config(arg=None):
    return make_highlights("tvsum", "GA", arg)
