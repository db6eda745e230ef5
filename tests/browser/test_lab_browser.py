"""JupyterLab in headless Chromium (Debian's chromium, driven by Playwright's Python package):
the Mixture Lab notebook runs, Play makes the step counter rise and the picture change, Pause stops
it; and each of the three explorers redraws its image when its control moves.

    make test-browser        # MIXGAN_BROWSER=1 python -m pytest tests/browser

Screenshots (before / after) are saved under build/browser/.
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "browser"
CHROMIUM = "/usr/bin/chromium"


def _ensure_chromium():
    """Debian's chromium, installed with apt-get when it is missing (Playwright's download is not used)."""
    if not os.path.exists(CHROMIUM):
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run(sudo + ["apt-get", "update"], check=True)
        subprocess.run(sudo + ["apt-get", "install", "-y", "chromium"], check=True)
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing after apt-get install chromium"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """JupyterLab on a free port with a token, on this checkout (PYTHONPATH) and no headless flag."""
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != "MIXGAN_HEADLESS"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path_factory.mktemp("jupyter_config"))
    env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp_path_factory.mktemp("lab_settings"))
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp_path_factory.mktemp("lab_workspaces"))
    env["MIXGAN_TEST_THREADS"] = env.get("MIXGAN_TEST_THREADS", "1")
    log = open(tmp_path_factory.mktemp("log") / "jupyter.log", "w")
    flags = ["--allow-root"] if os.geteuid() == 0 else []
    proc = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", *flags, f"--port={port}",
                             "--ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT}",
                             "--LabApp.expose_app_in_browser=True"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            assert proc.poll() is None, f"JupyterLab exited: {Path(log.name).read_text()[-2000:]}"
            time.sleep(0.5)
    else:
        proc.terminate()
        pytest.fail("JupyterLab did not answer within 120 s")
    yield url, token
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    _ensure_chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        yield b
        b.close()


def _open(browser, server, notebook):
    url, token = server
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    page.goto(f"{url}/lab/tree/{notebook}?token={token}&reset", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-Notebook", timeout=90_000)
    page.wait_for_function("window.jupyterapp && window.jupyterapp.commands", timeout=60_000)
    try:                                                        # a fresh profile asks which kernel: the default
        page.locator(".jp-Dialog button.jp-mod-accept").click(timeout=10_000)
    except Exception:
        pass
    _dismiss_news(page)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=120_000)
    return page


def _dismiss_news(page):
    """The 'official Jupyter news' toast: answer No (it covers the notebook's bottom right)."""
    try:
        page.locator(".jp-toast-button", has_text="No").first.click(timeout=10_000)
    except Exception:                                           # no toast on this JupyterLab
        pass


def _run_all(page, timeout_s=600):
    # start the command without awaiting its promise (it settles only when every cell has run)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_for_timeout(3_000)
    page.screenshot(path=str(SHOTS / "run_all_started.png"))
    deadline, quiet = time.time() + timeout_s, 0
    while time.time() < deadline:
        # done: the kernel idle for 3 s in a row and no cell waiting ([*]) or unrun ([ ]) -- widgets only
        # answer clicks once the kernel is idle
        busy = page.evaluate("""() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                                       .some(p => !/\\[\\d+\\]/.test(p.textContent))
                                   || !document.querySelector(".jp-Notebook-ExecutionIndicator[data-status='idle']")""")
        quiet = 0 if busy else quiet + 1
        if quiet >= 3:
            break
        page.wait_for_timeout(1_000)
    else:
        page.screenshot(path=str(SHOTS / "run_all_timeout.png"))
        pytest.fail(f"the notebook still runs after {timeout_s} s")
    errors = page.evaluate("""() => [...document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"], .jp-RenderedText[data-mime-type="application/vnd.jupyter.error"]')]
                                    .map(e => e.textContent).filter(t => t.includes('Error'))""")
    assert not errors, errors[:2]


def _lab_snapshot(page):
    return page.evaluate("""() => {
        const c = document.querySelector('.mixlab canvas.mixlab-data');
        const n = document.querySelector('.mixlab .mixlab-count');
        return {step: n ? Number(n.textContent) : null, image: c ? c.toDataURL() : null};
    }""")


def test_mixture_lab_plays_and_pauses(browser, server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = _open(browser, server, "notebooks/01b_mixture_lab.ipynb")
    _run_all(page)
    lab = page.locator(".mixlab").first
    lab.wait_for(timeout=30_000)
    lab.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('.mixlab .mixlab-count') !== null", timeout=30_000)
    before = _lab_snapshot(page)
    assert before["image"] and before["step"] is not None, before["step"]
    page.screenshot(path=str(SHOTS / "lab_before_play.png"))
    lab.locator("button.mixlab-play").click()
    deadline, now = time.time() + 10, before
    while time.time() < deadline:
        page.wait_for_timeout(250)
        now = _lab_snapshot(page)
        if now["step"] > before["step"] and now["image"] != before["image"]:
            break
    page.screenshot(path=str(SHOTS / "lab_playing.png"))
    assert now["step"] > before["step"], f"the step counter stayed at {now['step']} for 10 s"
    assert now["image"] != before["image"], "the data panel did not change in 10 s"
    lab.locator("button.mixlab-pause").click()
    page.wait_for_timeout(1_000)                                 # the frame in flight arrives
    paused = _lab_snapshot(page)
    page.wait_for_timeout(2_000)
    later = _lab_snapshot(page)
    page.screenshot(path=str(SHOTS / "lab_paused.png"))
    assert later["step"] == paused["step"], f"still training after Pause: {paused['step']} -> {later['step']}"
    assert later["image"] == paused["image"]
    page.close()


EXPLORERS = [
    "import torch\nfrom mixgan import analysis, models, widgets\ntorch.manual_seed(0)",
    "tree = models.build('hmog', (1, 32, 32), depth=2, base=8)\n"
    "widgets.leaf_explorer(analysis.tree_summary(tree, n=200, top=3))",
    "mm = models.build('mmgan_static', (1, 32, 32), K=4, base=8)\nwidgets.scale_explorer(mm, n=16)",
    "x = torch.rand(30, 1, 8, 8) * 2 - 1\npred = torch.arange(30) % 3\nwidgets.cluster_explorer(x, pred)",
]


def _explorer_notebook():
    cells = [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": s}
             for s in EXPLORERS]
    nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                       "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    path = SHOTS / "explorers.ipynb"
    path.write_text(json.dumps(nb))
    return path.relative_to(ROOT).as_posix()


def _image(w):
    return w.locator(".jp-OutputArea-output img").first.get_attribute("src", timeout=30_000)


def test_explorers_redraw_when_their_control_moves(browser, server):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = _open(browser, server, _explorer_notebook())
    _run_all(page, timeout_s=300)
    boxes = page.locator(".widget-interact")
    boxes.nth(2).wait_for(timeout=60_000)
    assert boxes.count() == 3
    for i, name in enumerate(["leaf", "scale", "cluster"]):
        w = boxes.nth(i)
        w.scroll_into_view_if_needed()
        before = _image(w)
        w.screenshot(path=str(SHOTS / f"{name}_before.png"))
        if name == "cluster":
            w.locator("select").select_option(index=1)
        else:
            w.locator(".noUi-handle, .ui-slider-handle").first.focus()
            page.keyboard.press("ArrowRight")
        deadline, after = time.time() + 15, before
        while time.time() < deadline and after == before:
            page.wait_for_timeout(250)
            after = _image(w)
        w.screenshot(path=str(SHOTS / f"{name}_after.png"))
        assert after != before, f"the {name} explorer's image did not change"
    page.close()
