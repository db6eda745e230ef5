"""Run the kit's notebooks headless with papermill (``make demo`` and the test suite).

    python -m mixgan.notebook 00_quickstart --out build/demo [-p QUICK False] [-p SEED 3]

Contract for every notebook in notebooks/: the first code cell is tagged ``parameters``
and holds the quick CPU defaults (``QUICK = True``) plus ``OUT_DIR`` (where figures are
written); paper-scale settings are one parameter away (``QUICK = False``).
A ``-p KEY VALUE`` pair is parsed as a Python literal (``False``, ``3``, ``1e-3``,
``"hmog5"``, ``[1, 2]``; a bare word that is not a literal, e.g. ``hmog5``, stays a
string), and KEY must be one of the names assigned in the ``parameters`` cell.
"""
import argparse
import ast
import json
import os
import sys
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


def notebook_parameters(name):
    """{name: default} of the notebook's cell tagged ``parameters``, in order (the default
    is the literal value assigned, or None when it is an expression)."""
    cells = json.loads(notebook_path(name).read_text())["cells"]
    for c in cells:
        if c["cell_type"] == "code" and "parameters" in c.get("metadata", {}).get("tags", []):
            params = {}
            for node in ast.parse("".join(c["source"])).body:
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                    try:
                        params[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        params[node.targets[0].id] = None
            return params
    return {}


def parse_value(key, text, default=None):
    """The Python literal that `text` spells (ast.literal_eval), checked against the kind
    of the parameter's `default`: a bool stays a bool, an int an int, a float a number, and a string
    parameter also takes a bare word (``-p TOY ring8``).  Else a ValueError naming `key`."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        if not (isinstance(default, str) and text.strip()):
            raise ValueError(f"parameter {key}: {text!r} is not a Python literal "
                             f"(e.g. True, 3, 0.5, 'hmog5', [1, 2])") from None
        value = text
    kinds = [(bool, (bool,), "True or False"), (int, (int,), "an integer"),
             (float, (int, float), "a number"), (str, (str,), "a string")]
    for kind, ok, what in kinds:
        if type(default) is kind and not (type(value) in ok and (kind is bool or type(value) is not bool)):
            raise ValueError(f"parameter {key}: expected {what} (default {default!r}), got {text!r}")
    return value


def parse_parameters(name, pairs):
    """[(KEY, VALUE text)] -> {KEY: value}, checked against the notebook's parameters."""
    known = notebook_parameters(name)
    params = {}
    for key, text in pairs:
        if key not in known:
            raise ValueError(f"unknown parameter {key!r} for {notebook_path(name).stem}; "
                             f"its parameters are: {', '.join(known)}")
        params[key] = parse_value(key, text, known[key])
    return params


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
                    help="override a parameter; VALUE is a Python literal (False, 3, 'hmog5')")
    a = ap.parse_args(argv)
    try:
        notebook_path(a.name)
        params = parse_parameters(a.name, a.p)
    except (ValueError, FileNotFoundError) as e:
        print(f"mixgan.notebook: error: {e}", file=sys.stderr)   # one line, exit code 2 as argparse
        sys.exit(2)
    dst = run(a.name, a.out, params, progress=True)
    print(f"\nexecuted notebook: {dst}\nfigures:           {dst.parent / dst.stem}/")


if __name__ == "__main__":
    main()
