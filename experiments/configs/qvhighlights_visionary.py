"""Query-based moment retrieval and highlight detection on QVHighlights-format data (visionary).

python -m experiments.run --config=qvhighlights_visionary:synthetic
python -m experiments.run --config=qvhighlights_visionary --config.queries.train=train.jsonl \\
    --config.queries.val=val.jsonl --config.queries.video_dir=V --config.queries.text_dir=T
"""

from experiments.configs.multimodal_common import make_queries


def get_config(arg=None):
    return make_queries("visionary", arg)
