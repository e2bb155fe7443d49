"""Train and evaluate CSUM over cross-validation folds.

    python -m experiments.run --config=tvsum_msva:synthetic [--config.train.epochs=5 ...]
    python -m experiments.run --import=my_backbones --config=tvsum_msva \
        --config.backbone.name=mine          # a backbone registered in your own module

``--import=MODULE`` (repeatable) imports a module before the config is built, so that the
backbones it registers (``@backbones.BACKBONES.register``) can be named. The current
directory is on the import path.

Writes ``results.json``, ``metrics.jsonl``, ``config.json`` and checkpoints under
``--config.workdir`` and prints a table. Rerunning an interrupted command resumes it.
Bad input gives one ``error:`` line and exit code 2.
"""

from __future__ import annotations

import importlib
import sys

from csum.data.errors import DataError
from csum.registry import UnknownNameError
from csum.train import TrainingError
from experiments.config_loader import ConfigError, apply_overrides, load_config

USAGE = (
    "usage: python -m experiments.run [--import=MODULE ...] --config=NAME[:ARG,...] "
    "[--config.a.b=VALUE ...]"
)


def parse_argv(argv: list[str]) -> tuple[str, dict[str, str], list[str]]:
    """Returns (config spec, overrides, modules to import)."""
    spec, overrides, imports = None, {}, []
    args = iter(argv)
    for a in args:
        if "=" not in a and a.startswith(("--config", "--import")):
            a = f"{a}={next(args, '')}"
        if a.startswith("--config="):
            spec = a.split("=", 1)[1]
        elif a.startswith("--config."):
            key, _, value = a[len("--config.") :].partition("=")
            overrides[key] = value
        elif a.startswith("--import="):
            imports.append(a.split("=", 1)[1])
        else:
            raise ConfigError(f"unexpected argument {a!r}; {USAGE}")
    if not spec:
        raise ConfigError(f"missing --config; {USAGE}")
    return spec, overrides, imports


def import_plugins(modules: list[str]) -> None:
    """Imports user modules (which register backbones); a failure is one ConfigError line."""
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as err:  # any failure of user code: one line, with its own message
            raise ConfigError(f"--import={name}: {type(err).__name__}: {err}") from None


def main(argv: list[str] | None = None) -> int:
    try:
        spec, overrides, imports = parse_argv(sys.argv[1:] if argv is None else argv)
        import_plugins(imports)
        config = load_config(spec)
        apply_overrides(config, overrides)
        from csum.evaluation import parse_protocol
        from csum.experiment import format_table, run_experiment  # heavy imports after parsing
        from csum.train import check_regime

        try:
            parse_protocol(config.eval.protocol)
        except ValueError as err:
            raise ConfigError(f"--config.eval.protocol: {err}") from None
        try:
            check_regime(config)
        except ValueError as err:
            raise ConfigError(str(err)) from None

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
