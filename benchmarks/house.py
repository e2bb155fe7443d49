"""How the code is laid out, counted.

    python -m benchmarks.house [--root=PATH]

Prints one table: Python files at the top of ``csum/``, import circles (strongly connected
components of the module import graph, imports inside functions included), functions in
``csum/`` and ``backbones/`` that take a whole config (a parameter named ``config``), imports
inside function bodies, and the formatter's opt-out markers. ``--root`` counts another checkout, so
two trees can be compared in one run.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

PACKAGES = ("csum", "backbones", "experiments", "benchmarks")

MARKER = "# fmt" + ": skip"
"""The formatter's opt-out marker (spelled in two parts, so that this file holds none)."""

FLOORS = (
    ("csum.registry csum.files csum.lazy", "the registry pattern, atomic writes, lazy modules"),
    ("csum.metrics", "evaluation of summaries and rank statistics (NumPy, SciPy)"),
    ("csum.nn", "JAX/Flax building blocks: layers, precision, dropout, attention, windows, ..."),
    ("csum.topk", "the differentiable top-k operators (pure JAX)"),
    ("csum.data", "videos, eccv16 files, splits, labels, batching, synthetic data"),
    ("csum.video", "video files: decoding, features (I3D), summaries written as video"),
    ("backbones", "the score predictors g, one registry"),
    ("csum.objectives", "every training loss, one registry, typed LossSpec"),
    ("csum.model", "the Summarizer (g and h) from a ModelSpec; banks; the collection contrast"),
    ("csum.training", "TrainSpec, step, fold loop, checkpoints, run folder, parallel, csum.load"),
    ("csum.summarization", "the summarization task driver; phases shared by every driver"),
    ("csum.highlights", "the highlight task driver"),
    ("csum.multimodal", "the multimodal task drivers (transcripts, queries)"),
    ("csum", "the package's public face: csum.load and lazy submodules"),
    ("experiments", "configs, their validation, the commands and their argument library"),
    ("benchmarks", "speed, memory and ceiling measurements"),
    ("experiments.console", "the csum console script, which dispatches to both"),
)
"""The floors, lowest first: a module may import its own package and the floors below.
A name stands for the package or module and everything in it that a later entry does not
claim."""


def floor_of(module: str) -> int:
    """The index in ``FLOORS`` of the longest entry that ``module`` falls under."""
    best, depth = None, -1
    for i, (names, _) in enumerate(FLOORS):
        for name in names.split():
            if (module == name or module.startswith(name + ".")) and name.count(".") > depth:
                best, depth = i, name.count(".")
    if best is None:
        raise ValueError(f"{module} is on no floor (benchmarks.house.FLOORS)")
    return best


def upward_imports(root: Path) -> list[str]:
    """``"a -> b"`` for every import of a module on a higher floor than the importer's."""
    graph = import_graph(root)
    return sorted(f"{a} -> {b}" for a, bs in graph.items() for b in bs if floor_of(b) > floor_of(a))


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources(root: Path) -> dict[str, Path]:
    """Module name -> file, for every package the house counts."""
    return {
        module_name(root, p): p
        for package in PACKAGES
        for p in sorted((root / package).rglob("*.py"))
        if "configs" not in p.parts or package != "experiments"
    }


def imported(tree: ast.Module, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The known modules that ``tree`` imports anywhere (``from a import b`` names ``a.b``
    when ``a.b`` is a module, else ``a``)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".") if is_package else module.split(".")[:-1]
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # ``from a import b``: the module ``a.b`` if there is one, else (a name) ``a``
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    files = sources(root)
    known = set(files)
    return {
        name: imported(ast.parse(path.read_text()), name, path.stem == "__init__", known)
        for name, path in files.items()
    }


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm).

    A package's ``__init__`` importing its own submodules is not a circle: edges from a
    package to modules inside it are left out.
    """
    edges = {a: {b for b in bs if not b.startswith(a + ".")} for a, bs in graph.items()}
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def config_functions(root: Path) -> list[tuple[str, str]]:
    """``(module, function)`` for every function in ``csum/`` and ``backbones/`` with a
    parameter named ``config`` (a whole run config)."""
    out = []
    for name, path in sources(root).items():
        if name.split(".")[0] not in ("csum", "backbones"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "config" in [
                a.arg for a in node.args.args + node.args.kwonlyargs
            ]:
                out.append((name, node.name))
    return out


DRIVERS = "csum.summarization"
"""The lowest floor of the task drivers, which alone read a run's config."""


def below_drivers(root: Path) -> list[str]:
    """Functions below the task drivers that take a config, other than the ``from_config``
    converters of the typed specs (what the drivers call to build them)."""
    floor = floor_of(DRIVERS)
    return [
        f"{m}.{f}" for m, f in config_functions(root) if floor_of(m) < floor and f != "from_config"
    ]


def counts(root: Path) -> dict[str, int | str]:
    new_layout = (root / "csum" / "training").is_dir()  # the floors name its packages
    inner_imports = 0
    for path in sources(root).values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                inner_imports += sum(
                    isinstance(n, ast.Import | ast.ImportFrom) for n in ast.walk(node)
                )
    every = [p for p in root.rglob("*.py") if ".venv" not in p.parts]
    return {
        "files at csum/ top level": len(list((root / "csum").glob("*.py"))),
        "import circles": len(circles(import_graph(root))),
        "imports of a higher floor": len(upward_imports(root)) if new_layout else "-",
        "functions taking a config (csum/, backbones/)": len(config_functions(root)),
        "... of them below the task drivers, converters aside": (
            len(below_drivers(root)) if new_layout else "-"
        ),
        "imports inside functions": inner_imports,
        MARKER: sum(p.read_text().count(MARKER) for p in every),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.house",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--root",
        action="append",
        default=None,
        help="a checkout to count (repeatable; default: this one)",
    )
    args = parser.parse_args(argv)
    roots = [Path(r) for r in (args.root or [Path(__file__).resolve().parents[1]])]
    table = {str(r): counts(r) for r in roots}
    rows = list(next(iter(table.values())))
    print("| count | " + " | ".join(table) + " |")
    print("|---|" + "---|" * len(table))
    for row in rows:
        print(f"| {row} | " + " | ".join(str(t[row]) for t in table.values()) + " |")
    for r in roots:
        for c in circles(import_graph(r)):
            print(f"circle in {r}: {' <-> '.join(c)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
