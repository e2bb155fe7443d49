"""The docs are true to the repository: every relative link and every repository path quoted
in README.md and docs/ exists, and every command they quote names a module that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
TOP = ("csum/", "backbones/", "experiments/", "benchmarks/", "tests/", "docs/", ".ci/")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
QUOTED = re.compile(r"`([^`\s]+)`")
MODULE = re.compile(r"python -m ((?:experiments|benchmarks)(?:\.\w+)+)")


def _is_path(text: str) -> bool:
    # a repository path, not a pattern or a placeholder (runs/..., DIR/..., {a,b}, *.h5)
    placeholder = r"[{}*<>\[\]]|\.\.\.|\b[A-Z][A-Z0-9_]+\b|_k/|_N\b"
    return text.startswith(TOP) and not re.search(placeholder, text)


def _pages():
    return [pytest.param(p, id=str(p.relative_to(ROOT))) for p in PAGES]


@pytest.mark.parametrize("page", _pages())
def test_relative_links_resolve(page):
    missing = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path = (page.parent / target.split("#")[0]).resolve()
        if not path.exists():
            missing.append(target)
    assert not missing, f"{page.relative_to(ROOT)}: broken links {missing}"


@pytest.mark.parametrize("page", _pages())
def test_quoted_repository_paths_exist(page):
    missing = []
    for text in QUOTED.findall(page.read_text()):
        text = text.split("::")[0].rstrip(".,;:)")
        if _is_path(text) and not (ROOT / text).exists():
            missing.append(text)
    assert not missing, f"{page.relative_to(ROOT)}: quoted paths that do not exist {missing}"


@pytest.mark.parametrize("page", _pages())
def test_quoted_commands_name_modules_that_exist(page):
    missing = []
    for module in MODULE.findall(page.read_text()):
        if re.search(r"\b[A-Z][A-Z0-9_]+\b", module):  # a placeholder: benchmarks.NAME
            continue
        if not (ROOT / (module.replace(".", "/") + ".py")).is_file():
            missing.append(module)
    assert not missing, f"{page.relative_to(ROOT)}: commands of missing modules {missing}"


def test_readme_and_usage_list_every_csum_subcommand():
    from experiments.console import COMMANDS

    want = {*COMMANDS, "bench"}
    for page in (ROOT / "README.md", ROOT / "docs" / "usage.md"):
        listed = set(re.findall(r"`csum (\w+)", page.read_text()))
        assert want <= listed, (page.name, sorted(want - listed))
