"""One run per folder: an exclusive lock on the run folder for the life of the run.

    with run_lock("runs/a"):          # RunFolderBusy if another process holds runs/a
        ...                           # train, write ckpt.pt, config.json, ...

The lock is ``fcntl.flock`` on ``<folder>/.lock``: the kernel releases it when the holder
exits, however it ends (SIGKILL included), so a stale lock file never blocks a new run.  The
holder writes its PID into the file, and a second run is refused with one line naming it.
Within one process the lock is re-entrant (``run`` holds it and calls ``fit``, which asks again).
"""
import fcntl
import os
import threading
from contextlib import contextmanager

LOCK_NAME = ".lock"
_held = {}                       # folder (real path) -> [fd, depth] held by this process
_guard = threading.Lock()


class RunFolderBusy(RuntimeError):
    """Another live process holds the run folder."""


def _holder(path):
    try:
        with open(path) as f:
            pid = f.read().strip()
        return f"PID {pid}" if pid else "another process (PID not yet written)"
    except OSError:
        return "another process"


@contextmanager
def run_lock(folder):
    """Hold the exclusive lock of `folder` (created if missing) for the `with` block."""
    os.makedirs(folder, exist_ok=True)
    key = os.path.realpath(folder)
    path = os.path.join(key, LOCK_NAME)
    with _guard:
        if key in _held:
            _held[key][1] += 1
            fd = None
        else:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RunFolderBusy(f"run folder {folder} is in use by another run ({_holder(path)}); "
                                    "wait for it to finish or choose another output folder") from None
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            _held[key] = [fd, 1]
    try:
        yield
    finally:
        with _guard:
            _held[key][1] -= 1
            if _held[key][1] == 0:
                fd = _held.pop(key)[0]
                try:
                    os.ftruncate(fd, 0)
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    os.close(fd)
