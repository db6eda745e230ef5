"""HMoG paper Fig. 9: FID and 5-NN accuracy against parameter count, K ∈ {4, 8, 16, 32}.

    rows = fig9_sweep(["fc", "mog", "hmog"], Ks=(4, 8), x=x_train, steps=200)
    mixgan.plots.fig9_plot(rows)

Each row: model, K, params (without the shared body), fid, knn_real, knn_fake, seed,
extractor, n_real, n_fake, steps.  benchmarks/fig9.py stores them through `mixgan.results`.
"""
import math
import time

from . import models as M
from .metrics import fid_report, knn_two_sample
from .train import fit


def model_kwargs(name, K):
    """K generators as each model spells it: a tree of depth log2 K, else K leaves/heads."""
    if name == "fc":
        return {}
    if name == "hmog":
        return {"depth": int(round(math.log2(K)))}
    return {"K": K}


def fig9_sweep(names, Ks, x, steps, extractor, real_eval, seeds=(0,), n_eval=1000, base=64,
               progress=False, log=print, **build_kw):
    """Train every (model, K, seed) on images x [N, C, H, W] and score n_eval samples against
    real_eval in `extractor`'s features.  FC has no K: it is trained once per seed (K = 1)."""
    rows, fr = [], extractor.features(real_eval[:n_eval])
    for name in names:
        for K in ([1] if name == "fc" else Ks):
            for seed in seeds:
                t0 = time.time()
                model = M.build(name, tuple(x.shape[1:]), seed=seed, base=base,
                                **model_kwargs(name, K), **build_kw)
                fit(model, x, steps=steps, seed=seed, progress=progress)
                ff = extractor.features(model.sample(n_eval))
                acc_r, acc_f = knn_two_sample(fr, ff, k=5)
                fid = fid_report(fr, ff, extractor, features=True)
                rows.append({"model": name, "K": K, "params": model.num_params(), "seed": seed,
                             "fid": fid["fid"], "knn_real": acc_r, "knn_fake": acc_f,
                             "extractor": fid["extractor"], "n_real": fid["n_real"],
                             "n_fake": fid["n_fake"], "steps": steps, "seconds": round(time.time() - t0, 1)})
                log(f"{name:7s} K={K:<3d} seed={seed} params={rows[-1]['params']:>9,d} "
                    f"FID={rows[-1]['fid']:8.2f} 5-NN={acc_r:.3f}/{acc_f:.3f} ({rows[-1]['seconds']} s)")
    return rows
