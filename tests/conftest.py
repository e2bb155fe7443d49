"""Shared fixtures: small synthetic datasets written once per session."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import jax
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from csum.data.eccv16 import load_eccv16  # noqa: E402
from csum.data.synthetic import FEATURE_KEYS, ensure_synthetic  # noqa: E402

# Most of the suite's time is XLA compiling, and many tests build the same programs (every
# run of a config compiles its train step per bucket). JAX's persistent compilation cache
# keeps each compiled program for the session: the first test pays, the others load it.
# One directory per process, because the cache's plain file writes are not safe to share.
_XLA_CACHE = tempfile.mkdtemp(prefix=f"csum-xla-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-")
atexit.register(shutil.rmtree, _XLA_CACHE, ignore_errors=True)
jax.config.update("jax_compilation_cache_dir", _XLA_CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)

SMALL = {"n_videos": 12, "dim": 32, "min_seconds": 20, "max_seconds": 60}


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("synthetic")


@pytest.fixture(scope="session")
def small_h5(synthetic_dir) -> Path:
    """A 12-video TVSum-like file with 3 sources of 32 features."""
    return ensure_synthetic(synthetic_dir, "tvsum", seed=3, **SMALL)


@pytest.fixture(scope="session")
def small_videos(small_h5):
    return load_eccv16(small_h5, FEATURE_KEYS)


@pytest.fixture(scope="session")
def check_human_row():
    """Checks the SumMe human row that ``csum.summarization.baselines`` prints against the literature
    (F1 54.0 with max over users, Otani et al. 2019), not against an earlier output."""

    def check(text: str) -> None:
        row = re.search(
            r"\| standard \(F1 max\) \| human \(leave one out\) \| "
            r"([-\d.]+) \| ([-\d.]+) \| ([-\d.]+) \|",
            text,
        )
        assert row, text
        f1, tau, rho = (float(v) for v in row.groups())
        assert abs(f1 - 54.0) <= 0.5 and -1 <= tau <= 1 and -1 <= rho <= 1

    return check


@pytest.fixture(scope="session")
def reevaluate():
    """A run's test-fold metrics recomputed apart from the run's own evaluation: the saved
    model (``csum.load``) scores the raw test videos of the fold, and ``csum.metrics.evaluation``
    scores them. A run that evaluated anything but its model's scores (random numbers, a
    dropped source, another fold) does not match it."""

    def compute(workdir, config, fold: int = 0) -> dict:
        import json

        import csum
        from csum.metrics.evaluation import (
            as_quantiles,
            evaluate_video,
            mean_metrics,
            parse_protocol,
        )
        from csum.summarization.data import load_dataset

        results = json.loads((Path(workdir) / "results.json").read_text())
        test_keys = json.loads(Path(results["split_file"]).read_text())[fold]["test_keys"]
        data = load_dataset(config)
        videos = [data[k] for k in test_keys]
        run = csum.load(workdir, fold)
        scores = run.score(videos)
        rank = run.config["eval"]["scores"] == "rank"
        protocol = parse_protocol(config.eval.protocol)
        return mean_metrics(
            [
                evaluate_video(
                    as_quantiles(scores[v.key]) if rank else scores[v.key],
                    v,
                    config.eval.f1_mode,
                    config.topk.ratio,
                    protocol,
                )
                for v in videos
            ]
        )

    return compute
