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
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

import torch

from . import data as _data
from . import models as _models
from . import presets
from .analysis.regions import component_modes, regions, z_grid
from .metrics.toy import toy_scores
from .train import fit
from .utils import progress_bar, seeded

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


_TICKS = None            # in a worker of train_toys: the queue its finished steps go to
_TICK_EVERY = 25


def _worker_init(queue):
    global _TICKS
    _TICKS = queue


def _train_job(job):
    """train_toy(**job) in a worker; every _TICK_EVERY steps the worker puts the number of new
    steps on the parent's queue (through fit's sample hook, which runs RNG-neutral, so the
    result is the same as without it)."""
    job = dict(job)
    fit_kw = dict(job.get("fit_kw") or {})
    if _TICKS is not None and "sample_fn" not in fit_kw:
        last = [0]

        def tick(_model, step):
            _TICKS.put(step - last[0])
            last[0] = step
        fit_kw.update(sample_fn=tick, sample_every=_TICK_EVERY)
        job["fit_kw"] = fit_kw
    return train_toy(**job)


def train_toys(jobs, workers=None, progress=True):
    """Train several toy models at once, one process each (one thread per process), and return
    {label: (model, history)} in the order of `jobs`.

    jobs: {label: dict of ``train_toy`` keywords}, e.g.
    ``{"fc": dict(name="fc", toy="hmog5", steps=1000), "hmog": dict(name="hmog", toy="hmog5", steps=1000, depth=3)}``.
    Each job gives exactly what ``train_toy(**job)`` gives in this process (same seeds, same
    one-thread arithmetic); only the wall time is shared among `workers` processes (default:
    the number of CPU cores, at most len(jobs)).  A bar counts the generator steps of all jobs.
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
        return {label: train_toy(**job) for label, job in progress_bar(jobs.items(), disable=not progress, desc="toy models")}
    # spawn, not fork: a forked copy of a process that has used OpenMP can hang
    ctx = multiprocessing.get_context("spawn")
    ticks = ctx.Queue()
    total = sum(int(job["steps"]) for job in jobs.values())
    desc = f"{len(jobs)} toy models, {workers} processes side by side (steps)"
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_worker_init, initargs=(ticks,)) as pool, \
            progress_bar(total=total, disable=not progress, desc=desc) as bar:
        futures = {pool.submit(_train_job, job): label for label, job in jobs.items()}
        done, pending = {}, set(futures)
        while pending:
            finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for fut in finished:
                done[futures[fut]] = fut.result()
                bar.set_postfix_str(f"{futures[fut]} done", refresh=False)
            while not ticks.empty():
                bar.update(ticks.get())
        bar.update(total - bar.n)                             # a job's last steps may still be queued
    return {label: done[label] for label in jobs}
