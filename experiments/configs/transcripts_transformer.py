"""Video and transcript summarization (transformer; csum.multimodal.transcripts).

python -m experiments.run --config=transcripts_transformer:synthetic
python -m experiments.run --config=transcripts_transformer --config.transcripts.root=DIR
"""

from experiments.configs.multimodal_common import make_transcripts


def get_config(arg=None):
    return make_transcripts("transformer", arg)
