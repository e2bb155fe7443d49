"""Train and evaluate CSUM over cross-validation folds.

    python -m experiments.run --config=tvsum_msva:synthetic [--config.train.epochs=5 ...]

Writes ``results.json``, ``metrics.jsonl``, ``config.json`` and checkpoints under
``--config.workdir`` and prints a table. Rerunning an interrupted command resumes it.
Bad input gives one ``error:`` line and exit code 2.
"""

from __future__ import annotations

import sys

from csum.data.errors import DataError
from csum.registry import UnknownNameError
from csum.train import TrainingError
from experiments.config_loader import ConfigError, apply_overrides, load_config

USAGE = "usage: python -m experiments.run --config=NAME[:ARG,...] [--config.a.b=VALUE ...]"


def parse_argv(argv: list[str]) -> tuple[str, dict[str, str]]:
    spec, overrides = None, {}
    args = iter(argv)
    for a in args:
        if "=" not in a and a.startswith("--config"):
            a = f"{a}={next(args, '')}"
        if a.startswith("--config="):
            spec = a.split("=", 1)[1]
        elif a.startswith("--config."):
            key, _, value = a[len("--config.") :].partition("=")
            overrides[key] = value
        else:
            raise ConfigError(f"unexpected argument {a!r}; {USAGE}")
    if not spec:
        raise ConfigError(f"missing --config; {USAGE}")
    return spec, overrides


def main(argv: list[str] | None = None) -> int:
    try:
        spec, overrides = parse_argv(sys.argv[1:] if argv is None else argv)
        config = load_config(spec)
        apply_overrides(config, overrides)
        from csum.evaluation import parse_protocol
        from csum.experiment import format_table, run_experiment  # heavy imports after parsing

        try:
            parse_protocol(config.eval.protocol)
        except ValueError as err:
            raise ConfigError(f"--config.eval.protocol: {err}") from None

        results = run_experiment(config)
    except (ConfigError, DataError, UnknownNameError, TrainingError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume from the last epoch", file=sys.stderr)
        return 130
    print(format_table(results))
    print(f"results: {config.workdir}/results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
