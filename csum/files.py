"""Atomic file writes: a reader (a rerun, a browser) sees the old file or the whole new one.

An interrupted command must never leave a half-written file that a rerun trusts (a rerun of
``experiments.summarize`` skips every video whose ``summary.json`` exists), so outputs are
written to a temporary file in the same folder and renamed over the target, which POSIX
makes atomic.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic(path) -> Iterator[Path]:
    """Yields a temporary path beside ``path`` (same suffix, so that writers that choose a
    format by it still do); renames it to ``path`` when the block ends without an error, and
    removes it otherwise."""
    path = Path(path)
    tmp = path.with_name(f"{path.stem}.tmp{os.getpid()}{path.suffix}")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path, text: str) -> Path:
    """``path.write_text(text)``, atomically."""
    with atomic(path) as tmp:
        tmp.write_text(text)
    return Path(path)
