"""benchmarks/course_time.py times each notebook under papermill, lists the slowest cells and
tells which of the slow ones show a tqdm bar.  Runs on a tiny synthetic notebook (seconds)."""
import json
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "course_time.py"


def notebook(folder):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("QUICK = True\nOUT_DIR = '.'")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# 00 · A tiny chapter"), params,
                nbformat.v4.new_code_cell("import time\ntime.sleep(0.6)   # silent"),
                nbformat.v4.new_code_cell("import sys\nfrom tqdm import tqdm\n"
                                          "for _ in tqdm(range(3), file=sys.stderr):\n    time.sleep(0.2)"),
                nbformat.v4.new_code_cell("x = 1")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir()
    nbformat.write(nb, folder / "00_tiny.ipynb")


def test_course_time_on_a_tiny_notebook(tmp_path):
    notebook(tmp_path / "nbs")
    out = tmp_path / "t.json"
    r = subprocess.run([sys.executable, str(SCRIPT), "--notebooks-dir", str(tmp_path / "nbs"), "--only", "00",
                        "--out", str(tmp_path / "run"), "--json", str(out), "--slow-cell", "0.3"],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    s = json.loads(out.read_text())
    (nb,) = s["notebooks"]
    assert nb["notebook"] == "00_tiny" and 0.8 < nb["seconds"] < 120 and s["total_s"] == nb["seconds"]
    silent = next(c for c in nb["cells"] if c["source"].startswith("import time"))
    bar = next(c for c in nb["cells"] if c["source"].startswith("import sys"))
    assert silent["seconds"] >= 0.5 and silent["bar"] is None
    assert bar["seconds"] >= 0.5 and bar["bar"] == "stderr"
    assert s["slow_cells_without_bar"] == 1                  # the silent sleep
    assert "00_tiny" in r.stdout and "no bar" in r.stdout and "total" in r.stdout
    # reading the executed copy gives the same cells, without running it again
    r2 = subprocess.run([sys.executable, str(SCRIPT), "--executed", str(tmp_path / "run"), "--slow-cell", "0.3"],
                        capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r2.returncode == 0 and "1 of them without a progress bar" in r2.stdout


def test_unknown_notebook_is_one_clear_error(tmp_path):
    notebook(tmp_path / "nbs")
    r = subprocess.run([sys.executable, str(SCRIPT), "--notebooks-dir", str(tmp_path / "nbs"), "--only", "07"],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 2 and "07" in r.stderr
