"""How long the course takes: every numbered notebook at its quick settings under papermill.

    python benchmarks/course_time.py                           # notebooks/0*.ipynb, one torch thread
    python benchmarks/course_time.py --only 07 --json t.json
    python benchmarks/course_time.py --executed build/docs-exec  # read notebooks make docs already ran

Budgets: each notebook <= 120 s, the whole course <= 10 min, and every cell that runs longer
than 10 s shows a tqdm progress bar (a stderr bar, or the widget tqdm.auto draws in JupyterLab).
Each notebook runs headless (mixgan.notebook.run, MIXGAN_HEADLESS=1) with one torch thread, as
the test suite runs it.  The cell times are the ones papermill records in the executed notebook
(metadata.papermill.duration of each cell).
"""
import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_BUDGET_S, COURSE_BUDGET_S, SLOW_CELL_S = 120.0, 600.0, 10.0
TQDM_TEXT = re.compile(r"\d+%\|.*\|\s*\d+/\d+|\d+/\d+ \[\d")   # "40%|####  | 4/10" or "4/10 [00:01"


def progress_bar(cell):
    """'stderr' or 'widget' when the cell's outputs hold a tqdm bar, else None."""
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            if TQDM_TEXT.search("".join(out.get("text", ""))):
                return "stderr"
        data = out.get("data", {})
        if "application/vnd.jupyter.widget-view+json" in data:
            text = "".join(data.get("text/plain", ""))
            if TQDM_TEXT.search(text) or "Progress" in text:   # tqdm.notebook's HBox prints as its bar
                return "widget"
    return None


def cell_times(nb):
    """[(cell index, seconds, first source line, bar)] for the code cells papermill timed."""
    rows = []
    for i, c in enumerate(nb["cells"]):
        pm = c.get("metadata", {}).get("papermill", {})
        if c["cell_type"] == "code" and pm.get("duration") is not None:
            first = next((l.strip() for l in "".join(c["source"]).splitlines() if l.strip()), "")
            rows.append((i, float(pm["duration"]), first[:60], progress_bar(c)))
    return rows


def measure(path, out_dir):
    """Run one notebook; returns (wall seconds, executed notebook dict)."""
    from mixgan.notebook import run
    t0 = time.perf_counter()
    dst = run(str(path), out_dir)
    return time.perf_counter() - t0, json.loads(Path(dst).read_text())


def report(results, slow_cell_s, top):
    """Print the tables; returns the JSON-able summary."""
    print(f"{'notebook':<28}{'seconds':>9}{'budget':>8}  verdict")
    for r in results:
        print(f"{r['notebook']:<28}{r['seconds']:>9.1f}{NOTEBOOK_BUDGET_S:>8.0f}  "
              f"{'ok' if r['seconds'] <= NOTEBOOK_BUDGET_S else 'OVER'}")
    total = sum(r["seconds"] for r in results)
    print(f"{'total':<28}{total:>9.1f}{COURSE_BUDGET_S:>8.0f}  {'ok' if total <= COURSE_BUDGET_S else 'OVER'}")
    cells = sorted(((r["notebook"], *c) for r in results for c in r["cells"]), key=lambda c: -c[2])
    slow = [c for c in cells if c[2] > slow_cell_s]
    print(f"\nslowest cells (a cell over {slow_cell_s:g} s must show a tqdm bar):")
    print(f"{'notebook':<24}{'cell':>5}{'seconds':>9}  {'bar':<7} source")
    for nb, i, s, src, bar in cells[:top]:
        flag = "" if s <= slow_cell_s or bar else "  <- no bar"
        print(f"{nb:<24}{i:>5}{s:>9.1f}  {bar or '-':<7} {src}{flag}")
    silent = [c for c in slow if not c[4]]
    print(f"\n{len(slow)} cells over {slow_cell_s:g} s, {len(silent)} of them without a progress bar")
    return {"notebook_budget_s": NOTEBOOK_BUDGET_S, "course_budget_s": COURSE_BUDGET_S, "total_s": total,
            "slow_cell_s": slow_cell_s, "slow_cells_without_bar": len(silent),
            "notebooks": [{"notebook": r["notebook"], "seconds": r["seconds"],
                           "cells": [{"index": i, "seconds": s, "source": src, "bar": bar}
                                     for i, s, src, bar in r["cells"]]} for r in results]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", metavar="NAME", help="one notebook (name or prefix, e.g. 07)")
    ap.add_argument("--notebooks-dir", type=Path, default=ROOT / "notebooks", help="where the 0*.ipynb are")
    ap.add_argument("--executed", type=Path, metavar="DIR",
                    help="read notebooks papermill already executed into DIR instead of running them")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "course_time", help="executed copies go here")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--slow-cell", type=float, default=SLOW_CELL_S, help="seconds above which a cell needs a bar")
    ap.add_argument("--top", type=int, default=10, help="how many of the slowest cells to list")
    a = ap.parse_args(argv)
    if a.slow_cell <= 0 or a.top < 1:
        ap.error("--slow-cell must be > 0 and --top >= 1")
    folder = a.executed or a.notebooks_dir
    if not folder.is_dir():
        ap.error(f"no folder {folder}")
    paths = sorted(folder.glob("0*.ipynb"))
    if a.only:
        paths = [p for p in paths if p.stem == a.only or p.stem.startswith(a.only)][:1]
    if not paths:
        ap.error(f"no notebook {a.only or '0*.ipynb'!r} in {folder}")

    os.environ["MIXGAN_HEADLESS"] = "1"
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"                       # the kernels inherit it: one thread, as the suite
    sys.path.insert(0, str(ROOT))
    results = []
    for p in paths:
        if a.executed:
            nb = json.loads(p.read_text())
            seconds = nb["metadata"].get("papermill", {}).get("duration")
            if seconds is None:
                ap.error(f"{p} was not executed by papermill (no metadata.papermill.duration)")
        else:
            print(f"running {p.name} ...", flush=True)
            seconds, nb = measure(p, a.out)
        results.append({"notebook": p.stem, "seconds": float(seconds), "cells": cell_times(nb)})
    summary = report(results, a.slow_cell, a.top)
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
