"""How the code is laid out, counted: the figures issue 34 (the house) is judged by.

    python -m benchmarks.house [--root=PATH]

Prints one table: Python files at the top of ``csum/``, import circles (strongly connected
components of the module import graph, imports inside functions included), functions in
``csum/`` and ``backbones/`` that take a whole config (a parameter named ``config``), imports
inside function bodies, and ``# fmt: skip`` markers. ``--root`` counts another checkout, so
two trees can be compared in one run.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

PACKAGES = ("csum", "backbones", "experiments", "benchmarks")


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
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
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


def counts(root: Path) -> dict[str, int]:
    files = sources(root)
    config_functions = inner_imports = 0
    for name, path in files.items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                params = [a.arg for a in node.args.args + node.args.kwonlyargs]
                if "config" in params and name.split(".")[0] in ("csum", "backbones"):
                    config_functions += 1
                inner_imports += sum(
                    isinstance(n, ast.Import | ast.ImportFrom) for n in ast.walk(node)
                )
    every = [p for p in root.rglob("*.py") if ".venv" not in p.parts]
    return {
        "files at csum/ top level": len(list((root / "csum").glob("*.py"))),
        "import circles": len(circles(import_graph(root))),
        "functions taking a config (csum/, backbones/)": config_functions,
        "imports inside functions": inner_imports,
        "# fmt: skip": sum(p.read_text().count("# fmt: skip") for p in every),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.house", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--root", action="append", default=None,
                        help="a checkout to count (repeatable; default: this one)")  # fmt: skip
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
