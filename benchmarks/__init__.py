"""Speed and memory benchmarks; each prints a table and writes it under ``--out``."""

from __future__ import annotations

import json
import subprocess
import sys


def json_row(module: str, *args: str) -> dict:
    """Runs ``python -m module *args`` in its own process (so that its peak memory is its
    own) and returns the last JSON object it printed, or ``{"error": last stderr line}``."""
    out = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True)
    found = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if found:
        return json.loads(found[-1])
    return {"error": (out.stderr.strip().splitlines() or ["no output"])[-1][:160]}
