"""The layout's rules (docs/usage.md, "Where the code lives"): no import circles, no
import of a higher floor, no run config below the task drivers. Each check is also run on a
small tree that breaks it, so that it can fail."""

from pathlib import Path

from benchmarks.house import (
    FLOORS,
    below_drivers,
    circles,
    floor_of,
    import_graph,
    sources,
    upward_imports,
)

ROOT = Path(__file__).resolve().parents[1]


def test_every_module_is_on_a_floor():
    for name in sources(ROOT):
        floor_of(name)  # raises for a module no floor claims


def test_no_circles_and_no_import_of_a_higher_floor():
    assert circles(import_graph(ROOT)) == []
    assert upward_imports(ROOT) == []


def test_nothing_below_the_task_drivers_takes_a_config():
    assert below_drivers(ROOT) == []


def _tree(tmp_path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_the_checks_catch_what_they_forbid(tmp_path):
    root = _tree(
        tmp_path,
        {
            "csum/__init__.py": "",
            "csum/registry.py": "",
            "csum/nn/__init__.py": "",
            "csum/nn/layers.py": "def f():\n    from csum.training import trainer\n",
            "csum/training/__init__.py": "",
            "csum/training/trainer.py": "from csum.nn import layers\n",
            "csum/model/__init__.py": "",
            "csum/model/banks.py": "def bank(config):\n    return config\n",
        },
    )
    assert circles(import_graph(root)) == [["csum.nn.layers", "csum.training.trainer"]]
    assert upward_imports(root) == ["csum.nn.layers -> csum.training.trainer"]
    assert below_drivers(root) == ["csum.model.banks.bank"]


def test_floors_are_ordered_and_named_once():
    names = [n for entry, _ in FLOORS for n in entry.split()]
    assert len(names) == len(set(names))
    assert (
        floor_of("csum.nn.layers") < floor_of("backbones.msva") < floor_of("csum.training.rundir")
    )
    assert (
        floor_of("experiments.run") < floor_of("benchmarks.house") < floor_of("experiments.console")
    )
