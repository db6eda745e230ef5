"""HMoG paper Fig. 9 on MNIST-32: FID and 5-NN vs parameter count for K ∈ {4, 8, 16, 32}, in resumable shards.

    python benchmarks/fig9.py run --quick --out /tmp/fig9q                        # seconds: a dry run
    python benchmarks/fig9.py run --steps 300 --base 16 --seeds 0 --key fig9/cpu  # one process, stored
    python benchmarks/fig9.py run --shard 1/4 --out runs/fig9 --steps 300          # shard 1 of 4
    python benchmarks/fig9.py merge runs/fig9 --key fig9/cpu                       # the shards -> stored rows

The grid is every model × K × seed (FC: one cell per seed, with K = 1; HMoG: a tree of depth
log2 K), in that order.  `run --shard I/N` (0-based: 0 <= I < N; default 0/1, the whole grid in
one process) trains the cells I, I+N, I+2N, ... and rewrites <out>/shard-I-of-N.json (default
out: runs/fig9) after every finished cell.  Rerunning the same command resumes: finished cells are
skipped, and a file made with other settings is refused, naming the first setting that differs.
`merge` takes shard files or folders of them, checks that they are of one grid, that no shard is
given twice (or with another N) and that no cell is missing, and stores the rows in grid order as
a CSV through `mixgan.results` under --key (results/<key with _>.csv and its MANIFEST.json
entry); without --key it only checks and prints them.  `run --key` stores a finished 0/1 run
directly.  Without a subcommand, `run` is meant (`fig9.py --quick`).

A SLURM array job, one shard per task.  The array ids must be the 0-based range --array=0-(N-1)
(a %limit on the tasks running at once is fine), so that $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT
is I/N; --array=1-8 would give 8/8, which is refused, and a step or a list of ids would skip shards:

    #!/bin/bash
    #SBATCH --array=0-7
    #SBATCH --gres=gpu:1 --cpus-per-task=4 --time=12:00:00
    python benchmarks/fig9.py run --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT --out runs/fig9 \\
        --steps 20000 --base 64 --seeds 0,1,2,3,4 --n-train 60000 --n-eval 10000 --device cuda
    # once every task has finished:  python benchmarks/fig9.py merge runs/fig9 --key fig9/gpu

Several GPUs on one machine, one shard each:

    mkdir -p runs/fig9
    for i in 0 1 2 3; do
        CUDA_VISIBLE_DEVICES=$i python benchmarks/fig9.py run --shard $i/4 --device cuda --out runs/fig9 \\
            --steps 20000 --base 64 --seeds 0,1,2,3,4 > runs/fig9/log-$i.txt 2>&1 &
    done; wait
    python benchmarks/fig9.py merge runs/fig9 --key fig9/gpu

Several processes on one GPU (one small model leaves a large GPU mostly idle; benchmarks/gpu_sweep.py
measures what that gains): the same loop on one device, each process with its share of the cores,

    for i in 0 1 2 3; do
        python benchmarks/fig9.py run --shard $i/4 --device cuda:0 --threads 4 --out runs/fig9 \\
            --steps 20000 --base 64 --seeds 0,1,2,3,4 > runs/fig9/log-$i.txt 2>&1 &
    done; wait

and the same merge.  On CPUs too: two processes on two cores with --device cpu --threads 1 each.

Features: the Inception network when its weights are on disk (MIXGAN_DOWNLOAD_INCEPTION=1 fetches
them once, with internet), else the MNIST domain classifier (each row records which, and the sample
counts).
"""
import argparse
import os
import shlex
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import mixgan  # noqa: E402
from mixgan import results, shards  # noqa: E402
from mixgan.sweep import run_shard  # noqa: E402

FULL = dict(models="fc,mog,hmog,madgan,mgan,megan", Ks="4,8,16,32", seeds="0", steps=300, base=16,
            n_train=20_000, n_eval=1000, out="runs/fig9")
QUICK = dict(models="fc,hmog", Ks="4", seeds="0", steps=3, base=8, n_train=512, n_eval=200, out="runs/fig9-quick")


class UsageError(ValueError):
    """A command line that does not parse."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):                    # one line on stderr (main), not argparse's usage block
        raise UsageError(message)


def _ints(flag, text, least):
    try:
        values = [int(v) for v in str(text).split(",")]
    except ValueError:
        raise UsageError(f"{flag} takes integers separated by commas, got {text!r}") from None
    if any(v < least for v in values):
        raise UsageError(f"{flag} takes integers >= {least}, got {text!r}")
    return values


def make_parser():
    ap = _Parser(prog="fig9.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run", help="train one shard of the grid into <out>/shard-I-of-N.json")
    run.add_argument("--shard", default="0/1", help="I/N: run shard I of N (0-based; default 0/1, the whole grid)")
    run.add_argument("--out", help=f"folder of the shard files (default {FULL['out']}; --quick: {QUICK['out']})")
    run.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when present, else cpu)")
    run.add_argument("--threads", type=int, help="torch CPU threads of this process (default: torch's)")
    run.add_argument("--models", help=f"comma-separated (default {FULL['models']})")
    run.add_argument("--Ks", help=f"generators per mixture (default {FULL['Ks']})")
    run.add_argument("--seeds", help=f"default {FULL['seeds']}")
    run.add_argument("--steps", type=int, help=f"generator steps per cell (default {FULL['steps']})")
    run.add_argument("--base", type=int, help=f"DCGAN channel base (default {FULL['base']})")
    run.add_argument("--n-train", type=int, help=f"training images (the first n; default {FULL['n_train']})")
    run.add_argument("--n-eval", type=int, help=f"samples and test images scored (default {FULL['n_eval']})")
    run.add_argument("--data", default="mnist")
    run.add_argument("--batch-size", type=int, help="critic batch (default: each model's own)")
    run.add_argument("--n-critic", type=int, help="critic steps per generator step (default: each model's own)")
    run.add_argument("--vote", default="majority", choices=["majority", "fraction"], help="the 5-NN rule")
    run.add_argument("--quick", action="store_true", help="a dry run's defaults: fc and hmog, K=4, 3 steps, "
                     "base 8, 512 images, 200 samples (options given win)")
    run.add_argument("--progress", action="store_true", help="a progress bar per cell")
    run.add_argument("--key", help="store the rows under this results key (only with --shard 0/1)")
    run.add_argument("--root", help="the results folder (default results/)")
    mg = sub.add_parser("merge", help="check the shard files of one grid and store their rows")
    mg.add_argument("paths", nargs="+", help="shard files, or folders holding shard-I-of-N.json files")
    mg.add_argument("--key", help="store the merged rows under this results key (else only check and print)")
    mg.add_argument("--root", help="the results folder (default results/)")
    return ap


def _command(argv):
    return "python benchmarks/fig9.py " + shlex.join(argv)


def cmd_run(a, argv):
    i, n = shards.parse_shard(a.shard)
    if a.key and n > 1:
        raise UsageError(f"--key stores a whole grid, not shard {i}/{n}: run every shard, then "
                         f"`fig9.py merge {a.out or FULL['out']} --key {a.key}`")
    s = {k: getattr(a, k) if getattr(a, k) is not None else (QUICK if a.quick else FULL)[k] for k in FULL}
    models, Ks, seeds = s["models"].split(","), _ints("--Ks", s["Ks"], 1), _ints("--seeds", s["seeds"], 0)
    for k in ("steps", "base", "n_train", "n_eval", "threads", "batch_size", "n_critic"):
        if getattr(a, k) is not None and getattr(a, k) < 1:
            raise UsageError(f"--{k.replace('_', '-')} must be >= 1, got {getattr(a, k)}")
    shards.grid(models, Ks, seeds)                              # bad models / Ks: refused before any loading
    device = mixgan.train.pick_device(a.device)
    if a.threads:
        torch.set_num_threads(a.threads)
    build = {k: getattr(a, k) for k in ("batch_size", "n_critic") if getattr(a, k) is not None}
    x, _ = mixgan.data.load_tensors(a.data, train=True, limit=s["n_train"])
    xt, _ = mixgan.data.load_tensors(a.data, train=False)
    ext = mixgan.metrics.get_extractor("auto", a.data, device=device)
    path = shards.shard_file(s["out"], i, n)
    info = dict(command=_command(argv), machine=results.describe_machine(device), device=str(device),
                threads=torch.get_num_threads())
    t0 = time.time()
    rows = run_shard(path, i, n, x, ext, xt, models=models, Ks=Ks, seeds=seeds, steps=s["steps"], base=s["base"],
                     data=a.data, n_eval=s["n_eval"], vote=a.vote, device=device, progress=a.progress,
                     info=info, **build)
    print(f"shard {i}/{n}: {len(rows)} cells in {path} ({time.time() - t0:.0f} s here, on {device}, "
          f"{torch.get_num_threads()} threads)")
    if a.key:
        store(a.key, [path], a.root, info["command"])
    return rows


def store(key, paths, root, command):
    """Merge the shard files and store their rows under `key`; returns the CSV's Path."""
    rows = shards.merge(paths)
    files = shards.shard_files(paths)
    heads = [shards.read_shard(f) for f in files]
    spec, n = heads[0]["grid"], len(files)
    where = [r for h in heads for r in shards.shard_runs(h)]            # every process, every shard
    machines = "; ".join(dict.fromkeys(r.get("machine", "unknown") for r in where)) or "unknown"
    commands = list(dict.fromkeys(r.get("command", "?") for r in where))
    runs = "; ".join(commands) if n > 1 or len(commands) > 1 else ""
    f = results.save(key, rows, kind="csv", root=root, machine=machines,
                     command=command + (f" (merging the shards of: {runs})" if runs else ""),
                     what=f"HMoG paper Fig. 9 sweep: FID and 5-NN per model, K and seed ({spec['extractor']} "
                          f"features, {spec['steps']} steps, base {spec['base']}, {n} shard(s))")
    print(f"stored {len(rows)} rows as {key!r}: {f}")
    return f


def cmd_merge(a, argv):
    rows = shards.merge(a.paths)
    for r in rows:
        print(f"{r['model']:7s} K={r['K']:<3d} seed={r['seed']} params={r['params']:>9,d} FID={r['fid']:8.2f} "
              f"5-NN={r['knn_real']:.3f}/{r['knn_fake']:.3f} ({r['seconds']} s)")
    print(f"{len(rows)} cells, every one present, {sum(r['seconds'] for r in rows):.0f} s of training in all")
    if a.key:
        store(a.key, a.paths, a.root, _command(argv))
    return rows


def main(argv=None):
    """Entry point; a bad command line or setting is one line on stderr and exit status 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("run", "merge", "-h", "--help"):
        argv = ["run"] + argv                                    # fig9.py --quick == fig9.py run --quick
    try:
        a = make_parser().parse_args(argv)
        return (cmd_run if a.cmd == "run" else cmd_merge)(a, argv)
    except (ValueError, TypeError, shards.ShardBusy) as e:
        print(f"fig9.py: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
