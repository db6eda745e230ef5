"""make docs: the course site renders a chapter page (title, figures, local MathJax, folded
solutions) and an exercises page without the solutions.  Renders notebook 00 as stored, with one
figure output added, so no notebook runs here."""
import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("mkdocs_jupyter", reason="the [docs] extra is not installed")


def png_bytes():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1], [0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def page_text(path):
    """The page's article (the notebook) without its <style> and <script> blocks."""
    article = re.search(r"<article\b.*?</article>", path.read_text(), flags=re.S).group(0)
    return re.sub(r"<(style|script)\b.*?</\1>", "", article, flags=re.S)


def identifiers(cells):
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]{5,}", "\n".join("".join(c["source"]) for c in cells)))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """notebook 00 with a figure output on its first code cell after the parameters, rendered."""
    tmp = tmp_path_factory.mktemp("docs")
    nb = json.loads((ROOT / "notebooks" / "00_quickstart.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    code[1]["outputs"] = [{"output_type": "display_data", "metadata": {},
                           "data": {"image/png": base64.b64encode(png_bytes()).decode(),
                                    "text/plain": "<Figure>"}}]
    (tmp / "nbs").mkdir()
    (tmp / "nbs" / "00_quickstart.ipynb").write_text(json.dumps(nb))
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_docs.py"), "--only", "00_quickstart",
                    "--no-execute", "--notebooks", str(tmp / "nbs"), "--out", str(tmp / "build")],
                   check=True, timeout=120, cwd=ROOT)
    return nb, tmp / "build" / "site"


def test_chapter_page_has_title_figure_and_local_mathjax(site):
    nb, site = site
    html = (site / "00_quickstart.html").read_text()
    heading = next(l for c in nb["cells"] if c["cell_type"] == "markdown"
                   for l in "".join(c["source"]).splitlines() if l.startswith("# "))
    assert heading.lstrip("# ").split(":")[0].strip() in html
    assert re.search(r'<img[^>]+src="data:image/png;base64,', html), "the figure output is not an image"
    src = re.search(r'<script[^>]+src="(assets/mathjax/MathJax\.js[^"]*)"', html)
    assert src, "no local MathJax script"
    assert (site / src.group(1).split("?")[0]).is_file()
    assert "cdnjs.cloudflare.com/ajax/libs/mathjax" not in html
    # solutions folded, not lost: code cells by their tag class, markdown cells by a marker
    assert "celltag_solution" in html and "mixgan-solution-mark" in html
    assert (site / "assets" / "solutions.js").is_file()
    assert (site / "assets" / "mathjax" / "config" / "local" / "mixgan.js").is_file()
    index = (site / "index.html").read_text()
    assert "00_quickstart.html" in index and "00_quickstart_exercises.html" in index


def test_exercises_page_has_no_solution_code(site):
    nb, site = site
    tags = lambda c: c.get("metadata", {}).get("tags", [])
    sol = [c for c in nb["cells"] if "solution" in tags(c)]
    rest = [c for c in nb["cells"] if "solution" not in tags(c)]
    only_in_solutions = identifiers([c for c in sol if c["cell_type"] == "code"]) - identifiers(rest)
    assert only_in_solutions, "notebook 00 should have worked solutions"
    chapter, exercises = page_text(site / "00_quickstart.html"), page_text(site / "00_quickstart_exercises.html")
    assert "celltag_solution" not in exercises and "mixgan-solution-mark" not in exercises
    has = lambda text, w: re.search(rf"\b{w}\b", text)
    assert all(has(chapter, w) for w in only_in_solutions)
    assert not [w for w in only_in_solutions if has(exercises, w)]
    assert re.search(r"<h[1-3][^>]*>[^<]*Exercise", exercises)    # the exercises themselves stay


def test_unknown_chapter_is_one_clear_error(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_docs.py"), "--only", "99_nope",
                        "--no-execute", "--out", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "99_nope" in r.stderr and "00_quickstart" in r.stderr
