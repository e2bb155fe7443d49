"""The trainable CSUM model: the ``Summarizer`` (backbone g and projector h) built from a
``ModelSpec`` (``summarizer``), the contrast residual (``residual``), the banks of negatives
(``banks``) and the collection contrast that becomes a model input (``contrast``)."""

from csum.lazy import submodule


def __getattr__(name: str):
    return submodule(__name__, name)  # the modules as attributes (csum.lazy)
