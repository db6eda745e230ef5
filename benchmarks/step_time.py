"""Seconds per generator iteration (5 critic steps + 1 generator step) on MNIST-32-shaped
data at batch 128, for FC, MoG (K=32), HMoG depth 5 and HMoG depth 8, each one's ratio
to FC, and each one's peak resident memory (RSS).

    python benchmarks/step_time.py                      # paper width (base 64, |h| = 4096)
    python benchmarks/step_time.py --threads 1 --rounds 3 --json results/step_time_cpu.json
    python benchmarks/step_time.py --quick              # tiny, seconds (what the tests run)

Clock: with one CPU thread (`--threads 1` on the CPU) the seconds are the process's CPU
time, which other jobs on a shared machine do not inflate; otherwise (GPU, several threads)
wall time.  Both are recorded.  Each model runs in its own child process (forked on the CPU, so no second import; spawned
for CUDA), which reports its own peak RSS (VmHWM: the import baseline included) — so
the memory of one model never hides another's.  Timing: the median of the per-iteration
wall times after `--warmup` iterations; the models are run `--rounds` times in turn and
the smallest of a model's round medians is compared (the round least disturbed by other
jobs on a shared machine), so the ratios come from one run of this script.
Targets: HMoG depth 5 <= 1.15 x FC, depth 8 <= 2 x FC, depth 8 peak RSS < 4 GB.
"""
import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import statistics
import time

import torch
import torch._dynamo  # noqa: F401  (torch.optim imports it at the first step: ~2 s, paid once here, not per child)

from mixgan.models import build
from mixgan.train import fit

MODELS = {"fc": ("fc", {}), "mog32": ("mog", {"K": 32}),
          "hmog5": ("hmog", {"depth": 5}), "hmog8": ("hmog", {"depth": 8})}
TARGETS = {"hmog5": 1.15, "hmog8": 2.0}
RSS_TARGET_GB = 4.0


def peak_rss_gb():
    """Peak resident set size of this process in GB (VmHWM, else ru_maxrss in KB)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024 ** 2
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2


def measure(key, iters, warmup, batch, base, size, n_critic, device, threads, seed=0):
    """One model in this process: dict(s_per_iter, peak_rss_gb, ...)."""
    if threads:
        torch.set_num_threads(threads)
    name, kw = MODELS[key]
    model = build(name, (1, size, size), seed=seed, base=base, batch_size=batch, n_critic=n_critic, **kw)
    x = torch.rand(max(4 * batch, 256), 1, size, size) * 2 - 1      # fake MNIST-32 (pixels don't matter)
    stamps = []

    def tick(model, step):                                          # called after every iteration
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        stamps.append((time.perf_counter(), time.process_time()))

    tick(model, 0)
    fit(model, x, steps=warmup + iters, seed=seed, device=device, sample_every=1, sample_fn=tick,
        log_every=10 ** 9, progress=False)
    wall = [b[0] - a[0] for a, b in zip(stamps[warmup:], stamps[warmup + 1:])]
    cpu = [b[1] - a[1] for a, b in zip(stamps[warmup:], stamps[warmup + 1:])]
    # one CPU thread: the process's CPU time is the work done, whatever other jobs share the machine
    use_cpu = device == "cpu" and torch.get_num_threads() == 1
    out = {"model": key, "s_per_iter": statistics.median(cpu if use_cpu else wall),
           "clock": "cpu time" if use_cpu else "wall time", "wall_s_per_iter": statistics.median(wall),
           "cpu_s_per_iter": statistics.median(cpu), "iters": len(wall),
           "peak_rss_gb": round(peak_rss_gb(), 3), "head_params": model.num_params(),
           "h_dim": model.body.h_dim}
    if device.startswith("cuda"):
        out["peak_cuda_gb"] = round(torch.cuda.max_memory_allocated() / 1024 ** 3, 3)
    return out


def _child(queue, args):
    try:
        queue.put(measure(*args))
    except BaseException as e:                                      # report, never hang the parent
        queue.put({"error": f"{type(e).__name__}: {e}"})


def run_isolated(key, args):
    """measure(key, ...) in a child process (fork on the CPU, spawn on CUDA)."""
    device = args[6]
    ctx = mp.get_context("spawn" if device.startswith("cuda") else "fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(q, (key, *args)))
    p.start()
    res = q.get()
    p.join()
    if "error" in res:
        raise RuntimeError(f"{key}: {res['error']}")
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny widths and 2 iterations (CI)")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--iters", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--base", type=int, default=64, help="DCGAN width; 64 gives |h| = 4096 at 32 px")
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--n-critic", type=int, default=5)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch threads per child (0: torch's default)")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args(argv)
    if a.quick:
        a.iters, a.warmup, a.rounds, a.batch, a.base = 2, 1, 1, 8, 4
    keys = a.models.split(",")
    args = (a.iters, a.warmup, a.batch, a.base, a.size, a.n_critic, a.device, a.threads)
    runs = {k: [] for k in keys}
    for _ in range(a.rounds):                                       # models in turn, so load drifts hit all
        for k in keys:
            runs[k].append(run_isolated(k, args))
    res = {k: {**r[-1], "s_per_iter": min(x["s_per_iter"] for x in r),     # least disturbed round
               "rounds": [round(x["s_per_iter"], 4) for x in r]} for k, r in runs.items()}
    fc = res.get("fc", {}).get("s_per_iter")
    print(f"device {a.device} ({platform.processor() or platform.machine()}, torch threads "
          f"{a.threads or torch.get_num_threads()}), batch {a.batch}, n_critic {a.n_critic}, "
          f"{a.size}x{a.size}x1, base {a.base}; min over {a.rounds} round(s) of the median of {a.iters} iterations "
          f"({next(iter(res.values()))['clock']})")
    print(f"{'model':8s} {'|h|':>6s} {'head params':>12s} {'s / G iter':>11s} {'x FC':>6s} {'target':>7s} "
          f"{'peak RSS GB':>12s} {'(wall s)':>9s}")
    for k, r in res.items():
        r["ratio_to_fc"] = round(r["s_per_iter"] / fc, 3) if fc else None
        t = TARGETS.get(k)
        r["target_ratio"], r["meets_target"] = t, (r["ratio_to_fc"] <= t if (t and fc) else None)
        print(f"{k:8s} {r['h_dim']:6d} {r['head_params']:12,d} {r['s_per_iter']:11.4f} "
              f"{r['ratio_to_fc'] or float('nan'):6.2f} {('<= %.2f' % t) if t else '':>7s} {r['peak_rss_gb']:12.2f} "
              f"{r['wall_s_per_iter']:9.2f}")
    if "hmog8" in res:
        ok = res["hmog8"]["peak_rss_gb"] < RSS_TARGET_GB
        print(f"HMoG depth 8 peak RSS {res['hmog8']['peak_rss_gb']:.2f} GB (target < {RSS_TARGET_GB} GB): "
              f"{'met' if ok else 'MISSED'}")
    for k, t in TARGETS.items():
        if k in res and fc:
            print(f"{k}: {res[k]['ratio_to_fc']:.2f} x FC (target <= {t}): {'met' if res[k]['meets_target'] else 'MISSED'}")
    out = {"settings": vars(a), "torch": torch.__version__, "cpu_count": os.cpu_count(), "results": res}
    write_json(a.json, out)
    return out


def write_json(path, obj):
    """Write obj to path as indented JSON (creating its folder); nothing when path is empty."""
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            json.dump(obj, f, indent=1)


if __name__ == "__main__":
    main()
