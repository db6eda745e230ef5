"""Cells per hour of the Fig. 9 sweep with P processes side by side on one GPU, against one process.

    python3 benchmarks/gpu_sweep.py --mirror /path/to/mirror --out "$OUT"        # a lent GPU: about 5 min
    python benchmarks/gpu_sweep.py --mirror /work/shared/data --out /tmp/gs --device cpu --processes 2 \\
        --steps 2 --base 8 --n-train 256 --n-eval 64 --models fc,hmog --Ks 4     # a CPU dry run, ~1 min

One fixed set of cells (default: mog, hmog, madgan, mgan × K ∈ {4, 16} × seeds 0, 1 = 16 cells,
MNIST-32, base 64, 150 steps, 1,000 samples) runs through `benchmarks/fig9.py run` first in one
process (--shard 0/1), then, for each P of --processes, in P processes at once (--shard i/P), all
on one device; every process gets cores / max(P) torch threads.  For each: the wall time from the
launch to the last exit (process start-up included, as a real sweep pays it), cells per hour =
cells · 3600 / wall, the ratio to the single process, the summed per-cell training seconds, and
(on CUDA, from nvidia-smi once a second) the peak GPU memory and mean utilisation.  The merged
rows of each run are compared with the single process's: the largest FID difference is 0 on the
CPU, and on a GPU shows what its non-deterministic kernels change.

The data: MNIST from the mirror (--mirror, else $MIXGAN_MIRROR; laid out as <mirror>/MNIST/raw/*.gz,
see mixgan/data/images.py), decoded once into --work/data before anything is timed; nothing is
downloaded.  A run that would pass --max-seconds (estimated from the single process) is skipped.
Writes <out>/gpu_sweep.json (the shard files stay under --work).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def _gpu_sampler(stop, samples):
    while not stop.wait(1.0):
        try:
            out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu,memory.used",
                                  "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=5).stdout
            util, mem = (float(v) for v in out.splitlines()[0].split(","))
            samples.append((util, mem))
        except (OSError, ValueError, IndexError, subprocess.SubprocessError):
            return


def run_processes(a, p, env, work, limit_s):
    """P shards of the grid at once, in a fresh <work>/p<P> -> (wall seconds, shard folder, log files, ok)."""
    out = os.path.join(work, f"p{p}")
    grid = ["--models", a.models, "--Ks", a.Ks, "--seeds", a.seeds, "--steps", str(a.steps), "--base", str(a.base),
            "--n-train", str(a.n_train), "--n-eval", str(a.n_eval), "--device", a.device, "--out", out,
            "--threads", str(a.threads)]
    if os.path.isdir(out):                     # shards finished by an earlier run would be skipped,
        shutil.rmtree(out)                     # and the timing would count only what is left
    os.makedirs(out)
    stop, samples = threading.Event(), []
    sampler = threading.Thread(target=_gpu_sampler, args=(stop, samples), daemon=True)
    if a.device.startswith("cuda") and shutil.which("nvidia-smi"):
        sampler.start()
    t0, procs, logs = time.time(), [], []
    for i in range(p):
        logs.append(os.path.join(out, f"log-{i}.txt"))
        with open(logs[-1], "w") as log:
            procs.append(subprocess.Popen([a.python, "benchmarks/fig9.py", "run", "--shard", f"{i}/{p}", *grid],
                                          cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                          start_new_session=True))
    ok = True
    for proc in procs:
        try:
            ok &= proc.wait(timeout=max(1.0, limit_s - (time.time() - t0))) == 0
        except subprocess.TimeoutExpired:
            ok = False
            for q in procs:
                if q.poll() is None:
                    os.killpg(q.pid, 9)
                    q.wait()
    wall = time.time() - t0
    stop.set()
    gpu = ({"peak_mem_mib": max(m for _, m in samples), "mean_util_pct": round(sum(u for u, _ in samples)
                                                                             / len(samples), 1)} if samples else {})
    return wall, out, logs, ok, gpu


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirror", default=os.environ.get("MIXGAN_MIRROR"),
                    help="the data mirror holding MNIST/raw/*.gz (default $MIXGAN_MIRROR)")
    ap.add_argument("--out", default=os.environ.get("OUT"), help="folder for gpu_sweep.json (default $OUT)")
    ap.add_argument("--work", help="scratch folder for the data and the shard files (default: a temporary one)")
    ap.add_argument("--device", default="cuda", help="cuda, cuda:N or cpu")
    ap.add_argument("--processes", default="4,8", help="the P to try, e.g. 4,8")
    ap.add_argument("--models", default="mog,hmog,madgan,mgan")
    ap.add_argument("--Ks", default="4,16")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--base", type=int, default=64)
    ap.add_argument("--n-train", type=int, default=20_000)
    ap.add_argument("--n-eval", type=int, default=1000)
    ap.add_argument("--max-seconds", type=float, default=360, help="skip a run that would end after this")
    ap.add_argument("--python", default=sys.executable, help="the interpreter of the runs")
    a = ap.parse_args(argv)
    if not a.out:
        ap.error("--out (or $OUT) is needed")
    if not a.mirror or not os.path.isdir(os.path.join(a.mirror, "MNIST", "raw")):
        ap.error(f"--mirror must be a folder holding MNIST/raw/*.gz, got {a.mirror!r}")
    try:
        ps = [int(p) for p in a.processes.split(",")]
    except ValueError:
        ap.error(f"--processes takes integers separated by commas, got {a.processes!r}")
    if any(p < 1 for p in ps):
        ap.error(f"--processes must be >= 1, got {a.processes!r}")
    a.mirror = os.path.abspath(a.mirror)                         # the runs start in the repository's root
    a.threads = max(1, (os.cpu_count() or 1) // max(ps))         # the same for every run: cores / max P
    os.makedirs(a.out, exist_ok=True)
    work = a.work or tempfile.mkdtemp(prefix="gpu_sweep-")
    env = dict(os.environ, MIXGAN_MIRROR=a.mirror, MIXGAN_DATA=os.path.join(work, "data"), MIXGAN_OFFLINE="1",
               PYTHONUNBUFFERED="1", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    os.environ.update({k: env[k] for k in ("MIXGAN_MIRROR", "MIXGAN_DATA", "MIXGAN_OFFLINE")})
    t_start = time.time()
    import torch

    import mixgan
    from mixgan import shards
    for train in (True, False):                                  # decode MNIST once, before any timing
        mixgan.data.load_tensors("mnist", train=train)
    cells = len(shards.grid(a.models.split(","), [int(k) for k in a.Ks.split(",")],
                            [int(s) for s in a.seeds.split(",")]))
    res = {"settings": {k: v for k, v in vars(a).items() if k not in ("out", "work", "python")},  # threads too
           "cells": cells, "cpu_count": os.cpu_count(), "torch": torch.__version__,
           "gpu": torch.cuda.get_device_name(0) if a.device.startswith("cuda") and torch.cuda.is_available() else None,
           "prepare_s": round(time.time() - t_start, 1), "runs": []}
    base_rows, serial = None, None
    for p in [1] + [p for p in ps if p != 1]:
        spent = time.time() - t_start
        if serial is not None:
            est = serial["startup_s"] + (serial["wall_s"] - serial["startup_s"]) * 1.5 / p
            if spent + est > a.max_seconds:
                res["runs"].append({"processes": p, "skipped": f"estimated {est:.0f} s, {spent:.0f} s spent "
                                                               f"of --max-seconds {a.max_seconds:.0f}"})
                print(f"P={p}: skipped ({res['runs'][-1]['skipped']})")
                continue
        wall, folder, logs, ok, gpu = run_processes(a, p, env, work, a.max_seconds - spent)
        run = {"processes": p, "wall_s": round(wall, 1), "ok": ok, **gpu}
        if ok:
            rows = shards.merge([folder])
            train_s = sum(r["seconds"] for r in rows)
            run.update(cells_per_hour=round(cells * 3600 / wall, 1), train_s_sum=round(train_s, 1),
                       startup_s=round(max(0.0, wall - max(sum(r["seconds"] for r in shards.read_shard(f)["rows"])
                                                          for f in shards.shard_files([folder]))), 1))
            if base_rows is None:
                base_rows, serial = rows, run
            else:
                run["ratio_to_1"] = round(run["cells_per_hour"] / serial["cells_per_hour"], 2)
                run["max_fid_diff_vs_1"] = max(abs(r["fid"] - b["fid"]) for r, b in zip(rows, base_rows))
        else:
            run["log_tail"] = "".join(open(f).read()[-600:] for f in logs[:2])
        res["runs"].append(run)
        print(f"P={p}: " + ", ".join(f"{k} {v}" for k, v in run.items() if k not in ("processes", "log_tail")),
              flush=True)
        if not ok:
            print(run["log_tail"], file=sys.stderr)
            if serial is None:
                break
    res["total_s"] = round(time.time() - t_start, 1)
    for run in res["runs"]:
        if "ratio_to_1" in run:
            print(f"P={run['processes']} processes on one {a.device}: {run['cells_per_hour']} cells/h, "
                  f"{run['ratio_to_1']}x one process ({serial['cells_per_hour']} cells/h)")
    with open(os.path.join(a.out, "gpu_sweep.json"), "w") as f:
        json.dump(res, f, indent=1)
    print("wrote", os.path.join(a.out, "gpu_sweep.json"), f"({res['total_s']} s in all)")
    return res


if __name__ == "__main__":
    main()
