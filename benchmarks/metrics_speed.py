"""Speed and memory of the heavy metrics on CPU.

    python benchmarks/metrics_speed.py            # full: 10k vs 10k features of 2048-d
    python benchmarks/metrics_speed.py --fid-only # only the FID timing
    python benchmarks/metrics_speed.py --quick    # dry run on small data (used by the tests)

Prints, for random-but-correlated float32 features (x = z·W, W a fixed random d×d matrix):
  1. frechet_distance time (target ≤ 3 s for 10k vs 10k × 2048 on 2 CPU cores),
  2. knn_two_sample vs scikit-learn's KNeighborsClassifier doing the same leave-one-out
     (`kneighbors()` without X excludes each point itself; majority vote, ties → fake) and
     the speed ratio (target ≥ 3×); both must give the same accuracies,
  3. the peak resident memory of a fresh process that runs knn_two_sample (target < 2 GB).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def features(n: int, d: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    """n×d float32 rows z·W/√d (+ shift), W shared by all seeds; built in chunks (low peak memory)."""
    w = torch.randn(d, d, generator=torch.Generator().manual_seed(1234)) / d ** 0.5
    g = torch.Generator().manual_seed(seed)
    out = torch.empty(n, d)
    for s in range(0, n, 2048):
        m = min(2048, n - s)
        out[s:s + m] = torch.randn(m, d, generator=g) @ w + shift
    return out


def sklearn_loo(real: np.ndarray, fake: np.ndarray, k: int) -> tuple[float, float]:
    """Leave-one-out k-NN two-sample accuracies with scikit-learn's KNeighborsClassifier."""
    from sklearn.neighbors import KNeighborsClassifier

    x = np.concatenate([real, fake])
    y = np.r_[np.ones(len(real), np.int64), np.zeros(len(fake), np.int64)]
    clf = KNeighborsClassifier(n_neighbors=k, algorithm="brute", n_jobs=-1).fit(x, y)
    idx = clf.kneighbors(return_distance=False)        # X=None: each point's k nearest others
    vote_real = 2 * y[idx].sum(1) > k                    # the classifier's uniform vote, ties → 0 (fake)
    return float(vote_real[:len(real)].mean()), float((~vote_real[len(real):]).mean())


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def knn_child(n: int, d: int, k: int) -> None:
    """Run in a fresh process: the peak RSS of knn_two_sample on 2n × d features."""
    from mixgan.metrics import knn_two_sample

    real, fake = features(n, d, 1), features(n, d, 2, shift=0.02)
    before = rss_mb()
    t = time.perf_counter()
    acc = knn_two_sample(real, fake, k=k)
    sec = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024     # kB → MB on Linux
    print(json.dumps({"before_mb": before, "peak_mb": peak, "seconds": sec, "acc": acc,
                      "inputs_mb": (real.numel() + fake.numel()) * 4 / 2 ** 20}))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small dry run (1000 vs 1000 × 64)")
    ap.add_argument("--n", type=int, default=10_000, help="samples per set")
    ap.add_argument("--d", type=int, default=2048, help="feature dimension")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--sklearn-n", type=int, default=None, help="per-set size of the sklearn comparison")
    ap.add_argument("--repeat", type=int, default=2, help="timings: best of this many runs")
    ap.add_argument("--fid-only", action="store_true", help="time frechet_distance only (seconds, not minutes)")
    ap.add_argument("--knn-child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.quick:
        a.n, a.d, a.repeat = 1000, 64, 1
    if a.knn_child:
        return knn_child(a.n, a.d, a.k)

    from mixgan.metrics import frechet_distance, knn_two_sample

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cpus, "
          f"load average at start {os.getloadavg()[0]:.1f} (other processes slow every figure down)")
    f1, f2 = features(a.n, a.d, 1), features(a.n, a.d, 2, shift=0.02)

    def best(fn):
        """(best wall seconds, its CPU seconds, result) over a.repeat runs."""
        runs, out = [], None
        for _ in range(a.repeat):
            t, c = time.perf_counter(), time.process_time()
            out = fn()
            runs.append((time.perf_counter() - t, time.process_time() - c))
        return (*min(runs), out)

    sec, cpu, fd = best(lambda: frechet_distance(f1, f2))
    print(f"frechet_distance  {a.n} vs {a.n} x {a.d}: {sec:.2f} s wall, {cpu:.2f} s cpu "
          f"(FD = {fd:.4f}; target <= 3 s)")
    if a.fid_only:
        return

    ns = a.sklearn_n or a.n
    r, f = f1[:ns], f2[:ns]
    sec_ours, cpu_ours, acc_ours = best(lambda: knn_two_sample(r, f, k=a.k))
    t, c = time.perf_counter(), time.process_time()
    acc_sk = sklearn_loo(r.numpy(), f.numpy(), a.k)
    sec_sk, cpu_sk = time.perf_counter() - t, time.process_time() - c
    same = np.allclose(acc_ours, acc_sk, atol=2.0 / ns)       # float32 near-ties may flip a vote or two
    print(f"knn_two_sample    {ns}+{ns} x {a.d}, k={a.k}: {sec_ours:.2f} s wall, {cpu_ours:.2f} s cpu, "
          f"acc (real, fake) = ({acc_ours[0]:.4f}, {acc_ours[1]:.4f})")
    print(f"sklearn KNeighborsClassifier leave-one-out: {sec_sk:.2f} s wall, {cpu_sk:.2f} s cpu, "
          f"acc = ({acc_sk[0]:.4f}, {acc_sk[1]:.4f}); same: {same}; speed-up {sec_sk / sec_ours:.1f}x wall, "
          f"{cpu_sk / cpu_ours:.1f}x cpu (target >= 3x)")

    if a.quick:                      # dry run: no second process (importing mixgan again costs seconds)
        before = rss_mb()
        knn_two_sample(f1, f2, k=a.k)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"knn_two_sample peak memory (--quick, this process): peak RSS {peak:.0f} MB, "
              f"before the call {before:.0f} MB")
        return
    child = subprocess.run([sys.executable, __file__, "--knn-child", "--n", str(a.n), "--d", str(a.d),
                            "--k", str(a.k)], capture_output=True, text=True, check=True)
    m = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"knn_two_sample peak memory ({a.n}+{a.n} x {a.d}, fresh process): peak RSS {m['peak_mb']:.0f} MB "
          f"(process before the call {m['before_mb']:.0f} MB incl. {m['inputs_mb']:.0f} MB of inputs; "
          f"increase {m['peak_mb'] - m['before_mb']:.0f} MB; target < 2048 MB)")
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
