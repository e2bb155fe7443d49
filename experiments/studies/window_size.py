"""CSUM's Fig. 7: F1 of CSUM-MSVA on TVSum against the window length n of Eq. 4."""

BASE = "tvsum_msva"
FIELD = "projector.window"
VALUES = (1, 2, 5, 10, 20)
PAPER = {}
"""Fig. 7 is a plot without printed values; the paper chose n = 10."""
