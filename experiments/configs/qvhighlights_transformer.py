"""Query-based moment retrieval and highlight detection on QVHighlights-format data (transformer).

python -m experiments.run --config=qvhighlights_transformer:synthetic
python -m experiments.run --config=qvhighlights_transformer --config.queries.train=train.jsonl \\
    --config.queries.val=val.jsonl --config.queries.video_dir=V --config.queries.text_dir=T
"""

from experiments.configs.multimodal_common import make_queries


def get_config(arg=None):
    return make_queries("transformer", arg)
