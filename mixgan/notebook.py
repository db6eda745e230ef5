"""Run the kit's notebooks headless with papermill (``make demo`` and the test suite).

    python -m mixgan.notebook 00_quickstart --out build/demo [-p QUICK True]

Contract for every notebook in notebooks/: the first code cell is tagged ``parameters``
and holds the quick CPU defaults (``QUICK = True``) plus ``OUT_DIR`` (where figures are
written); paper-scale settings are one parameter away (``QUICK = False``).
"""
import argparse
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def notebook_path(name):
    p = Path(name)
    if p.suffix != ".ipynb":
        matches = sorted(NOTEBOOKS.glob(f"{name}*.ipynb"))
        if not matches:
            names = [q.stem for q in sorted(NOTEBOOKS.glob("*.ipynb"))]
            raise FileNotFoundError(f"no notebook {name!r} in {NOTEBOOKS}; available: {names}")
        p = matches[0]
    return p


def run(name, out="build/notebooks", parameters=None, progress=False, timeout=None):
    """Execute a notebook with papermill; returns the path of the executed copy.
    Figures go to <out>/<notebook>/ (passed as the OUT_DIR parameter). timeout: seconds any
    one cell may run before the execution fails (None: no limit). The kernel runs headless
    (MIXGAN_HEADLESS=1 unless already set: explorers give static figures, see mixgan.widgets)."""
    import papermill as pm
    os.environ.setdefault("MIXGAN_HEADLESS", "1")
    src = notebook_path(name)
    out = Path(out).resolve()
    fig_dir = out / src.stem
    fig_dir.mkdir(parents=True, exist_ok=True)
    dst = out / src.name
    params = {"OUT_DIR": str(fig_dir), **(parameters or {})}
    pm.execute_notebook(str(src), str(dst), parameters=params, cwd=str(src.parent),
                        progress_bar=progress, kernel_name="python3", execution_timeout=timeout)
    return dst


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", help="notebook name or prefix, e.g. 00_quickstart")
    ap.add_argument("--out", default="build/notebooks")
    ap.add_argument("-p", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                    help="override a parameter (VALUE parsed as JSON when possible)")
    a = ap.parse_args(argv)
    params = {}
    for k, v in a.p:
        try:
            params[k] = json.loads(v)
        except json.JSONDecodeError:
            params[k] = v
    dst = run(a.name, a.out, params, progress=True)
    print(f"\nexecuted notebook: {dst}\nfigures:           {dst.parent / dst.stem}/")


if __name__ == "__main__":
    main()
