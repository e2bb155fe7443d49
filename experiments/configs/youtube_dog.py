"""Highlight detection on YouTube Highlights' dog domain (UMT's transformer by default).

python -m experiments.run --config=youtube_dog:synthetic               # CSUM, no labels
python -m experiments.run --config=youtube_dog:synthetic,audio,finetuned
python -m experiments.run --config=youtube_dog --config.highlights.labels=L.json \\
    --config.highlights.video_dir=V --config.highlights.splits=S.json
"""

from experiments.configs.highlight_common import make_highlights


def get_config(arg=None):
    return make_highlights("youtube", "dog", arg)
