"""Evaluation without JAX: summaries by F1, Kendall and Spearman (``evaluation``), rank
statistics against many references at once (``ranks``)."""
