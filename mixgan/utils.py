"""Small helpers every layer shares: seeded blocks, atomic file writes and progress bars.

    with seeded(0):                       # the global torch RNG, restored afterwards
        x = torch.randn(3)
    atomic_write("out/a.json", lambda tmp: open(tmp, "w").write("{}"))
    save_json({"a": 1}, "out/a.json")     # the same, for JSON
    save_torch(obj, "out/ckpt.pt")        # the same, for torch.save
    for i in progress_bar(range(100)): ...  # tqdm's bar (a text bar in headless runs)

An atomic write goes to a temporary file with a unique name in the target's folder and is
renamed over the target at the end (``os.replace``), so a reader sees the old file or the new
one, never half of one, and two writers never share a temporary file.  On any error the
temporary file is removed and the target is left as it was.
"""
import json
import os
import tempfile
from contextlib import contextmanager

import torch


@contextmanager
def seeded(seed):
    """Run a block under ``torch.manual_seed(seed)``, restoring the global RNG state
    (CPU and every CUDA device) afterwards, so side work leaves training's RNG alone."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def atomic_write(path, write, mode=0o644):
    """Call ``write(tmp_path)`` on a fresh temporary file beside `path`, then rename it onto
    `path`.  Returns `path`.  The folder must exist."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, mode)                      # mkstemp makes 0600; results are shareable
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def save_json(obj, path, indent=1):
    """Atomically write `obj` as JSON to `path` (ending in a newline, as text files do)."""
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(obj, f, indent=indent)
            f.write("\n")
    return atomic_write(path, write)


def save_torch(obj, path):
    """Atomically ``torch.save(obj)`` to `path`."""
    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def headless():
    """True when MIXGAN_HEADLESS is set to a non-empty value other than 0 (papermill runs, tests)."""
    return os.environ.get("MIXGAN_HEADLESS", "") not in ("", "0")


def progress_bar(*args, **kwargs):
    """A tqdm bar: the notebook's widget bar in JupyterLab, a text bar in headless runs, refreshed
    at most every 10 s there, so a saved notebook shows where each bar ended (a widget bar would
    be stored at 0 %) without keeping hundreds of updates.  There every bar stays (leave=True)."""
    if headless():
        from tqdm import tqdm
        kwargs.setdefault("mininterval", 10.0)
        kwargs["leave"] = True                          # a bar that vanished would leave an empty line
        return tqdm(*args, **kwargs)
    from tqdm.auto import tqdm
    return tqdm(*args, **kwargs)

