"""The notebooks in notebooks/ run top to bottom, offline, on a fresh kernel (nbclient), and are
committed without outputs. Their own cells assert the facts their text states (closed-form footprint
values from docs/references.md, physical latency bounds, the June eclipse season), so a notebook whose
conclusions no longer hold fails here."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
EXPECTED = ["01_constellation.ipynb", "02_visibility_passes.ipynb", "03_coverage.ipynb",
            "04_latency_orbital_dc.ipynb", "05_real_catalog.ipynb", "06_gateways_bent_pipe.ipynb",
            "07_time_and_units.ipynb", "08_handovers_path_stability.ipynb", "09_export_hypatia.ipynb",
            "10_scaling_dask.ipynb", "11_cli.ipynb"]


def test_the_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_committed_without_outputs(path):
    nbformat = pytest.importorskip("nbformat", reason="nbformat is needed to read notebooks (pip install nbformat)")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip the outputs"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient", reason="nbclient is not installed (pip install nbclient ipykernel); "
                                   "the notebooks cannot be executed")
    import nbformat

    nb = nbformat.read(path, as_version=4)
    monkeypatch.setenv("MPLBACKEND", os.environ.get("MPLBACKEND", "Agg"))
    # notebooks that use the reference data find it here, and fall back to built-in data without it
    from conftest import SHARED_DATA

    monkeypatch.setenv("ORBITLAT_SHARED_DATA", os.environ.get("ORBITLAT_SHARED_DATA", str(SHARED_DATA)))
    # the kernel (and `python -m orbitlat` run from a cell) import this checkout's orbitlat
    root = str(Path(__file__).resolve().parents[1])
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([root] + [p for p in paths if p != root]))
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the failing cell, on any error or failed assert
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    images = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert images >= 1, "each notebook draws at least one figure"
