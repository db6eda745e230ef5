"""Training helpers for the 2-D toy experiments (notebooks 00–02, benchmarks/toy_modes.py).

    model, history = train_toy("hmog", "hmog5", steps=600, seed=0)
    score(model, history["spec"])         # {'modes': 5, 'high_quality': 0.9, 'kl': .., 'nll': ..}
    regions(model, z_grid()[0])           # [n*n] generator / leaf index of each z (mixgan.analysis.regions)

Toy models are tiny MLPs: their speed is set by Python overhead, not arithmetic, and
several BLAS threads fighting over busy cores make them about ten times slower.  ``train_toy``
therefore trains with one thread (``threads=``) and restores the previous setting.
"""
import contextlib
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import torch
from tqdm.auto import tqdm

from . import data as _data
from . import models as _models
from . import presets
from .analysis.regions import component_modes, regions, z_grid
from .metrics.toy import toy_scores
from .train import fit
from .utils import seeded

__all__ = ["train_toy", "train_toys", "score", "eval_fn", "one_thread", "TOY_MODELS", "z_grid", "regions", "component_modes"]

# The models of notebook 01 (Normal prior, 2-D z).
TOY_MODELS = presets.TOY_MODELS


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
    """`metrics.toy_scores` of n samples drawn under `seed` (the global RNG is restored afterwards)."""
    with seeded(seed):
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


def _train_job(job):
    return train_toy(**job)


def train_toys(jobs, workers=None, progress=True):
    """Train several toy models at once, one process each (one thread per process), and return
    {label: (model, history)} in the order of `jobs`.

    jobs: {label: dict of ``train_toy`` keywords}, e.g.
    ``{"fc": dict(name="fc", toy="hmog5", steps=1000), "hmog": dict(name="hmog", toy="hmog5", steps=1000, depth=3)}``.
    Each job gives exactly what ``train_toy(**job)`` gives in this process (same seeds, same
    one-thread arithmetic); only the wall time is shared among `workers` processes (default:
    the number of CPU cores, at most len(jobs)).  A bar counts the finished jobs.
    """
    if not isinstance(jobs, dict) or not jobs:
        raise ValueError("jobs must be a non-empty dict {label: train_toy keywords}")
    for label, job in jobs.items():
        if not isinstance(job, dict) or "name" not in job or "toy" not in job or "steps" not in job:
            raise ValueError(f"job {label!r} must be a dict with at least name, toy and steps")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
    workers = min(len(jobs), workers or os.cpu_count() or 1)
    jobs = {label: dict(job, progress=False) for label, job in jobs.items()}
    if workers == 1:
        return {label: train_toy(**job) for label, job in tqdm(jobs.items(), disable=not progress, desc="toy models")}
    # spawn, not fork: a forked copy of a process that has used OpenMP can hang
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_train_job, job): label for label, job in jobs.items()}
        done = {}
        with tqdm(total=len(jobs), disable=not progress, desc=f"toy models ({workers} processes)") as bar:
            for fut in as_completed(futures):
                done[futures[fut]] = fut.result()
                bar.set_postfix_str(futures[fut])
                bar.update()
    return {label: done[label] for label in jobs}
