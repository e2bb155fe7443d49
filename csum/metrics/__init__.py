"""Evaluation without JAX: summaries by F1, Kendall and Spearman (``evaluation``), rank
statistics against many references at once (``ranks``)."""

from csum.lazy import submodule


def __getattr__(name: str):
    return submodule(__name__, name)  # the modules as attributes (csum.lazy)
