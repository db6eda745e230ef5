"""Notebooks are tests: papermill runs each one with its quick parameters (one test per
notebook, failing on any cell error and naming the failing cell).  To check them cell by
cell as well: ``pytest --nbval-lax notebooks/``."""
import json
from pathlib import Path

import pytest

from mixgan.notebook import NOTEBOOKS, run

NBS = sorted(NOTEBOOKS.glob("*.ipynb"))
# A cell that runs this long has hung (the slowest quick cell takes about a minute): fail, don't block CI.
CELL_TIMEOUT = 900


def test_there_are_notebooks():
    assert any(p.name.startswith("00_quickstart") for p in NBS)


@pytest.mark.parametrize("nb", NBS, ids=[p.stem for p in NBS])
def test_notebook_stored_clean(nb):
    """Stored without outputs; first code cell tagged 'parameters' with QUICK and OUT_DIR."""
    cells = json.loads(nb.read_text())["cells"]
    dirty = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"{nb.name}: cells {dirty} hold outputs; clear them (python scripts/clean_notebooks.py)"
    no_id = [i for i, c in enumerate(cells) if not c.get("id")]
    assert not no_id, f"{nb.name}: cells {no_id} have no id (nbformat 4.5 wants one per cell)"
    code = [c for c in cells if c["cell_type"] == "code"]
    assert "parameters" in code[0]["metadata"].get("tags", []), f"{nb.name}: first code cell must be tagged 'parameters'"
    src = "".join(code[0]["source"])
    assert "QUICK" in src and "OUT_DIR" in src, f"{nb.name}: parameters cell must define QUICK and OUT_DIR"


@pytest.mark.parametrize("nb", NBS, ids=[p.stem for p in NBS])
def test_notebook_runs(nb, tmp_path):
    import papermill as pm
    try:
        out = run(nb, tmp_path, timeout=CELL_TIMEOUT)
    except pm.PapermillExecutionError as e:
        pytest.fail(f"{nb.name}: cell {e.exec_count} raised {e.ename}: {e.evalue}", pytrace=False)
    assert out.exists()


@pytest.mark.parametrize("nb", NBS, ids=[p.stem for p in NBS])
def test_notebook_reads_stored_results_by_key(nb):
    """Stored results are read through mixgan.results by key, never by a path or a file-name pattern
    under results/; a notebook names no stored file that is missing."""
    from mixgan import results
    code = "".join("".join(c["source"]) for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code")
    assert "../results" not in code and ".glob(" not in code, nb.name
    stored = {e["file"] for e in results.manifest().values()}
    text = nb.read_text()
    for name in ("fig9_cpu.csv", "toy_modes_hmog3000.json", "results/analysis"):
        assert name not in text or name in stored, f"{nb.name} names {name}, which is not stored"
