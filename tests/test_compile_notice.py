"""The first numba compilation is announced once (orbitlat.CompileNotice), never when cached."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
import warnings
from pathlib import Path

import pytest

from orbitlat.errors import CompileNotice
from orbitlat.orbits import propagation

ROOT = Path(__file__).resolve().parents[1]


def _fake_kernel(index_path: Path, signatures=()):
    cache_file = types.SimpleNamespace(_index_path=str(index_path))
    disp = types.SimpleNamespace(signatures=list(signatures), _cache=types.SimpleNamespace(_cache_file=cache_file))
    return types.SimpleNamespace(propagate_into=disp)


def test_notice_once_and_only_without_a_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(propagation, "_COMPILE_ANNOUNCED", False)
    cached = tmp_path / "cached.nbi"
    cached.write_bytes(b"")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        assert not propagation._announce_compile(_fake_kernel(cached))                  # cached on disk
        assert not propagation._announce_compile(_fake_kernel(tmp_path / "x.nbi", ["sig"]))  # compiled here
        assert propagation._announce_compile(_fake_kernel(tmp_path / "missing.nbi"))    # will compile
        assert not propagation._announce_compile(_fake_kernel(tmp_path / "missing.nbi"))  # said once
    notes = [x for x in w if issubclass(x.category, CompileNotice)]
    assert len(notes) == 1 and "cached in" in str(notes[0].message) and str(tmp_path) in str(notes[0].message)
    assert notes[0].filename == __file__  # points at the caller, outside orbitlat


@pytest.mark.slow
def test_real_first_compilation_is_announced_then_cached(tmp_path):
    pytest.importorskip("numba")
    code = textwrap.dedent("""
        import warnings, orbitlat as ol
        warnings.simplefilter("always")
        c = ol.Constellation.from_tle(ol.presets.get("iridium").to_tle())
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            c.propagate(start="2026-01-01", duration="10min", step="5min", backend="sgp4")
            c.propagate(start="2026-01-01", duration="10min", step="5min", backend="sgp4")
        print(sum(issubclass(x.category, ol.CompileNotice) for x in w))
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT), ORBITLAT_SGP4_KERNEL="numba")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
            for _ in range(2)]
    assert [r.stdout.strip() for r in runs] == ["1", "0"]  # announced on the compiling run only
