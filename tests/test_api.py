"""The public surface: every public module declares its API (``__all__``) and shows only that to
``dir()`` and tab completion; built-in data loads from a plain checkout; citations stay inside the
repository."""
from __future__ import annotations

import importlib
import os
import pkgutil
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import orbitlat

ROOT = Path(__file__).resolve().parents[1]


def _public_module_names() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages(orbitlat.__path__, "orbitlat.")
                  if not any(part.startswith("_") for part in m.name.split(".")))


@pytest.mark.parametrize("name", _public_module_names())
def test_public_module_declares_and_shows_only_its_api(name):
    mod = importlib.import_module(name)
    assert isinstance(getattr(mod, "__all__", None), list), f"{name} has no __all__"
    for attr in mod.__all__:
        assert getattr(mod, attr, None) is not None, f"{name}.__all__ lists {attr!r}, which does not resolve"
    shown = [n for n in dir(mod) if not n.startswith("_")]
    assert sorted(shown) == sorted(mod.__all__), f"dir({name}) shows {sorted(set(shown) - set(mod.__all__))}"
    assert "np" not in shown and "dataclass" not in shown


def test_tab_completion_shows_the_api_not_the_imports():
    jedi = pytest.importorskip("jedi", reason="jedi (IPython's completer) is not installed")
    from orbitlat.viz import tracks

    names = {c.name for c in jedi.Interpreter("tracks.", [{"tracks": tracks}]).complete()}
    assert {"ground_track_map", "footprint_map"} <= names
    assert not names & {"np", "Any", "Sequence", "OrbitlatError"}


def _clean_env():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONNOUSERSITE"] = "1"
    return env


CHECK = textwrap.dedent("""
    import orbitlat, orbitlat.data
    from orbitlat.orbits import presets
    from orbitlat.ground.sites import GroundSites
    print(orbitlat.__file__)
    print(presets.get("iridium").size, len(GroundSites.datacenter("stargate")))
""")


def test_builtin_data_loads_from_the_checkout_isolated():
    # `python -I` ignores PYTHONPATH and user site; sys.path starts with the checkout only, as a script
    # or a Jupyter kernel started from the repository root sees it
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r})\n" + CHECK
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, env=_clean_env(),
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    path, counts = out.stdout.strip().splitlines()
    assert Path(path).resolve() == ROOT / "orbitlat" / "__init__.py"
    assert counts == "66 1"


def test_builtin_data_loads_from_the_repository_root_like_python_or_jupyter():
    # `python -c` from the root puts the current folder first on sys.path
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, env=_clean_env(), cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.splitlines()[0]).resolve() == ROOT / "orbitlat" / "__init__.py"


def test_package_data_lives_inside_the_package():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "package-dir" not in text, "orbitlat.data must not be mapped to a folder outside the package"
    assert (ROOT / "orbitlat" / "data" / "presets.json").is_file()


def _text_files():
    for sub in ("orbitlat", "tests", "notebooks", "docs", "benchmarks", ".ci"):
        for p in (ROOT / sub).rglob("*"):
            if p.is_file() and p.suffix in {".py", ".md", ".ipynb", ".txt", ".json", ".csv", ".toml", ""}:
                yield p
    for p in ROOT.glob("*.md"):
        yield p
    yield ROOT / "pyproject.toml"


#: Documents cited before they are written (remove an entry when its file lands; the test then holds it).
PENDING_DOCS: dict[str, str] = {}


def test_citations_point_inside_the_repository():
    bad, cited = [], set()
    for p in _text_files():
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if p.name == "test_api.py":
            continue
        if "REFERENCES.md" in text:
            bad.append(str(p.relative_to(ROOT)))
        cited.update(re.findall(r"docs/[\w\-]+\.md", text))
    assert not bad, f"these files cite a REFERENCES.md that is not in the repository: {bad}; cite docs/references.md"
    missing = sorted(c for c in cited if not (ROOT / c).is_file() and c not in PENDING_DOCS)
    assert not missing, f"cited documents missing from the repository: {missing}"
    landed = sorted(c for c in PENDING_DOCS if (ROOT / c).is_file())
    assert not landed, f"{landed} now exist: remove them from PENDING_DOCS so this test checks them"
