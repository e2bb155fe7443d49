"""Video and transcript summarization (a2summ; csum.multimodal.transcripts).

python -m experiments.run --config=transcripts_a2summ:synthetic
python -m experiments.run --config=transcripts_a2summ --config.transcripts.root=DIR
"""

from experiments.configs.multimodal_common import make_transcripts


def get_config(arg=None):
    return make_transcripts("a2summ", arg)
