"""The ``csum`` console script: ``csum COMMAND [options]`` runs ``python -m experiments.COMMAND``
or, for ``csum bench NAME``, ``python -m benchmarks.NAME``.

The one module above both the commands and the benchmarks: it finds them by name and imports
the one it runs.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks

COMMANDS = {
    "run": ("experiments.run", "train and evaluate a config over its folds"),
    "table1": ("experiments.table1", "every backbone, by CSUM and by its own supervision"),
    "study": ("experiments.study", "an ablation study over folds and seeds"),
    "table2": ("experiments.table2", "highlight detection per domain (the paper's Table 2)"),
    "highlights": ("experiments.highlights", "highlights of your own features, without labels"),
    "summarize": ("experiments.summarize", "summaries and highlights of your own video files"),
    "multimodal": ("experiments.multimodal", "the multimodal systems, a table each"),
    "evaluate": ("experiments.evaluate", "score a prediction file with a benchmark's protocol"),
}
"""``csum`` subcommands: ``{name: (module with main(argv), one line)}``; ``csum bench
NAME`` runs ``benchmarks.NAME``."""


HELPERS = ("trained", "torch_backbones")
"""Modules of ``benchmarks`` that other benchmarks use and that are no command: a quickly
trained model's scores, and the PyTorch reference of ``train_speed --torch``."""


def benchmark_names() -> list[str]:
    """The benchmarks that ``csum bench NAME`` runs."""
    return sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name not in HELPERS
    )


def main(argv: list[str] | None = None) -> int:
    """``csum COMMAND [options]`` (``csum --help`` lists the commands)."""
    argv = sys.argv[1:] if argv is None else argv
    benches = benchmark_names()
    if not argv or argv[0] in ("-h", "--help"):
        lines = [
            "usage: csum COMMAND [options]   (csum COMMAND --help for its options)",
            "",
            "commands:",
        ]
        lines += [f"  {name:<8} {doc}" for name, (_, doc) in COMMANDS.items()]
        lines.append(f"  bench    a benchmark: {', '.join(benches)}")
        print("\n".join(lines))
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "bench":
        if rest and rest[0] in ("-h", "--help"):
            print(
                f"usage: csum bench NAME [options]   (csum bench NAME --help for its "
                f"options)\n\nbenchmarks: {', '.join(benches)}"
            )
            return 0
        if not rest or rest[0] not in benches:
            print(f"error: csum bench NAME, NAME one of {', '.join(benches)}", file=sys.stderr)
            return 2
        module, rest = f"benchmarks.{rest[0]}", rest[1:]
    elif command in COMMANDS:
        module = COMMANDS[command][0]
    else:
        known = ", ".join([*COMMANDS, "bench"])
        print(f"error: unknown command {command!r}; known: {known}", file=sys.stderr)
        return 2
    main = importlib.import_module(module).main
    sys.argv = [f"csum {command}", *rest]  # the benchmarks parse sys.argv themselves
    code = main(rest) if command in COMMANDS else main()
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
