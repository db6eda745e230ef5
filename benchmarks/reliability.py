"""Reliability of a training run: concurrent starts, SIGKILLs, and bad inputs.

    python benchmarks/reliability.py            # 20 concurrent starts, 20 SIGKILLs, every bad input
    python benchmarks/reliability.py --quick    # 3 starts, 2 kills, every bad input (the test)
    python benchmarks/reliability.py --json out.json

1. Concurrent starts: N processes start ``python -m mixgan.train --dry-run`` on ONE run folder at
   the same instant (each with its own --seed, so a mixed folder is visible).  Afterwards the
   folder must hold one run: config.json, ckpt.pt and metrics.json with the same seed, ckpt.pt
   verified (sha256, finite); every other process must have stopped with exit 2 and one line.
2. SIGKILLs: a toy GAN trains with a checkpoint after every step; it is killed (SIGKILL) at a
   random moment of its training, its ckpt.pt must then load verified, and resuming it to the
   end must give weights, optimiser states and history bit-identical to an uninterrupted run.
3. Bad inputs: every bad value of the public API and of the command line (falsy and non-integer
   settings, bad data, damaged or malicious checkpoints, a full disk, a busy folder) must give
   ONE clear error (documented type, a one-line message; exit 2 and no traceback on the command
   line), raised before training, leaving an existing run folder byte-for-byte unchanged.
Prints the figures; the process exits 1 if any target is missed.
"""
import argparse
import contextlib
import errno
import io
import json
import os
import pickle
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from mixgan.data import images, toy  # noqa: E402
from mixgan.models import build  # noqa: E402
from mixgan.train import CheckpointError, RunFolderBusy, fit, read_checkpoint  # noqa: E402
from mixgan.train.cli import main as cli_main  # noqa: E402

ENV = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
TOY_STEPS = 400


# ----------------------------------------------------------------------------- 1. concurrent starts

_STARTER = """
import os, sys, time
go, out, seed = sys.argv[1:4]
from mixgan.train.cli import main
while not os.path.exists(go):
    time.sleep(0.001)
main(["--dry-run", "--no-progress", "--model", "fc", "--seed", seed, "--out", out])
"""


def concurrent_starts(n, work):
    """n processes start a run on one folder at once -> figures (see the module docstring)."""
    out, go = work / "shared_run", work / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _STARTER, str(go), str(out), str(seed)], env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for seed in range(n)]
    time.sleep(0.5 + 0.4 * n)                          # let every process finish its imports
    go.touch()
    results = [(p.wait(), *p.communicate()) for p in procs]
    codes = [r[0] for r in results]
    winners = [i for i, c in enumerate(codes) if c == 0]
    refusals = [r[2].strip() for r in results if r[0] == 2]
    clear = sum(len(e.splitlines()) == 1 and e.startswith("mixgan.train: error:") and
                ("in use by another run (PID" in e or "already holds a run" in e) for e in refusals)
    mixed = unreadable = 0
    try:
        ck = read_checkpoint(out / "ckpt.pt")
        cfg = json.loads((out / "config.json").read_text())
        metrics = json.loads((out / "metrics.json").read_text())
        seeds = {ck["meta"]["seed"], cfg["train"]["seed"]}
        mixed = int(len(seeds) != 1 or winners != [next(iter(seeds))] or ck["step"] != metrics["steps"])
    except (CheckpointError, OSError, KeyError, ValueError):
        unreadable = 1
    left_tmp = len(list(out.glob("*.tmp")))
    return {"starts": n, "finished": len(winners), "refused": len(refusals), "refused_with_one_clear_line": clear,
            "refused_folder_in_use": sum("in use by another run" in e for e in refusals),
            "refused_folder_holds_a_run": sum("already holds a run" in e for e in refusals),
            "other_exits": sum(c not in (0, 2) for c in codes), "mixed_folders": mixed,
            "unreadable_folders": unreadable, "tmp_files_left": left_tmp}


# ----------------------------------------------------------------------------- 2. SIGKILLs

def _toy_run(folder, steps=None, resume=True, started=None):
    """The toy run that is killed and resumed: GAN on 512 points of ring8, a checkpoint per step."""
    torch.set_num_threads(1)
    steps = steps or TOY_STEPS
    x, _, _ = toy("ring8", n=512, seed=0)
    model = build("gan", (2,), hidden=16, seed=0)
    if started:
        Path(started).touch()
    hist = fit(model, x, steps=steps, seed=1, batch_size=64, checkpoint=Path(folder) / "ckpt.pt",
               checkpoint_every=1, log_every=1, resume=resume, progress=False, device="cpu")
    return model, hist


def _same(a, b):
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b))
    return a == b


def sigkills(n, work, seed=0):
    """n runs killed at random moments -> figures (see the module docstring)."""
    rng = random.Random(seed)
    ref_dir = work / "kill_reference"
    t0 = time.perf_counter()
    _toy_run(ref_dir, resume=False)
    seconds = time.perf_counter() - t0                 # how long the training part lasts
    reference = read_checkpoint(ref_dir / "ckpt.pt")
    killed = unreadable = identical = no_ckpt_yet = finished_first = tmp_left = tmp_after = 0
    steps_at_kill = []
    for i in range(n):
        folder, started = work / f"kill_{i}", work / f"kill_{i}.started"
        p = subprocess.Popen([sys.executable, __file__, "--child", str(folder), str(started),
                              "--steps", str(TOY_STEPS)], env=ENV,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not started.exists() and p.poll() is None:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, seconds))
        if p.poll() is not None:
            finished_first += 1
        else:
            p.kill()
            killed += 1
        p.wait()
        tmp_left += len(list(folder.glob(".ckpt.pt.*.tmp")))
        if not (folder / "ckpt.pt").exists():
            no_ckpt_yet += 1
        else:
            try:
                steps_at_kill.append(read_checkpoint(folder / "ckpt.pt")["step"])
            except CheckpointError:
                unreadable += 1
                continue
        _toy_run(folder, resume=True)                  # continue to the end (a fresh start if no ckpt)
        tmp_after += len(list(folder.glob(".ckpt.pt.*.tmp")))
        identical += _same(read_checkpoint(folder / "ckpt.pt"), reference)
    return {"runs": n, "killed": killed, "finished_before_the_kill": finished_first,
            "killed_before_the_first_checkpoint": no_ckpt_yet, "unreadable_checkpoints": unreadable,
            "resumes_bit_identical": identical, "tmp_files_left_by_kills": tmp_left,
            "tmp_files_left_after_resume": tmp_after,
            "steps_at_kill": sorted(steps_at_kill), "steps": TOY_STEPS}


# ----------------------------------------------------------------------------- 3. bad inputs

DOCUMENTED = (ValueError, TypeError, FloatingPointError, OSError, RunFolderBusy)


def _api_cases():
    x = torch.randn(64, 2)
    toy_model = lambda: build("fc", (2,), hidden=4, n_critic=1)  # noqa: E731
    fit_kw = dict(steps=2, progress=False)
    cases = {f"fit({k}={v!r})": (lambda k=k, v=v: fit(toy_model(), x, **{**fit_kw, k: v}))
             for k, v in [("lr", 0.0), ("batch_size", 0), ("n_critic", 0), ("log_every", 0), ("seed", None),
                          ("steps", 2.5), ("betas", (0.5,))]}
    cases.update({
        "fit(int data)": lambda: fit(toy_model(), x.long(), **fit_kw),
        "fit(len(y) < len(x))": lambda: fit(toy_model(), (x, torch.zeros(10, dtype=torch.long)), **fit_kw),
        "fit(NaN data)": lambda: fit(toy_model(), x * float("nan"), **fit_kw),
        "fit(checkpoint=<a folder>)": lambda: fit(toy_model(), x, checkpoint=tempfile.gettempdir(), **fit_kw),
    })
    cases.update({f"build(hmog, {k}={v!r})": (lambda k=k, v=v: build("hmog", (2,), **{k: v}))
                  for k, v in [("depth", 1.5), ("arity", 2.5), ("K", 2.5), ("n_classes", 0), ("base", 0),
                               ("sigma", float("inf")), ("c", float("inf")), ("z_dim", 0), ("hidden", 0),
                               ("lam", float("nan"))]})
    cases.update({
        "build(mog, K=2.5)": lambda: build("mog", (2,), K=2.5),
        "images(root='')": lambda: images("mnist", root=""),
        "toy(n=2**62)": lambda: toy("ring8", n=2 ** 62),
        "toy(seed=None)": lambda: toy("ring8", seed=None),
        "toy(seed=1.5)": lambda: toy("ring8", seed=1.5),
    })
    return cases


def _folder_bytes(folder):
    return {p.name: p.read_bytes() for p in sorted(Path(folder).iterdir()) if p.is_file() and p.name != ".lock"}


@contextlib.contextmanager
def _full_disk():
    real = torch.save

    def save(obj, f, *a, **k):
        if str(f).endswith(".tmp"):
            with open(f, "wb") as fh:
                fh.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(obj, f, *a, **k)

    torch.save = save
    try:
        yield
    finally:
        torch.save = real


@contextlib.contextmanager
def _held(folder):
    p = subprocess.Popen([sys.executable, "-c", "import sys, time; from mixgan.train.lock import run_lock\n"
                          "with run_lock(sys.argv[1]):\n print('x', flush=True); time.sleep(120)", str(folder)],
                         env=ENV, stdout=subprocess.PIPE, text=True)
    p.stdout.readline()
    try:
        yield
    finally:
        p.kill()
        p.wait()


def _cli(argv, ctx=contextlib.nullcontext()):
    err = io.StringIO()
    with ctx, contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            cli_main(argv)
            code = 0
        except SystemExit as e:
            code = e.code
    return code, err.getvalue()


def bad_inputs(work):
    """Every bad input -> (per-input results, summary)."""
    rows = []
    for name, call in _api_cases().items():
        try:
            call()
            rows.append((name, False, "accepted"))
        except DOCUMENTED as e:
            msg = str(e)
            rows.append((name, bool(msg.strip()) and len(msg.splitlines()) == 1, f"{type(e).__name__}: {msg}"))
        except Exception as e:                          # noqa: BLE001 -- counted as unclear
            rows.append((name, False, f"UNDOCUMENTED {type(e).__name__}: {e}"))

    run = work / "cli_run"
    base = ["--dry-run", "--no-progress", "--model", "fc", "--out", str(run)]
    assert _cli(base)[0] == 0
    good = (run / "ckpt.pt").read_bytes()
    flipped = bytearray(good)
    for i in range(len(good) // 2, len(good) // 2 + 64):
        flipped[i] ^= 0xFF

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {work / 'pwned'}",))

    options = [["--n_critic", "0"], ["--log-every", "0"], ["--batch", "-4"], ["--device", "nope"], ["--base", "0"],
               ["--betas", "0.5"], ["--mapping", "[a]"], ["--extractor", "nope"], ["--lr", "0"], ["--depth", "1.5"],
               ["--steps", "-1"], ["--K", "2.5"], ["--dept", "3"]]
    cases = [(" ".join(o), base + ["--resume", "--steps", "8"] + o, None, None) for o in options]
    for label, data in (("empty", b""), ("truncated", good[: len(good) // 2]), ("64 flipped bytes", bytes(flipped)),
                        ("malicious pickle", pickle.dumps(Evil()))):
        cases.append((f"--resume on a {label} ckpt.pt", base + ["--resume", "--steps", "8"], data, None))
    cases.append(("a second run while the folder is in use", base + ["--resume", "--steps", "8"], None, _held(run)))
    for name, argv, damage, ctx in cases:
        (run / "ckpt.pt").write_bytes(damage if damage is not None else good)
        before = _folder_bytes(run)
        code, err = _cli(argv, ctx or contextlib.nullcontext())
        lost = _folder_bytes(run) != before
        ok = code == 2 and 1 <= len(err.strip().splitlines()) <= 3 and "Traceback" not in err and not lost
        rows.append((f"cli {name}", ok, (err.strip().splitlines() or ["(nothing on stderr)"])[0]
                     + (" [FOLDER CHANGED]" if lost else "") + ("" if code == 2 else f" [exit {code}]")))
    (run / "ckpt.pt").write_bytes(good)
    fresh = work / "cli_full_disk"                     # a new run on a full disk: no ckpt.pt, no .tmp
    code, err = _cli(["--dry-run", "--no-progress", "--model", "fc", "--out", str(fresh)], _full_disk())
    left = sorted(p.name for p in fresh.iterdir() if p.name.endswith(".tmp") or p.name == "ckpt.pt")
    ok = code == 2 and str(fresh / "ckpt.pt") in err and len(err.strip().splitlines()) == 1 and not left
    rows.append(("cli full disk", ok, (err.strip().splitlines() or ["(nothing on stderr)"])[0]
                 + (f" [LEFT {left}]" if left else "") + ("" if code == 2 else f" [exit {code}]")))
    summary = {"bad_inputs": len(rows), "one_clear_error": sum(ok for _, ok, _ in rows),
               "code_ran_from_a_pickle": int((work / "pwned").exists())}
    return rows, summary


# ----------------------------------------------------------------------------- main

def main(argv=None):
    global TOY_STEPS
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="3 concurrent starts, 2 kills of 150-step runs (the test)")
    ap.add_argument("--starts", type=int, default=None, help="concurrent starts (default 20, quick 3)")
    ap.add_argument("--kills", type=int, default=None, help="SIGKILLed runs (default 20, quick 2)")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--steps", type=int, default=TOY_STEPS, help="toy steps of a killed run")
    a = ap.parse_args(argv)
    if a.child:
        TOY_STEPS = a.steps
        _toy_run(a.child[0], started=a.child[1])
        return None
    starts = a.starts or (3 if a.quick else 20)
    kills = a.kills or (2 if a.quick else 20)
    TOY_STEPS = 150 if a.quick and a.steps == TOY_STEPS else a.steps
    torch.set_num_threads(1)
    work = Path(tempfile.mkdtemp(prefix="mixgan-reliability-"))
    try:
        t0 = time.perf_counter()
        figures = {"concurrent": concurrent_starts(starts, work)}
        print(f"concurrent starts ({time.perf_counter() - t0:.0f} s):", json.dumps(figures["concurrent"]), flush=True)
        figures["sigkill"] = sigkills(kills, work)
        print(f"SIGKILLs ({time.perf_counter() - t0:.0f} s):", json.dumps(figures["sigkill"]), flush=True)
        rows, figures["bad_inputs"] = bad_inputs(work)
        for name, ok, what in rows:
            print(f"  {'ok ' if ok else 'BAD'} {name:44s} {what[:110]}")
        print("bad inputs:", json.dumps(figures["bad_inputs"]))
        figures["seconds"] = round(time.perf_counter() - t0, 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    c, k, b = figures["concurrent"], figures["sigkill"], figures["bad_inputs"]
    figures["targets_met"] = (c["mixed_folders"] == 0 and c["unreadable_folders"] == 0 and c["finished"] == 1
                              and c["refused_with_one_clear_line"] == c["refused"] == starts - 1
                              and k["unreadable_checkpoints"] == 0 and k["resumes_bit_identical"] == kills
                              and b["one_clear_error"] == b["bad_inputs"] and b["code_ran_from_a_pickle"] == 0)
    print(f"targets met: {figures['targets_met']} ({figures['seconds']} s)")
    if a.json:
        Path(a.json).write_text(json.dumps(figures, indent=1))
    return figures


if __name__ == "__main__":
    sys.exit(0 if main()["targets_met"] else 1)
