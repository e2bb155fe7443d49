"""Highlight detection on TVSum's VT category (changing a vehicle tire), top-5 mAP.

python -m experiments.run --config=tvsum_highlights_vt:synthetic            # CSUM, no labels
python -m experiments.run --config=tvsum_highlights_vt:synthetic,finetuned
"""

from experiments.configs.highlight_common import make_highlights


def get_config(arg=None):
    return make_highlights("tvsum", "VT", arg)
