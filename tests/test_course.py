"""The course's shape: every numbered notebook in COURSE teaches (learning goals, exercises with
worked solutions, a summary, references with links) and speaks to students, not about its
history.  And scripts/strip_solutions.py makes the student version by removing exactly the
cells tagged ``solution``."""
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Notebooks rewritten as course chapters (the others are added as they are rewritten).
COURSE = ["00_quickstart", "01_toy_mixtures", "01b_mixture_lab", "02_latent_mixtures", "03_image_training",
          "04_metrics", "05_tree_interpretability", "06_sigma_tradeoff", "07_gan_clustering", "08_benchmark"]
LAB_LOG = re.compile(r"session \d|issue #\d|SPEC §|seed 00\d|run tag", re.I)


def cells(name):
    return json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())["cells"]


def text(c):
    return "".join(c["source"])


def tags(c):
    return c.get("metadata", {}).get("tags", [])


def headings(cs):
    """[(cell index, level, title)] of the markdown headings."""
    out = []
    for i, c in enumerate(cs):
        if c["cell_type"] == "markdown":
            for m in re.finditer(r"^(#{1,6})\s+(.*)$", text(c), re.M):
                out.append((i, len(m.group(1)), m.group(2).strip()))
    return out


def section(cs, title):
    """The markdown text from the heading containing `title` to the next heading of its level or above."""
    hs = headings(cs)
    for j, (i, level, t) in enumerate(hs):
        if title.lower() in t.lower():
            end = next((k for k, lv, _ in hs[j + 1:] if lv <= level), len(cs))
            body = text(cs[i]).split(t, 1)[1]
            return body + "".join(text(c) for c in cs[i + 1:end] if c["cell_type"] == "markdown")
    return None


@pytest.mark.parametrize("name", COURSE)
def test_learning_goals_and_prerequisites(name):
    goals = section(cells(name), "Learning goals")
    assert goals is not None, f"{name}: no 'Learning goals' heading"
    items = re.findall(r"^\s*(?:\d+\.|[-*])\s+\S", goals, re.M)
    assert 3 <= len(items) <= 5, f"{name}: {len(items)} learning goals, want 3-5"
    assert section(cells(name), "Prerequisites"), f"{name}: no 'Prerequisites' section"


@pytest.mark.parametrize("name", COURSE)
def test_exercises_each_followed_by_a_hidden_solution(name):
    cs = cells(name)
    hs = headings(cs)
    # "Exercise 1 ..." headings; a section titled "Exercises" is not one
    exercises = [(j, i) for j, (i, _, t) in enumerate(hs) if re.search(r"\bexercise\b", t, re.I)]
    assert len(exercises) >= 3, f"{name}: {len(exercises)} exercise headings, want >= 3"
    for j, i in exercises:
        # the solution's own heading does not end the exercise: look up to the next other heading
        end = next((k for k, lv, t in hs[j + 1:] if "solution" not in t.lower()), len(cs))
        sol = [c for c in cs[i + 1:end] if "solution" in tags(c)]
        code = [c for c in sol if c["cell_type"] == "code"]
        assert code, f"{name}: '{hs[j][2]}' has no code cell tagged 'solution' after it"
        for c in code:
            assert c["metadata"].get("jupyter") == {"source_hidden": True, "outputs_hidden": True}, \
                f"{name}: solution cell of '{hs[j][2]}' is not collapsed in JupyterLab"
        assert any(c["cell_type"] == "markdown" and "solution" in text(c).lower() for c in sol), \
            f"{name}: '{hs[j][2]}' lacks a 'Solution' markdown cell before its collapsed code"


@pytest.mark.parametrize("name", COURSE)
def test_summary_and_references_with_links(name):
    cs = cells(name)
    assert section(cs, "Summary"), f"{name}: no 'Summary' section"
    refs = section(cs, "References")
    assert refs, f"{name}: no 'References' section"
    assert re.search(r"\]\((https?://|[\w.-]+\.ipynb)", refs), f"{name}: References hold no link"


@pytest.mark.parametrize("name", COURSE)
def test_no_lab_log_words(name):
    for i, c in enumerate(cells(name)):
        m = LAB_LOG.search(text(c))
        assert not m, f"{name} cell {i}: {m.group(0)!r} (speak to students, not about the kit's history)"


def _strip_module():
    spec = importlib.util.spec_from_file_location("strip_solutions", ROOT / "scripts" / "strip_solutions.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_strip_solutions_removes_exactly_the_solution_cells():
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["### Exercise 1"]},
                    {"cell_type": "markdown", "metadata": {"tags": ["solution"]}, "source": ["Solution"]},
                    {"cell_type": "code", "metadata": {"tags": ["solution", "x"]}, "source": ["1"]},
                    {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": ["2"]},
                    {"cell_type": "code", "metadata": {}, "source": ["solution = 3  # not tagged"]}],
          "metadata": {"k": 1}, "nbformat": 4, "nbformat_minor": 5}
    out = _strip_module().strip(nb)
    assert [c["source"] for c in out["cells"]] == [["### Exercise 1"], ["2"], ["solution = 3  # not tagged"]]
    assert out["metadata"] == {"k": 1} and len(nb["cells"]) == 5      # the input is left as it was


@pytest.mark.parametrize("name", COURSE)
def test_strip_solutions_cli_on_the_course(name, tmp_path):
    src = ROOT / "notebooks" / f"{name}.ipynb"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "strip_solutions.py"), str(src), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    before, after = cells(name), json.loads((tmp_path / src.name).read_text())["cells"]
    assert after == [c for c in before if "solution" not in tags(c)]
    assert len(after) < len(before) and not any("solution" in tags(c) for c in after)
