"""HMoG paper Fig. 9: FID and 5-NN accuracy against parameter count, K ∈ {4, 8, 16, 32}.

    rows = fig9_sweep(["fc", "mog", "hmog"], Ks=(4, 8), x=x_train, steps=200, extractor=ext, real_eval=x_test)
    mixgan.plots.fig9_plot(rows)

    # the same grid in N resumable shards, one JSON file each, then merged (mixgan.shards)
    rows_i = run_shard("runs/fig9/shard-0-of-2.json", 0, 2, x_train, ext, x_test,
                       models=["fc", "hmog"], Ks=[4, 16], seeds=[0, 1], steps=300, base=16, data="mnist")
    rows = mixgan.shards.merge(["runs/fig9"])

Each row: model, K, params (without the shared body), seed, fid, knn_real, knn_fake, extractor,
n_real, n_fake, steps, seconds.  A cell (model, K, seed) is seeded by its own seed alone (the
weights, the minibatch order, the samples), so its row is the same whichever shard, process or
position in the sweep ran it, `seconds` aside (on a GPU: up to its non-deterministic kernels).
benchmarks/fig9.py runs the shards and stores the merged rows through `mixgan.results`.
"""
import json
import math
import time
from pathlib import Path

from . import models as M
from .metrics import fid_report, knn_two_sample
from .metrics.features import extractor_name
from .shards import cell_of, grid, open_shard, shard, shard_lock, write_shard
from .train import fit
from .train.checks import positive_int
from .train.evaluate import fakes
from .utils import seeded

__all__ = ["model_kwargs", "grid_spec", "run_cell", "fig9_sweep", "run_shard"]


def model_kwargs(name, K):
    """K generators as each model spells it: a tree of depth log2 K, else K leaves/heads."""
    if name == "fc":
        return {}
    if name == "hmog":
        return {"depth": int(round(math.log2(K)))}
    return {"K": K}


def grid_spec(models, Ks, seeds, *, steps, base, data, x, n_eval, extractor, vote="majority", **build_kw):
    """Everything that defines a cell's result, as plain JSON values: the grid, steps, base,
    the data (name, n_train = len(x), image shape), n_eval, the extractor's name, the 5-NN rule
    and the model options `build_kw` (e.g. batch_size, n_critic; absent: each model's own)."""
    grid(models, Ks, seeds)
    spec = dict(models=list(models), Ks=list(Ks), seeds=list(seeds), steps=positive_int("steps", steps),
                base=positive_int("base", base), data=str(data), n_train=len(x), shape=list(x.shape[1:]),
                n_eval=positive_int("n_eval", n_eval), extractor=extractor_name(extractor),
                knn=f"5-NN leave-one-out, vote={vote}", **build_kw)
    return json.loads(json.dumps(spec))                  # tuples -> lists, as read back from a file


def run_cell(cell, x, extractor, real_features, steps, n_eval, base, vote="majority", device=None,
             progress=False, **build_kw):
    """Train one (model, K, seed) on images x [N, C, H, W], sample n_eval images and score them
    against `real_features` [n, D] (the extractor's features of real test images) -> row dict.
    RNG-neutral: the global torch RNG is restored afterwards."""
    name, K, seed = cell
    t0 = time.time()
    with seeded(seed):
        model = M.build(name, tuple(x.shape[1:]), seed=seed, base=base, **model_kwargs(name, K), **build_kw)
        fit(model, x, steps=steps, seed=seed, device=device, progress=progress)
        ff = extractor.features(fakes(model, n_eval, seed + 1))
    acc_r, acc_f = knn_two_sample(real_features, ff, k=5, vote=vote)
    fid = fid_report(real_features, ff, extractor, features=True)
    return {"model": name, "K": K, "params": model.num_params(), "seed": seed, "fid": fid["fid"],
            "knn_real": float(acc_r), "knn_fake": float(acc_f), "extractor": fid["extractor"],
            "n_real": fid["n_real"], "n_fake": fid["n_fake"], "steps": steps,
            "seconds": round(time.time() - t0, 1)}


def _line(row):
    return (f"{row['model']:7s} K={row['K']:<3d} seed={row['seed']} params={row['params']:>9,d} "
            f"FID={row['fid']:8.2f} 5-NN={row['knn_real']:.3f}/{row['knn_fake']:.3f} ({row['seconds']} s)")


def fig9_sweep(names, Ks, x, steps, extractor, real_eval, seeds=(0,), n_eval=1000, base=64, progress=False,
               log=print, vote="majority", device=None, **build_kw):
    """Train every (model, K, seed) of `grid(names, Ks, seeds)` on images x [N, C, H, W] in one
    process and score n_eval samples against real_eval's first n_eval images -> rows in grid order.
    FC has no K: it is trained once per seed (K = 1)."""
    cells = grid(names, Ks, seeds)
    fr = extractor.features(real_eval[:n_eval])
    rows = []
    for cell in cells:
        rows.append(run_cell(cell, x, extractor, fr, steps, n_eval, base, vote, device, progress, **build_kw))
        log(_line(rows[-1]))
    return rows


def run_shard(path, i, n, x, extractor, real_eval, *, models, Ks, seeds, steps, base, data, n_eval=1000,
              vote="majority", device=None, progress=False, log=print, info=None, **build_kw):
    """Run shard i of n of the grid into the shard file `path` and return its rows (shard order).

    The file is rewritten atomically after every finished cell; a rerun skips the cells already
    in it, and refuses a file of another grid or another shard (see `mixgan.shards`).  One process
    per file: a second one is refused while the first runs.  info: where this process runs
    (command, machine, device), added to the file's "runs" when it trains a cell."""
    spec = grid_spec(models, Ks, seeds, steps=steps, base=base, data=data, x=x, n_eval=n_eval,
                     extractor=extractor, vote=vote, **build_kw)
    cells = shard(grid(models, Ks, seeds), i, n)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with shard_lock(path):
        rows, runs = open_shard(path, spec, i, n)
        done = {cell_of(r) for r in rows}
        todo = [c for c in cells if c not in done]
        log(f"shard {i}/{n}: {len(cells)} cells, {len(done)} already in {path}, {len(todo)} to run")
        if todo or not path.exists():
            runs.append(dict(info or {}))
            write_shard(path, spec, i, n, rows, runs)
        fr = extractor.features(real_eval[:n_eval]) if todo else None
        for c in todo:
            rows.append(run_cell(c, x, extractor, fr, steps, n_eval, base, vote, device, progress, **build_kw))
            rows.sort(key=lambda r: cells.index(cell_of(r)))
            write_shard(path, spec, i, n, rows, runs)
            log(f"[{len(rows)}/{len(cells)}] " + _line(next(r for r in rows if cell_of(r) == c)))
    return rows
