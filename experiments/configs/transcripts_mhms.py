"""Video and transcript summarization (mhms; csum.multimodal.transcripts).

python -m experiments.run --config=transcripts_mhms:synthetic
python -m experiments.run --config=transcripts_mhms --config.transcripts.root=DIR
"""

from experiments.configs.multimodal_common import make_transcripts


def get_config(arg=None):
    return make_transcripts("mhms", arg)
