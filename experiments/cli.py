"""The one argument library of every command: argparse, plus ``--config.a.b=V`` overrides.

Every entry point (``experiments.run``, ``experiments.table1``, ``experiments.study``, the
benchmarks, the ``csum`` console script) builds its parser with ``make_parser`` so that
``--help`` prints the command's options and the names it accepts, and runs its body through
``guarded`` so that a bad name or value is one ``error:`` line and exit code 2.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

from experiments.config_loader import CONFIG_DIR, ConfigError, known_configs

CATALOG = ("configs", "backbones", "operators", "protocols")
"""Sections that ``catalog`` can list."""


def config_descriptions() -> dict[str, str]:
    """``{config name: first line of its module docstring}``."""
    out = {}
    for name in known_configs():
        doc = ast.get_docstring(ast.parse((CONFIG_DIR / f"{name}.py").read_text())) or ""
        out[name] = " ".join(doc.split("\n\n")[0].split())
    return out


def catalog(*sections: str) -> str:
    """The accepted names, one section per line group, for a ``--help`` epilog."""
    lines = []
    for section in sections:
        if section == "configs":
            from experiments.configs.common import ARGS
            from experiments.configs.highlight_common import HIGHLIGHT_ARGS
            from experiments.configs.multimodal_common import QUERY_ARGS, TRANSCRIPT_ARGS

            lines.append(
                "configs (--config=NAME[:ARG,...], ARG comma-joined words; 'quick' is "
                "a small synthetic smoke run in every family):"
            )
            for family, words in (
                ("summaries", ARGS),
                (
                    "highlights (youtube_*, tvsum_highlights_*)",
                    (*HIGHLIGHT_ARGS, "a backbone name"),
                ),
                ("queries (qvhighlights_*)", QUERY_ARGS),
                ("transcripts (transcripts_*)", TRANSCRIPT_ARGS),
            ):
                lines.append(f"  words for {family}: {', '.join(words)}")
            lines += [f"  {n:<32} {d}" for n, d in config_descriptions().items()]
        elif section == "backbones":
            import backbones

            lines.append(
                "backbones (--config.backbone.name): " + ", ".join(backbones.BACKBONES.names())
            )
        elif section == "operators":
            from csum import topk

            lines.append(
                "top-k operators (--config.topk.name): " + ", ".join(topk.OPERATORS.names())
            )
        elif section == "protocols":
            from csum.metrics.evaluation import VARIANTS

            lines.append(
                "evaluation protocols (--config.eval.protocol): standard, or "
                "+-joined variants: " + ", ".join(VARIANTS)
            )
        else:
            raise ValueError(f"unknown catalog section {section!r}; known: {CATALOG}")
    return "\n".join(lines)


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (``error: ...; see --help``, exit code 2)."""

    def error(self, message: str):
        self.exit(2, f"error: {message}; see {self.prog} --help\n")


def make_parser(
    prog: str,
    doc: str,
    *sections: str,
    overrides: bool = True,
    plugins: bool = True,
    names: str = "",
) -> argparse.ArgumentParser:
    """A parser whose help is the module docstring, then the accepted names.

    Args:
        prog: the command (``python -m experiments.run``).
        doc: the module docstring (its text is the help's description).
        sections: ``CATALOG`` sections to list after the options.
        overrides: whether the command takes ``--config.a.b=V`` overrides.
        plugins: whether the command takes ``--import=MODULE`` (every command that builds
            or loads a model: a backbone of the user's own module can be named there).
        names: more accepted names a command lists itself, before the sections.
    """
    if sys.argv and sys.argv[0].startswith("csum "):  # run as a ``csum`` subcommand
        prog = sys.argv[0]
    epilog = "\n".join(part for part in (names, catalog(*sections)) if part) or None
    if overrides:
        note = (
            "--config.a.b=V overrides any config field (typed by its default; a "
            "misspelled field is an error listing the known ones)."
        )
        epilog = f"{note}\n\n{epilog}" if epilog else note
    parser = Parser(prog=prog, description=doc, formatter_class=HelpFormatter, epilog=epilog)
    if plugins:
        add_import_option(parser)
    return parser


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """The module docstring as written, and every option's default in its help (where it has
    one: not for a required option, a flag or an empty list)."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or action.required
            or default is None
            or isinstance(default, bool)
            or (isinstance(default, list | str) and not default)
            or default is argparse.SUPPRESS
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)"


def write_report(stem, table: str, data, indent: int = 2, echo: bool = True) -> None:
    """Writes ``stem.md`` (the printed table) and ``stem.json`` (the numbers behind it),
    creating the folder, and prints the table (unless ``echo`` is False): the output of
    every table and benchmark."""

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(data, indent=indent) + "\n")
    stem.with_suffix(".md").write_text(table + "\n")
    if echo:
        print(table)


def add_import_option(parser: argparse.ArgumentParser) -> None:
    """``--import=MODULE`` (repeatable, into ``args.imports``): user modules to import first,
    so that the backbones they register can be named (``import_plugins``)."""
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first (it may register backbones); repeatable",
    )


def import_plugins(modules: list[str]) -> None:
    """Imports user modules (which register backbones); a failure is one ConfigError line.
    The current directory is on the import path."""

    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as err:  # any failure of user code: one line, with its own message
            raise ConfigError(f"--import={name}: {type(err).__name__}: {err}") from None


def split_overrides(
    parser: argparse.ArgumentParser, argv: list[str]
) -> tuple[argparse.Namespace, dict[str, str]]:
    """Parses ``argv``; ``--config.a.b=V`` (or ``--config.a.b V``) become overrides.

    Anything else that the parser does not know is a usage error.

    Raises:
        SystemExit: 0 after ``--help``, 2 after a usage error (one line on stderr).
    """
    args, rest = parser.parse_known_args(argv)
    overrides, items = {}, iter(rest)
    for item in items:
        if not item.startswith("--config."):
            parser.error(f"unrecognized argument {item!r}")
        key, eq, value = item[len("--config.") :].partition("=")
        if not eq:
            value = next(items, None)
            if value is None:
                parser.error(f"--config.{key} needs a value")
        overrides[key] = value
    return args, overrides


def run_command(
    parser: argparse.ArgumentParser,
    argv: list[str] | None,
    body: Callable[[argparse.Namespace, dict[str, str]], int],
) -> int:
    """Parses ``argv`` (default ``sys.argv[1:]``) and runs ``body(args, overrides)``.

    Returns the exit code instead of exiting, so that tests can call a command's ``main``:
    0 after ``--help``, 2 after a usage error or a known user error (``guarded``).
    """
    try:
        args, overrides = split_overrides(parser, sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)

    def with_plugins() -> int:
        import_plugins(getattr(args, "imports", []))
        return body(args, overrides)

    return guarded(with_plugins)


def guarded(body: Callable[[], int]) -> int:
    """Runs ``body``; a known user error is one ``error:`` line on stderr and exit code 2."""
    from csum.data.errors import DataError
    from csum.highlights.qvhighlights import SubmissionError
    from csum.registry import UnknownNameError
    from csum.training.trainer import TrainingError

    try:
        return body()
    except (ConfigError, DataError, SubmissionError, UnknownNameError, TrainingError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume from the last epoch", file=sys.stderr)
        return 130
