"""HMoG paper Fig. 9 on MNIST-32: FID and 5-NN vs parameter count for K ∈ {4, 8, 16, 32}.

    python benchmarks/fig9.py --quick                       # seconds: a dry run of the pipeline
    python benchmarks/fig9.py --steps 300 --base 16 --seeds 0 --key fig9/cpu
    python benchmarks/fig9.py --steps 20000 --base 64 --seeds 0,1,2,3,4 --key fig9/gpu   # paper-like, GPU

The rows are stored as a CSV through `mixgan.results` under the key (results/fig9_cpu.csv, with
its entry in results/MANIFEST.json); `mixgan.results.load("fig9/cpu")` reads them back.

Features: the Inception network when its weights are on disk, else the MNIST domain classifier
(the CSV records which, and the sample counts).
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import mixgan  # noqa: E402
from mixgan import results  # noqa: E402
from mixgan.sweep import fig9_sweep  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="fc,mog,hmog,madgan,mgan,megan")
    ap.add_argument("--Ks", default="4,8,16,32")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--base", type=int, default=16)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--n-train", type=int, default=20_000)
    ap.add_argument("--n-eval", type=int, default=1000)
    ap.add_argument("--data", default="mnist")
    ap.add_argument("--key", default="fig9/cpu", help="the results key the rows are stored under")
    ap.add_argument("--root", default=None, help="the results folder (default results/)")
    ap.add_argument("--quick", action="store_true", help="2 models, K=4, 3 steps, 200 samples")
    a = ap.parse_args(argv)
    if a.quick:
        a.models, a.Ks, a.steps, a.n_train, a.n_eval, a.base = "fc,hmog", "4", 3, 512, 200, 8
    x, _ = mixgan.data.load_tensors(a.data, train=True, limit=a.n_train)
    xt, _ = mixgan.data.load_tensors(a.data, train=False)
    ext = mixgan.metrics.get_extractor("auto", a.data)
    t0 = time.time()
    rows = fig9_sweep(a.models.split(","), [int(k) for k in a.Ks.split(",")], x, a.steps, ext, xt,
                      seeds=[int(s) for s in a.seeds.split(",")], n_eval=a.n_eval, base=a.base)
    print(f"total {time.time() - t0:.0f} s on {torch.get_num_threads()} threads")
    if not a.quick:
        cmd = "python benchmarks/fig9.py " + " ".join(argv if argv is not None else sys.argv[1:])
        f = results.save(a.key, rows, kind="csv", root=a.root, command=cmd,
                         what=f"HMoG paper Fig. 9 sweep: FID and 5-NN per model, K and seed ({ext.name} features)")
        print("wrote", f)
    return rows


if __name__ == "__main__":
    main()
