"""Build the course as a static HTML site (``make docs``), offline.

    python scripts/build_docs.py                          # execute notebooks/0*.ipynb, render build/site/
    python scripts/build_docs.py --only 00_quickstart     # one chapter
    python scripts/build_docs.py --no-execute             # render the notebooks as stored (no outputs)
    python scripts/build_docs.py --no-execute --notebooks build/docs-exec   # re-render the last run

Steps:
1. each numbered notebook runs headless at its quick settings under papermill
   (``mixgan.notebook.run``, MIXGAN_HEADLESS=1, one torch thread) into build/docs-exec/;
2. build/docs-src/ receives, per chapter, ``NN_name.ipynb`` (the executed notebook; its worked
   solutions stay in the page, folded under "Solution") and ``NN_name_exercises.ipynb``
   (the student version: cells tagged ``solution`` removed by scripts/strip_solutions.py),
   an index page with the table of contents in course order, and MathJax copied from the
   ``jupyter-server-mathjax`` package (no CDN);
3. mkdocs (Material theme, mkdocs-jupyter) renders build/docs-src/ into build/site/.
   Open build/site/index.html in a browser.
"""
import argparse
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from strip_solutions import is_solution, strip  # noqa: E402

# MathJax 2 as jupyter-server-mathjax ships it (STIX-Web fonts only), loaded from the site itself.
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe,local/mixgan"
MATHJAX_LOCAL = """\
MathJax.Hub.Config({"HTML-CSS": {availableFonts: ["STIX-Web"], preferredFont: "STIX-Web",
                                 webFont: "STIX-Web", imageFont: null}});
MathJax.Ajax.loadComplete("[MathJax]/config/local/mixgan.js");
"""

# Folds each run of consecutive solution cells into one <details> block.  Code cells carry their tags
# as the class celltag_solution; markdown cells get the marker MARK (see mark_solutions).
MARK = '<span class="mixgan-solution-mark"></span>'
FOLD_JS = """\
document.addEventListener("DOMContentLoaded", function () {
  if (document.querySelector("details.mixgan-solution")) return;     // folded already
  var box = null, last = null;
  document.querySelectorAll(".jp-Notebook > .jp-Cell").forEach(function (cell) {
    if (!(cell.classList.contains("celltag_solution") || cell.querySelector(".mixgan-solution-mark"))) return;
    if (!box || last.nextElementSibling !== cell) {
      box = document.createElement("details");
      box.className = "mixgan-solution";
      var s = document.createElement("summary");
      s.textContent = "Solution";
      box.appendChild(s);
      cell.parentNode.insertBefore(box, cell);
    }
    box.appendChild(cell);
    last = box;
  });
});
"""

EXTRA_CSS = """\
details.mixgan-solution { border-left: 3px solid #7e57c2; padding: 0.2em 0.8em; margin: 1em 0; }
details.mixgan-solution > summary { cursor: pointer; font-weight: bold; color: #7e57c2; }
"""


def chapters(only=None, folder=ROOT / "notebooks"):
    """The numbered notebooks (<folder>/0*.ipynb) in course order; `only`: one name or prefix."""
    paths = sorted(Path(folder).glob("0*.ipynb"))
    if only:
        names = [p.stem for p in paths]
        paths = [p for p in paths if p.stem == only or p.stem.startswith(only)][:1]
        if not paths:
            raise SystemExit(f"build_docs.py: error: no notebook {only!r}; available: {', '.join(names)}")
    return paths


def title(nb, fallback):
    """The text of the notebook's first markdown heading."""
    for c in nb["cells"]:
        if c["cell_type"] == "markdown":
            for line in "".join(c["source"]).splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
    return fallback


def for_site(nb):
    """The notebook as a page shows it (a new dict): without papermill's injected-parameters cell
    and the widget state (its viewer comes from a CDN; headless runs draw static figures)."""
    cells = [c for c in nb["cells"] if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    meta = {k: v for k, v in nb.get("metadata", {}).items() if k != "widgets"}
    return dict(nb, cells=cells, metadata=meta)


def mark_solutions(nb):
    """The notebook with MARK at the top of each markdown cell tagged ``solution`` (a new dict)."""
    cells = [dict(c, source=MARK + "\n\n" + "".join(c["source"]))
             if c["cell_type"] == "markdown" and is_solution(c) else c for c in nb["cells"]]
    return dict(nb, cells=cells)


def mathjax_dir():
    try:
        import jupyter_server_mathjax
    except ImportError:
        raise SystemExit("build_docs.py: error: MathJax not found; install the docs extra: pip install -e '.[docs]'")
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def execute(paths, exec_dir):
    """Run each notebook at its quick settings; returns ({stem: executed path}, [failed stems]).
    A notebook that fails is still rendered: papermill saves it with the error in place."""
    from papermill.exceptions import PapermillExecutionError
    from mixgan.notebook import run
    os.environ.setdefault("MIXGAN_HEADLESS", "1")
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    done, failed = {}, []
    for p in paths:
        t0 = time.perf_counter()
        try:
            done[p.stem] = run(p.stem, exec_dir)
            print(f"executed {p.name} in {time.perf_counter() - t0:.0f} s", flush=True)
        except PapermillExecutionError as e:
            done[p.stem] = Path(exec_dir).resolve() / p.name
            failed.append(p.stem)
            print(f"FAILED {p.name} after {time.perf_counter() - t0:.0f} s: {e.ename}: {e.evalue}", flush=True)
    return done, failed


def write_sources(nbs, src):
    """Chapter + exercises notebooks, index.md, assets; returns the mkdocs nav."""
    if src.exists():
        shutil.rmtree(src)
    (src / "assets").mkdir(parents=True)
    shutil.copytree(mathjax_dir(), src / "assets" / "mathjax")
    (src / "assets" / "mathjax" / "config" / "local").mkdir(exist_ok=True)
    (src / "assets" / "mathjax" / "config" / "local" / "mixgan.js").write_text(MATHJAX_LOCAL)
    (src / "assets" / "solutions.js").write_text(FOLD_JS)
    (src / "assets" / "course.css").write_text(EXTRA_CSS)
    nav, rows = [{"Course": "index.md"}], []
    for stem, nb in nbs.items():
        nb = for_site(nb)
        name = title(nb, stem)
        n_ex = sum(bool(re.match(r"#{2,6}\s+Exercise\b", line)) for c in nb["cells"] if c["cell_type"] == "markdown"
                   for line in "".join(c["source"]).splitlines())
        (src / f"{stem}.ipynb").write_text(json.dumps(mark_solutions(nb), ensure_ascii=False))
        (src / f"{stem}_exercises.ipynb").write_text(json.dumps(strip(nb), ensure_ascii=False))
        nav.append({name: [{f"Chapter {stem[:2]}": f"{stem}.ipynb"}, {f"Exercises {stem[:2]}": f"{stem}_exercises.ipynb"}]})
        rows.append(f"| {name} | [chapter]({stem}.ipynb) | [exercises]({stem}_exercises.ipynb) | {n_ex} |")
    (src / "index.md").write_text(
        "# mixgan: mixtures of generators, a course\n\n"
        "Each chapter is a notebook of the kit, executed at its quick settings on a CPU. "
        "The chapter page folds the worked solutions under *Solution*; the exercises page is the "
        "student version, without them. Run the notebooks yourself with `make lab`.\n\n"
        "| Chapter | Read | Practise | exercises |\n|---|---|---|---|\n" + "\n".join(rows) + "\n")
    return nav


def mkdocs_config(src, site, nav):
    return {
        "site_name": "mixgan course",
        "docs_dir": str(src),
        "site_dir": str(site),
        "use_directory_urls": False,      # every page at the site root: one relative MathJax path
        "nav": nav,
        "theme": {"name": "material", "font": False,          # no Google Fonts: offline
                  "features": ["navigation.sections", "navigation.expand", "toc.integrate"]},
        "plugins": [{"search": {}},
                    {"mkdocs-jupyter": {
                        "include": ["*.ipynb"], "execute": False, "cache": False,
                        "include_requirejs": False, "ignore_h1_titles": True,
                        "custom_mathjax_url": f"assets/mathjax/MathJax.js?config={MATHJAX_CONFIG}"}}],
        "extra_javascript": ["assets/solutions.js"],
        "extra_css": ["assets/course.css"],
    }


def build(only=None, execute_nbs=True, out=ROOT / "build", notebooks=ROOT / "notebooks"):
    """Build the site into <out>/site; returns (its index.html, the notebooks that failed to run).
    `notebooks`: where the chapters are read when not executed (executed ones come from notebooks/)."""
    from mkdocs.commands.build import build as mk_build
    from mkdocs.config import load_config
    import yaml

    out = Path(out).resolve()
    paths = chapters(only, ROOT / "notebooks" if execute_nbs else notebooks)
    executed, failed = execute(paths, out / "docs-exec") if execute_nbs else ({p.stem: p for p in paths}, [])
    nbs = {stem: json.loads(Path(p).read_text()) for stem, p in executed.items()}
    src, site = out / "docs-src", out / "site"
    cfg_file = out / "mkdocs.yml"
    cfg_file.write_text(yaml.safe_dump(mkdocs_config(src, site, write_sources(nbs, src)), sort_keys=False))
    mk_build(load_config(str(cfg_file)))
    return site / "index.html", failed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", metavar="NAME", help="build one chapter, e.g. 00_quickstart")
    ap.add_argument("--no-execute", action="store_true", help="render the notebooks as stored")
    ap.add_argument("--out", type=Path, default=ROOT / "build", help="build folder (default: build/)")
    ap.add_argument("--notebooks", type=Path, default=ROOT / "notebooks",
                    help="with --no-execute: render the notebooks of this folder (e.g. already executed ones)")
    a = ap.parse_args(argv)
    if not a.notebooks.is_dir():
        ap.error(f"--notebooks: no folder {a.notebooks}")
    if a.notebooks.resolve() != (ROOT / "notebooks").resolve() and not a.no_execute:
        ap.error("--notebooks needs --no-execute (the executed chapters come from notebooks/)")
    t0 = time.perf_counter()
    index, failed = build(a.only, not a.no_execute, a.out, a.notebooks)
    print(f"site built in {time.perf_counter() - t0:.0f} s: {index}")
    if failed:
        sys.exit(f"build_docs.py: error: these notebooks failed (their pages show the error): {', '.join(failed)}")


if __name__ == "__main__":
    main()
