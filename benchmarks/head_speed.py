"""How close the HMoG tree head runs to the matrix product it is built on, and the memory
of a deep HMoG.

    python benchmarks/head_speed.py                    # K = 32 (depth 5), B = 128, d = 100, |h| = 4096
    python benchmarks/head_speed.py --threads 1 --json results/head_speed_cpu.json
    python benchmarks/head_speed.py --quick            # tiny, seconds (what the tests run)

1. Speed.  The tree head is h = (π ⊗ [z, 1]) · W with W [K(d+1), |h|] (mixgan.nets.heads.mix_linear),
   so its forward + backward is at least the three fp32 GEMMs of that shape:
       forward  (B × K(d+1)) @ (K(d+1) × |h|),   backward  dP = G Wᵀ,  dW = Pᵀ G.
   Both are timed in the same run, interleaved (`--reps` pairs; medians); the head's rate is
   reported as a fraction of the GEMM rate (the same FLOP count, 3 · 2 B K(d+1) |h|, over
   each one's time).  Target: >= 60 %.
2. Memory.  HMoG of depth 8 (K = 256 leaves, |h| = 4096 at base 64) trains at batch 128
   (5 critic steps + 1 generator step, Adam with amsgrad) in a child process whose peak RSS
   is read (benchmarks/step_time.py's `measure`).  Target: < 4 GB.
"""
import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from step_time import RSS_TARGET_GB, run_isolated, write_json  # noqa: E402

from mixgan.nets.heads import SoftTree  # noqa: E402

TARGET = 0.60


def timed(fn, device):
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    t = time.perf_counter()
    fn()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t


def head_vs_gemm(B, d, H, depth, reps, device, seed=0):
    """Median seconds of the tree head's forward+backward and of the three GEMMs."""
    torch.manual_seed(seed)
    tree = SoftTree(d, H, depth=depth).to(device)
    K = tree.K
    z, G = torch.randn(B, d, device=device), torch.randn(B, H, device=device)
    A, W = torch.randn(B, K * (d + 1), device=device), torch.randn(K * (d + 1), H, device=device)

    def head():
        tree.zero_grad(set_to_none=True)
        tree(z).backward(G)

    def gemm():
        A @ W, G @ W.T, A.T @ G

    for _ in range(2):                                            # warm-up (allocator, kernels)
        head(), gemm()
    t_head, t_gemm = [], []
    for _ in range(reps):                                         # interleaved: same load for both
        t_head.append(timed(head, device))
        t_gemm.append(timed(gemm, device))
    flops = 3 * 2 * B * K * (d + 1) * H
    th, tg = statistics.median(t_head), statistics.median(t_gemm)
    return {"B": B, "d": d, "h": H, "K": K, "depth": depth, "gflop": flops / 1e9,
            "head_s": th, "gemm_s": tg, "head_gflops": flops / th / 1e9, "gemm_gflops": flops / tg / 1e9,
            "fraction": tg / th, "reps": reps}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny shapes (CI)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--d", type=int, default=100)
    ap.add_argument("--h", type=int, default=4096)
    ap.add_argument("--depth", type=int, default=5)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--no-memory", action="store_true", help="skip the depth-8 training memory run")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args(argv)
    base, batch = 64, a.batch                                     # base 64: |h| = 256·16 = 4096
    if a.quick:
        a.batch, a.h, a.reps, base, batch = 16, 256, 3, 4, 8
    if a.threads:
        torch.set_num_threads(a.threads)
    out = {"settings": vars(a), "torch": torch.__version__}
    if not a.no_memory:                                      # first: the child is forked from a clean process
        m = out["memory"] = run_isolated("hmog8", (1, 1, batch, base, 32, 5, a.device, a.threads))
        print(f"HMoG depth 8, |h|={m['h_dim']}, {m['head_params']:,d} head parameters, batch {batch}: "
              f"peak RSS {m['peak_rss_gb']:.2f} GB (target < {RSS_TARGET_GB} GB): "
              f"{'met' if m['peak_rss_gb'] < RSS_TARGET_GB else 'MISSED'}; {m['s_per_iter']:.2f} s / G iteration")
    r = out["speed"] = head_vs_gemm(a.batch, a.d, a.h, a.depth, a.reps, a.device)
    print(f"tree head K={r['K']} (depth {r['depth']}), B={r['B']}, d={r['d']}, |h|={r['h']} on {a.device} "
          f"(torch threads {torch.get_num_threads()}): {r['gflop']:.2f} GFLOP per forward+backward")
    print(f"  3 GEMMs      {r['gemm_s'] * 1e3:9.2f} ms  {r['gemm_gflops']:8.1f} GFLOP/s")
    print(f"  tree head    {r['head_s'] * 1e3:9.2f} ms  {r['head_gflops']:8.1f} GFLOP/s")
    print(f"  head rate = {100 * r['fraction']:.0f} % of the GEMM rate (target >= {100 * TARGET:.0f} %): "
          f"{'met' if r['fraction'] >= TARGET else 'MISSED'}")
    write_json(a.json, out)
    return out


if __name__ == "__main__":
    main()
