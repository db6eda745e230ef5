"""Write the student version of notebooks: every cell tagged ``solution`` removed.

    python scripts/strip_solutions.py                                 # notebooks/*.ipynb -> build/student/
    python scripts/strip_solutions.py notebooks/00_quickstart.ipynb --out build/student

In the teacher version (notebooks/) an exercise's worked solution is a markdown cell
"Solution (click to expand)" and code cells, all tagged ``solution``; the code cells carry
``"jupyter": {"source_hidden": true, "outputs_hidden": true}`` so JupyterLab shows them
collapsed.  The test suite executes them; the student version leaves them out.
"""
import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TAG = "solution"


def is_solution(cell):
    return TAG in cell.get("metadata", {}).get("tags", [])


def strip(nb):
    """The notebook dict without its solution cells (a new dict; `nb` is left as is)."""
    return dict(nb, cells=[c for c in nb["cells"] if not is_solution(c)])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "student", help="folder for the student copies")
    a = ap.parse_args(argv)
    paths = a.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    a.out.mkdir(parents=True, exist_ok=True)
    for p in paths:
        if p.suffix != ".ipynb" or not p.is_file():
            ap.error(f"not a notebook file: {p}")
        nb = json.loads(p.read_text())
        student = strip(nb)
        dst = a.out / p.name
        if dst.resolve() == p.resolve():
            ap.error(f"--out would overwrite the teacher version {p}")
        dst.write_text(json.dumps(student, indent=1, ensure_ascii=False) + "\n")
        print(f"{dst}  ({len(nb['cells']) - len(student['cells'])} solution cells removed)")


if __name__ == "__main__":
    main()
