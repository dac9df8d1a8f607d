"""The tutorial notebooks run from a clean state, offline, and are stored without outputs.

Each notebook is executed in a fresh Jupyter kernel (nbclient) from the notebooks folder, as
``pytest --nbmake notebooks/`` would; a failing cell fails the test. Notebooks that need
something this machine lacks (e.g. cloud keys) skip those cells themselves.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
BUDGET = float(os.environ.get("VOICEGRAPH_NOTEBOOK_BUDGET", "60"))
"""Seconds a notebook may take (they take 3-10 s here); VOICEGRAPH_NOTEBOOK_BUDGET=0 lifts it."""


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name}: a cell has stored outputs; clear them before committing"
            )


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    start = time.monotonic()
    client.execute()
    took = time.monotonic() - start
    if BUDGET > 0:
        assert took < BUDGET, f"{path.name} took {took:.0f} s; keep each notebook under a minute"
