"""JupyterLab in headless Chromium (Debian's chromium, driven by Playwright's Python package):
the Mixture Lab notebook runs, Play makes the step counter rise and the picture change, the view
draws the frames the kernel sends (at least half of them, over 5 s of play; the rates go to
build/browser/lab_rate.json), Pause stops it, the single-step buttons move one network; and each of
the three explorers redraws its image when its control moves.

    make test-browser        # MIXGAN_BROWSER=1 python -m pytest tests/browser

Screenshots are saved under build/browser/ (on a failure: failed_<step>.png).  Every wait is
bounded; the kernel is idle (and every cell has run) before any button is pressed.
"""
import contextlib
import json
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "browser"

# The open notebook, read through JupyterLab's own objects (window.jupyterapp): the kernel's status,
# whether every code cell has an execution count, and the text of any error output.
NB_STATE = """(path) => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.context || w.context.path !== path || !w.sessionContext) return {open: false};
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  const code = w.content.widgets.filter(c => c.model.type === 'code');
  const errors = [];
  for (const c of code) for (const o of c.model.outputs.toJSON())
    if (o.output_type === 'error') errors.push(o.ename + ': ' + o.evalue);
  return {open: true, kernel: !!k, status: w.sessionContext.kernelDisplayStatus,
          unrun: code.filter(c => c.model.executionCount == null).length, errors: errors,
          done: window.__mixganRunAll === undefined ? null : window.__mixganRunAll};
}"""


@contextlib.contextmanager
def step(page, name):
    """Any failure inside becomes one message naming the step, with a screenshot failed_<name>.png."""
    try:
        yield
    except Exception as e:                                      # Playwright timeouts, assertion errors
        shot = SHOTS / f"failed_{name}.png"
        with contextlib.suppress(Exception):
            page.screenshot(path=str(shot))
        pytest.fail(f"step '{name}' failed: {type(e).__name__}: {e}\n(screenshot: {shot})", pytrace=False)


def _state(page, path):
    return page.evaluate(NB_STATE, path)


def _open(browser, server, path):
    """The notebook `path` (relative to the server's folder) in a fresh page, its kernel started and idle."""
    url, token, _ = server
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.set_default_timeout(30_000)
    with step(page, "open"):
        page.goto(f"{url}/lab/tree/{path}?token={token}&reset", wait_until="domcontentloaded", timeout=90_000)
        page.wait_for_selector(".jp-Notebook", timeout=90_000)
        _dismiss_toasts(page)
        deadline = time.time() + 120
        while not (s := _state(page, path)).get("kernel") or s["status"] != "idle":
            dialog = page.locator(".jp-Dialog button.jp-mod-accept")   # "select kernel": the default
            if dialog.count():
                dialog.first.click()
            assert time.time() < deadline, f"the kernel did not start within 120 s: {s}"
            page.wait_for_timeout(500)
    return page


def _dismiss_toasts(page):
    """Close any notification toast (news, updates) that could cover the notebook."""
    for button in page.locator(".jp-toast-button", has_text="No").all() + page.locator(".Toastify__close-button").all():
        with contextlib.suppress(Exception):
            button.click(timeout=2_000)


def _run_all(page, path, timeout_s):
    """Run All Cells and wait until the command has finished, every code cell has an execution count
    and the kernel has been idle for 2 s in a row; no cell may have raised."""
    with step(page, "run_all"):
        page.evaluate("""() => { window.__mixganRunAll = null;
            window.jupyterapp.commands.execute('notebook:run-all-cells')
              .then(ok => { window.__mixganRunAll = ok; }, e => { window.__mixganRunAll = String(e); }); }""")
        t0, quiet, s = time.time(), 0, {}
        while quiet < 4:
            assert time.time() - t0 < timeout_s, f"the notebook still runs after {timeout_s} s: {s}"
            page.wait_for_timeout(500)
            s = _state(page, path)
            assert not s["errors"], f"a cell raised: {s['errors'][:2]}"
            quiet = quiet + 1 if s["done"] is not None and s["status"] == "idle" and s["unrun"] == 0 else 0
        assert s["done"] is True, f"Run All Cells did not succeed: {s['done']}"
    print(f"{path}: every cell ran in {time.time() - t0:.0f} s")


def _lab(page):
    return page.evaluate("""() => {
        const c = document.querySelector('.mixlab canvas.mixlab-data');
        const n = document.querySelector('.mixlab .mixlab-count');
        return {step: n ? Number(n.textContent) : null, image: c ? c.toDataURL() : null,
                drawn: c ? c.dataset.step : null, frames: c ? Number(c.dataset.frames) : 0,
                seq: c ? Number(c.dataset.seq) : 0, t: performance.now() / 1000};
    }""")


def _until(page, what, cond, timeout_s):
    """Poll `what()` every 250 ms until `cond(value)` or `timeout_s`; returns the last value."""
    deadline, v = time.time() + timeout_s, what()
    while not cond(v) and time.time() < deadline:
        page.wait_for_timeout(250)
        v = what()
    return v


def test_mixture_lab_plays_and_pauses(browser, server, shots):
    path = "notebooks/01b_mixture_lab.ipynb"
    page = _open(browser, server, path)
    _run_all(page, path, timeout_s=240)
    lab = page.locator(".mixlab").first
    snap = lambda: _lab(page)                                       # noqa: E731
    with step(page, "lab_shown"):
        lab.wait_for()
        lab.scroll_into_view_if_needed()
        before = _until(page, snap, lambda v: v["drawn"] is not None and v["step"] is not None, 30)
        assert before["drawn"] is not None, f"the lab's view drew no frame: {before}"
        lab.screenshot(path=str(SHOTS / "lab_before_play.png"))
    with step(page, "play"):
        lab.locator("button.mixlab-play").click()
        now = _until(page, snap, lambda v: v["step"] > before["step"] and v["image"] != before["image"], 10)
        assert now["step"] > before["step"], f"Play: the step counter stayed at {now['step']} for 10 s"
        assert now["image"] != before["image"], "Play: the data panel did not change in 10 s"
        first = now
        now = _until(page, snap, lambda v: v["step"] > first["step"] and v["image"] != first["image"], 10)
        assert now["step"] > first["step"], f"Play: the counter rose once, then stayed at {now['step']}"
        lab.screenshot(path=str(SHOTS / "lab_playing.png"))
    with step(page, "keeps_up"):                                    # 5 s of play: frames sent and drawn
        a = snap()
        page.wait_for_timeout(5_000)
        b = snap()
        dt = b["t"] - a["t"]
        rate = {"seconds": round(dt, 2), "frames_sent_per_s": round((b["seq"] - a["seq"]) / dt, 1),
                "frames_drawn_per_s": round((b["frames"] - a["frames"]) / dt, 1),
                "generator_steps_per_s": round((b["step"] - a["step"]) / dt, 1)}
        (SHOTS / "lab_rate.json").write_text(json.dumps(rate, indent=1) + "\n")
        print("Mixture Lab while playing:", rate)
        assert b["frames"] - a["frames"] >= 0.5 * (b["seq"] - a["seq"]) > 0, \
            f"the view drew {b['frames'] - a['frames']} of the {b['seq'] - a['seq']} frames the kernel sent"
    with step(page, "pause"):
        lab.locator("button.mixlab-pause").click()
        deadline, a, b = time.time() + 10, snap(), None
        while time.time() < deadline:                                # the frame in flight may still arrive
            page.wait_for_timeout(1_500)
            b = snap()
            if b["step"] == a["step"] and b["image"] == a["image"]:
                break
            a = b
        assert b["step"] == a["step"], f"still training 10 s after Pause: {a['step']} -> {b['step']}"
        assert b["image"] == a["image"], "the data panel still changes after Pause"
        paused = b
        lab.screenshot(path=str(SHOTS / "lab_paused.png"))
    with step(page, "generator_step"):
        lab.locator("button.mixlab-gen").click()
        g = _until(page, snap, lambda v: v["step"] == paused["step"] + 1, 10)
        assert g["step"] == paused["step"] + 1, f"Generator step: counter {paused['step']} -> {g['step']}"
        assert g["image"] != paused["image"], "Generator step: the fakes did not move"
    with step(page, "critic_step"):
        lab.locator("button.mixlab-critic").click()
        c = _until(page, snap, lambda v: v["image"] != g["image"], 10)
        assert c["image"] != g["image"], "Critic step: the heatmap did not change"
        assert c["step"] == g["step"], f"Critic step moved the generator step counter: {g['step']} -> {c['step']}"
        lab.screenshot(path=str(SHOTS / "lab_single_steps.png"))
    page.close()


EXPLORERS = [                              # the stored trained runs the notebooks 05, 06 and 07 explore
    "import sys\nimport mixgan\n"
    "assert sys.prefix == {prefix!r}, sys.prefix\n"
    "assert mixgan.__file__.startswith({root!r}), mixgan.__file__\n"
    "from mixgan import analysis, results, widgets",
    "widgets.leaf_explorer(results.load('tree/mnist/gpu/summary'))",
    "mm = results.load('cluster/mnist/cpu/gan')\nwidgets.scale_explorer(mm, n=16)",
    "import torch\nx = analysis.sample_at(mm, 48)\nwidgets.cluster_explorer(x, torch.arange(48) % 3)",
]


def _explorer_notebook(work):
    """A small notebook that builds each explorer on stored results (a trained tree's summary, a trained
    MM-GAN and its samples); it first checks that its kernel is this interpreter and imports this checkout."""
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
              "source": s.format(prefix=sys.prefix, root=str(ROOT))} for s in EXPLORERS]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                       "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    (work / "explorers.ipynb").write_text(json.dumps(nb))
    return "explorers.ipynb"


def _explorer(box):
    """The explorer's image (data URL of its figure) and its control's shown value."""
    return box.evaluate("""b => {
        const img = b.querySelector('.jp-OutputArea-output img'), sel = b.querySelector('select'),
              readout = b.querySelector('.widget-readout');
        return {image: img ? img.src : null, value: sel ? sel.value : (readout ? readout.textContent : null)};
    }""")


def test_explorers_redraw_when_their_control_moves(browser, server, shots):
    path = _explorer_notebook(server[2])
    page = _open(browser, server, path)
    _run_all(page, path, timeout_s=180)
    boxes = page.locator(".mixgan-explorer")
    with step(page, "explorers_shown"):
        boxes.nth(2).locator(".jp-OutputArea-output img").wait_for()
        assert boxes.count() == 3, f"{boxes.count()} explorers on the page, expected 3"
    for i, name in enumerate(["leaf", "scale", "cluster"]):
        w = boxes.nth(i)
        with step(page, f"{name}_explorer"):
            w.scroll_into_view_if_needed()
            before = _until(page, lambda: _explorer(w), lambda v: v["image"] is not None, 30)
            shot = w.screenshot(path=str(SHOTS / f"{name}_before.png"))
            if name == "cluster":
                w.locator("select").select_option(index=1)
            else:
                w.locator(".noUi-handle").first.focus()
                page.keyboard.press("ArrowRight")
            after = _until(page, lambda: _explorer(w),
                           lambda v: v["image"] not in (None, before["image"]) and v["value"] != before["value"], 20)
            page.wait_for_timeout(300)                              # the new <img> decodes before the shot
            assert after["value"] != before["value"], f"the {name} control did not move: {before['value']}"
            assert after["image"] not in (None, before["image"]), \
                f"the {name} explorer's image did not change ({before['value']} -> {after['value']})"
            assert w.screenshot(path=str(SHOTS / f"{name}_after.png")) != shot, f"the {name} explorer looks the same"
    page.close()
