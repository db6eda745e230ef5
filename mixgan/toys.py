"""Small helpers for the 2-D toy experiments (notebooks 00–02, benchmarks/toy_modes.py).

    model, history = train_toy("hmog", "hmog5", steps=600, seed=0)
    score(model, history["spec"])         # {'modes': 5, 'high_quality': 0.9, 'kl': .., 'nll': ..}
    regions(model, z_grid()[0])           # [n*n] generator / leaf index of each z

Toy models are tiny MLPs: their speed is set by Python overhead, not arithmetic, and
several BLAS threads fighting over busy cores make them ~10x slower.  ``train_toy``
therefore trains with one thread (``threads=``) and restores the previous setting.
"""
import contextlib
import math
import time

import torch

from . import data as _data
from . import models as _models
from .metrics.toy import toy_scores
from .train import fit

__all__ = ["train_toy", "score", "eval_fn", "z_grid", "regions", "component_modes", "one_thread",
           "summarize", "TOY_MODELS"]

# The models of notebook 01 (Normal prior, 2-D z) and of notebook 02 (GMM prior).
TOY_MODELS = ("fc", "mog", "hmog", "madgan", "mgan", "megan")


@contextlib.contextmanager
def one_thread(n=1):
    """Run a block with ``torch.set_num_threads(n)``, then restore the old value."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@torch.no_grad()
def score(model, spec, n=2500, seed=0, **sample_kw):
    """toy_scores of n samples drawn with a fixed seed, without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        x = model.sample(n, **sample_kw)
    return toy_scores(x.float().cpu(), spec)


def eval_fn(spec, n=2500, seed=0):
    """A ``fit(eval_fn=...)`` callback logging toy_scores (modes, high_quality, kl, nll)."""
    return lambda model: score(model, spec, n, seed)


def train_toy(name, toy, steps, seed=0, n=None, eval_every=None, threads=1, progress=False,
              data_seed=None, fit_kw=None, **kw):
    """Build model `name` for 2-D toy `toy`, train it `steps` generator steps on CPU.

    kw go to ``models.build`` (e.g. depth=3, K=18), fit_kw to ``train.fit``; eval_every
    logs ``score`` into history["eval"].  The data is toy(toy, n, data_seed or seed);
    supervised models (mmgan_supervised, acgan) get the mode labels as classes.
    Returns (model, history) with history["spec"] (the true mixture) and
    history["time_s"] (wall seconds of training) added.
    """
    x, labels, spec = _data.toy(toy, n, seed if data_seed is None else data_seed)
    cfg = _models.MODELS[name]
    supervised = cfg["loss"] in ("supervised_mm", "acgan")
    if supervised:
        kw.setdefault("n_classes", spec.num_modes)
    model = _models.build(name, (2,), seed=seed, **kw)
    with one_thread(threads):
        t = time.perf_counter()
        history = fit(model, (x, labels) if supervised else x, steps, seed=seed, device="cpu",
                      eval_every=eval_every, eval_fn=eval_fn(spec) if eval_every else None,
                      progress=progress, **(fit_kw or {}))
        history["time_s"] = time.perf_counter() - t
    history["spec"] = spec
    return model, history


def z_grid(lim=3.0, n=200):
    """A regular n×n grid over [-lim, lim]²: (z [n*n, 2] row-major from the bottom, extent)."""
    v = torch.linspace(-lim, lim, n)
    zy, zx = torch.meshgrid(v, v, indexing="ij")
    return torch.stack([zx.flatten(), zy.flatten()], 1), (-lim, lim, -lim, lim)


@torch.no_grad()
def regions(model, z, level=None):
    """Which generator / leaf a latent z belongs to, [B] long:

    tree, mixture, gated heads: argmax_k gates(z)_k (the most probable leaf; for a
      SoftTree, ``level`` l picks the most probable node of depth l instead);
    linear and multi heads have no gate: z is split into K equal angular sectors
      (K = generators, 8 for one generator), the fixed partition of p(z) that the
      HMoG paper's Fig. 6 colours for MADGAN and MGAN.
    """
    head, z = model.head, z.to(model.device)
    if level is not None:
        if not hasattr(head, "node_probs"):
            raise ValueError(f"level= needs a tree head, model {model.cfg.name!r} has {model.cfg.head!r}")
        if not 0 <= level <= head.depth:
            raise ValueError(f"level must be in 0..{head.depth}, got {level}")
        return head.node_probs(z)[level].argmax(1).cpu()
    if hasattr(head, "gates"):
        was = model.training
        model.eval()
        g = head.gates(z)
        model.train(was)
        return g.argmax(1).cpu()
    K = head.K if head.K > 1 else 8
    angle = torch.atan2(z[:, 1], z[:, 0]) % (2 * math.pi)
    return (angle / (2 * math.pi) * K).long().clamp(max=K - 1).cpu()


@torch.no_grad()
def component_modes(model, spec, n=3000, seed=0):
    """counts [K, M]: how many of n samples from component k (GMM Gaussian, class or
    generator, as ``sample(return_index=True)``) land nearest to true mode m.
    Row-normalised it shows where each Gaussian goes: for supervised MM-GAN the mass of
    row k should sit in column f(k); ``counts.max(1) / counts.sum(1)`` is each row's purity."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        x, k = model.sample(n, return_index=True)
    if k is None:
        raise ValueError(f"model {model.cfg.name!r} has no component index to split samples by")
    near = torch.cdist(x.float().cpu(), spec.means.float()).argmin(1)
    K, M = int(model.prior.K if model.cfg.prior == "gmm" else k.max() + 1), spec.num_modes
    return torch.bincount(k.cpu() * M + near, minlength=K * M).view(K, M)


def summarize(rows, keys=("modes", "high_quality", "kl", "nll")):
    """Mean ± std over seeds.  rows: list of dicts with 'model', 'toy' and the score keys.
    Returns a list of dicts {model, toy, n, <key>_mean, <key>_std} (std with ddof 0)."""
    groups = {}
    for r in rows:
        groups.setdefault((r["model"], r["toy"]), []).append(r)
    out = []
    for (m, t), rs in groups.items():
        d = {"model": m, "toy": t, "n": len(rs)}
        for k in keys:
            v = torch.tensor([float(r[k]) for r in rs], dtype=torch.float64)
            d[f"{k}_mean"], d[f"{k}_std"] = float(v.mean()), float(v.std(unbiased=False))
        out.append(d)
    return out
