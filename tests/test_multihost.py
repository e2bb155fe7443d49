"""Two processes on this machine train as one: ``jax.distributed`` with CPU collectives.

The same partitioned step runs in one process over two (forced) CPU devices and in two
processes of one CPU device each (``--config.distributed.*``, Gloo collectives between
them); the loss curve and the test metrics must agree to float32 rounding. Process 0
alone writes the run's files, and the orbax checkpoints of the two-process run restore.
"""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = [
    "-m",
    "experiments.run",
    "--config=tvsum_vasnet:synthetic,quick",
    "--config.train.progress=false",
    "--config.compute_dtype=float32",
    "--config.data.folds=(0,)",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    return {**env, "JAX_PLATFORMS": "cpu", **extra}


def _records(workdir: Path) -> list[dict]:
    return [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]


def test_two_processes_equal_one_process_with_two_devices(tmp_path):
    data = f"--config.data.synthetic_dir={tmp_path / 'data'}"
    one = subprocess.run(
        [
            sys.executable,
            *BASE,
            data,
            f"--config.workdir={tmp_path / 'one'}",
            "--config.train.devices=2",
        ],
        cwd=ROOT,
        env=_env(XLA_FLAGS="--xla_force_host_platform_device_count=2"),
        capture_output=True,
        text=True,
        timeout=200,
    )
    assert one.returncode == 0, one.stderr[-3000:]
    port = _free_port()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                *BASE,
                data,
                f"--config.workdir={tmp_path / 'two'}",
                "--config.train.devices=0",
                "--config.distributed.enabled=true",
                f"--config.distributed.coordinator=localhost:{port}",
                "--config.distributed.num_processes=2",
                f"--config.distributed.process_id={i}",
            ],
            cwd=ROOT,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    # One deadline for both (they wait on each other), and neither outlives the test.
    deadline = time.monotonic() + 200
    try:
        outs = [p.communicate(timeout=max(deadline - time.monotonic(), 1)) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    a, b = _records(tmp_path / "one"), _records(tmp_path / "two")
    assert [r["epoch"] for r in b] == [r["epoch"] for r in a] == [0, 1]  # one writer
    for ra, rb in zip(a, b, strict=True):
        assert abs(ra["loss"] - rb["loss"]) <= 1e-6 * abs(ra["loss"]), (ra, rb)
    ma = json.loads((tmp_path / "one" / "results.json").read_text())["mean"]
    mb = json.loads((tmp_path / "two" / "results.json").read_text())["mean"]
    for key in ma:
        assert abs(ma[key] - mb[key]) <= 1e-6, (key, ma[key], mb[key])
    from csum.training.checkpoint import Checkpointer

    ckpt = Checkpointer(tmp_path / "two" / "fold_0" / "checkpoints")
    assert ckpt.latest_epoch() == 2 and "backbone" in ckpt.read()["params"]
    ckpt.close()


def test_bad_distributed_values_are_one_line(capsys):
    from experiments.run import main

    args = ["--config=tvsum_vasnet:synthetic,quick", "--config.distributed.enabled=true"]
    assert main([*args, "--config.distributed.coordinator=localhost"]) == 2
    assert "distributed.coordinator='localhost': expected host:port" in capsys.readouterr().err
    assert (
        main([*args, "--config.distributed.num_processes=2", "--config.distributed.process_id=2"])
        == 2
    )
    assert "distributed.process_id=2: expected an integer in" in capsys.readouterr().err
