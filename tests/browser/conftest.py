"""The real-browser tests start JupyterLab and headless Chromium: minutes, and a browser.
They run with `make test-browser` (which sets MIXGAN_BROWSER=1), not in `make test`.

Fixtures: `shots` (build/browser/, emptied of the last run's screenshots), `server` (JupyterLab of this interpreter on a temporary copy of the notebooks, killed with its
kernels at the end) and `browser` (Debian's /usr/bin/chromium driven by Playwright).
"""
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

collect_ignore_glob = [] if os.environ.get("MIXGAN_BROWSER") == "1" else ["test_*.py"]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "build" / "browser"
CHROMIUM = "/usr/bin/chromium"
# JupyterLab settings for a quiet, deterministic page: no news / update toasts, no autosave, and every
# cell kept in the DOM (no virtual scrolling), so a widget far up the notebook can be found.
SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


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


def _stop(proc):
    """SIGTERM to JupyterLab's process group (server and kernels), SIGKILL after 15 s."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            pass


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """(url, token, workdir): JupyterLab of this interpreter on a free port with a token, serving a
    temporary folder with a copy of notebooks/ (runs never write into the checkout), this checkout
    first on PYTHONPATH, and no MIXGAN_HEADLESS (so the explorers are live widgets)."""
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", work / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = tmp_path_factory.mktemp("lab_settings")
    for name, value in SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(value))
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != "MIXGAN_HEADLESS"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path_factory.mktemp("jupyter_config"))
    env["JUPYTERLAB_SETTINGS_DIR"] = str(settings)
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp_path_factory.mktemp("lab_workspaces"))
    log_path = tmp_path_factory.mktemp("log") / "jupyter.log"
    flags = ["--allow-root"] if os.geteuid() == 0 else []
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", *flags, f"--port={port}",
                                 "--ip=127.0.0.1", f"--IdentityProvider.token={token}",
                                 f"--ServerApp.root_dir={work}", "--LabApp.expose_app_in_browser=True"],
                                cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"JupyterLab exited at start:\n{log_path.read_text()[-2000:]}", pytrace=False)
                if time.time() > deadline:
                    pytest.fail(f"JupyterLab did not answer within 120 s:\n{log_path.read_text()[-2000:]}",
                                pytrace=False)
                time.sleep(0.5)
        yield url, token, work
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def browser():
    _ensure_chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def shots():
    """build/browser/, without the screenshots of an earlier run (a stale failed_*.png would mislead)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    return SHOTS
