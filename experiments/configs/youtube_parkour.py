"""Highlight detection on YouTube Highlights' parkour domain (UMT's transformer by default).

python -m experiments.run --config=youtube_parkour:synthetic               # CSUM, no labels
python -m experiments.run --config=youtube_parkour:synthetic,audio,finetuned
python -m experiments.run --config=youtube_parkour --config.highlights.labels=L.json \\
    --config.highlights.video_dir=V --config.highlights.splits=S.json
"""

from experiments.configs.highlight_common import make_highlights


def get_config(arg=None):
    return make_highlights("youtube", "parkour", arg)
