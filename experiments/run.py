"""Train and evaluate CSUM over cross-validation folds.

    python -m experiments.run --config=tvsum_msva:synthetic [--config.train.epochs=5 ...]
    # a backbone registered in your own module:
    python -m experiments.run --import=my_backbones --config=tvsum_msva --config.backbone.name=mine

``--import=MODULE`` (repeatable) imports a module before the config is built, so that the
backbones it registers (``@backbones.BACKBONES.register``) can be named. The current
directory is on the import path.

Writes ``results.json``, ``metrics.jsonl``, ``config.json`` and checkpoints under
``--config.workdir`` and prints a table. Rerunning an interrupted command resumes it.
Bad input gives one ``error:`` line and exit code 2.
"""

from __future__ import annotations

import sys

from experiments.cli import import_plugins, make_parser, run_command  # noqa: F401  (API)
from experiments.config_loader import ConfigError, apply_overrides, load_config
from experiments.validation import RULES, validate


def build_parser():
    parser = make_parser(
        "python -m experiments.run", __doc__, "configs", "backbones", "operators", "protocols"
    )
    parser.add_argument(
        "--config",
        required=True,
        metavar="NAME[:ARG,...]",
        help="a named config (listed below) or a path to a config .py file",
    )
    return parser


def prepare(spec: str, overrides: dict[str, str]):
    """Loads ``spec``, applies the overrides and validates the whole config (no work yet)."""

    config = load_config(spec)
    apply_overrides(config, overrides)
    if config.distributed.enabled:  # join before validate counts every process's devices
        join_processes(config)
    validate(config)
    return config


def join_processes(config) -> None:
    """Validates ``distributed.*`` and joins the other processes (``csum.training.distributed``)."""
    from csum.training.distributed import initialize

    for key in ("enabled", "coordinator", "num_processes", "process_id"):
        value, rule = config.distributed[key], RULES[f"distributed.{key}"]
        if not rule.check(value, config):
            raise ConfigError(f"--config.distributed.{key}={value!r}: expected {rule.allowed}")
    try:
        initialize(
            config.distributed.coordinator,
            config.distributed.num_processes,
            config.distributed.process_id,
        )
    except (RuntimeError, ValueError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ConfigError(f"distributed.enabled: could not join the processes: {first}") from None


def main(argv: list[str] | None = None) -> int:
    def body(args, overrides) -> int:
        config = prepare(args.config, overrides)
        if config.task == "highlights":
            from csum.highlights.experiment import format_result, run_highlights

            print(format_result(run_highlights(config)))
            print(f"results: {config.workdir}/results_{config.highlights.regime}.json")
            return 0
        if config.task == "transcripts":
            from csum.multimodal.transcripts import format_result, run_transcripts

            print(format_result(run_transcripts(config)))
            print(f"results: {config.workdir}/results_{config.transcripts.regime}.json")
            return 0
        if config.task == "queries":
            from csum.multimodal.retrieval import format_result, run_queries

            print(format_result(run_queries(config)))
            print(f"results: {config.workdir}/results_{config.queries.regime}.json")
            return 0
        from csum.summarization.experiment import run_experiment  # heavy imports after checks
        from csum.summarization.report import format_table

        results = run_experiment(config, allow_unlabelled=True)
        if results.get("unlabelled"):
            from csum.summarization.collection import format_unlabelled

            print(format_unlabelled(results, config.workdir))
            return 0
        print(format_table(results))
        print(f"results: {config.workdir}/results.json")
        return 0

    return run_command(build_parser(), argv, body)


if __name__ == "__main__":
    sys.exit(main())
