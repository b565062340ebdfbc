"""The package's shape: the layering contract of pyproject.toml holds, and every module says what it owns.

The contract (``[tool.importlinter]`` in pyproject.toml, drawn in docs/architecture.md) is checked
by import-linter's own ``lint-imports`` command, run on this checkout; a second run on a copy with
one upward import added shows that the check can fail. The docstring test reads every module's
source with :mod:`ast` (nothing is imported).
"""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "orbitlat"


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed (it is in the test extra: pip install -e '.[test]')")
    env = dict(os.environ, PYTHONPATH=str(cwd))  # analyse this tree, not an installed orbitlat
    return subprocess.run([exe, "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_layers_contract_is_kept():
    r = _lint_imports(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout and "2 kept" in r.stdout


def test_layers_contract_catches_an_upward_import(tmp_path):
    # the same check on a copy where the scale layer imports an analysis: it must fail and say where
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(PACKAGE, tmp_path / "orbitlat", ignore=shutil.ignore_patterns("__pycache__", "*.csv", "*.json",
                                                                                   "*.gz"))
    plan = tmp_path / "orbitlat" / "scale" / "plan.py"
    plan.write_text(plan.read_text() + "\n\ndef _upward():\n    from orbitlat.coverage import figures  # noqa\n")
    r = _lint_imports(tmp_path)
    assert r.returncode != 0
    assert "orbitlat.scale is not allowed to import orbitlat.coverage" in r.stdout


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_has_a_docstring_of_substance():
    # "of substance": 60+ characters in 8+ words, in sentences, saying what the module owns (not a
    # placeholder); tiny re-export packages included, since the tree is the map a newcomer reads
    bad = []
    for path in _modules():
        doc = (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").strip()
        if (len(doc) < 60 or len(doc.split()) < 8 or any(w in doc.upper() for w in ("TODO", "FIXME", "XXX"))
                or not any(ch in doc for ch in ".:")):
            bad.append(f"{path.relative_to(ROOT)}: {doc[:60]!r}")
    assert not bad, "modules without a docstring saying what they own:\n" + "\n".join(bad)
    assert len(_modules()) > 60


def test_every_subpackage_is_in_the_contract():
    # exhaustive = true in the contract already fails for a module left out; this names the places
    # the docs promise, so the contract and docs/architecture.md describe the same tree
    text = (ROOT / "pyproject.toml").read_text()
    arch = (ROOT / "docs" / "architecture.md").read_text()
    for p in sorted(PACKAGE.iterdir()):
        name = p.stem if p.suffix == ".py" else p.name
        if name.startswith("_") or not (p.is_dir() and (p / "__init__.py").exists() or p.suffix == ".py"):
            continue
        assert f"{name}" in text.split("[tool.importlinter]")[1], f"{name} is not in the layers contract"
        assert f"`{name}" in arch, f"docs/architecture.md does not say what {name} owns"


def test_scale_imports_no_analysis():
    # the protocol knows no analysis by name: no import of coverage, visibility or latency, even lazily
    names = ("orbitlat.coverage", "orbitlat.visibility", "orbitlat.latency", "orbitlat.orbits", "orbitlat.ground")
    for path in (PACKAGE / "scale").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(m.startswith(names) for m in mods), f"{path.name} imports {mods}"
    assert sys.modules.get("orbitlat.scale.chunked") is None and not (PACKAGE / "scale" / "chunked.py").exists()
