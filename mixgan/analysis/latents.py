"""Latents at a post-training scale, under a fixed seed: the sampling every analysis shares.

The *scale* s multiplies the prior's covariance after training (the σ of the MM-GAN thesis's
quality–diversity experiment; ``model.sample(n, scale=s)``):

    Normal prior:  z ~ N(0, s I)          Gaussian mixture:  k ~ Cat(1/K),  z | k ~ N(μ_k, s Σ_k)

Every function draws under ``seeded(seed)`` (the global RNG is restored afterwards), so two calls
with the same seed see the same (k, ε) whatever the scale.
"""
from __future__ import annotations

import functools

import torch

from ..nets import priors
from ..utils import seeded

SCALES = tuple(round(0.5 + 0.1 * i, 1) for i in range(16))     # s ∈ {0.5, 0.6, …, 2.0}


def renamed(**old_to_new):
    """Decorator: calling with a keyword that was renamed raises one TypeError naming the new one."""
    def wrap(fn):
        @functools.wraps(fn)
        def call(*args, **kw):
            for old, new in old_to_new.items():
                if old in kw:
                    raise TypeError(f"{fn.__name__}(): the keyword `{old}=` was renamed `{new}=`")
            return fn(*args, **kw)
        return call
    return wrap


@renamed(sigma="scale")
@torch.no_grad()
def sample_latents(model, n, scale=1.0, truncate=None, seed=0):
    """z [n, d] and component k [n] from the model's prior with its covariance multiplied by `scale`.

    truncate = keep fraction: draw n/keep candidates and keep the n most likely under the
    (scaled) prior, i.e. drop the least likely 1 − keep (the HMoG paper uses keep = 0.75).
    """
    with seeded(seed):
        if truncate is not None:
            return priors.truncate(model.prior, n, truncate, scale)
        return model.prior.sample(n, scale=scale)


@renamed(sigma="scale")
@torch.no_grad()
def sample_at(model, n, scale=1.0, truncate=None, seed=0):
    """n samples [n, *data_shape] drawn with ``model.sample(n, scale=scale, truncate=…)`` under `seed`."""
    with seeded(seed):
        return model.sample(n, scale=scale, truncate=truncate)


@renamed(sigma="scale")
def sample_grid_at(model, scale, n=64, seed=0):
    """The scale slider's grid: n samples at `scale` from the SAME noise for every scale.

    With a fixed seed, z = μ_k + √s · A_k ε uses the same (k, ε) whatever s is, so moving s
    shows the same samples pulled towards (s < 1) or pushed away from (s > 1) their mode.
    """
    return sample_at(model, n, scale=scale, seed=seed)


def batches(n, batch):
    """[(start, end)] covering range(n) in slices of at most `batch`."""
    return [(s, min(n, s + batch)) for s in range(0, n, batch)]
