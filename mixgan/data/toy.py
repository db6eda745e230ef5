"""2-D toy mixtures of isotropic Gaussians.

Every toy is p(x) = sum_k w_k N(x; mu_k, std^2 I) in R^2:

    name      modes  means                               std        default n  source
    hmog5       5    pentagon, radius 2, first at (0, 2)  0.1         10,000   HMoG paper toy (*)
    grid3x3     9    {-1, 0, 1}^2                         sqrt(0.1)    5,000   MM-GAN paper, sec. 4.1: Sigma = 0.1 I
    ring8       8    unit circle, first at (1, 0)         0.01       100,000   PacGAN / VEEGAN ring
    grid25     25    {-4, -2, 0, 2, 4}^2                  0.05       100,000   PacGAN / VEEGAN grid

(*) The HMoG paper shows a mixture of 5 Gaussians but gives no means, spread or
weights; the pentagon of radius 2 with std 0.1 and equal weights is our choice.

All toys use equal weights. Grid modes are numbered row-major over (x, y):
mode i*s + j sits at (v[i], v[j]).

    x, labels, spec = toy("ring8", n=2500, seed=0)   # x [n, 2], labels [n] (mode index)
    spec.log_prob(x)                                  # [n], log p(x) under the true mixture
"""
from __future__ import annotations

import math
import numbers
import operator
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True, eq=False)
class ToySpec:
    """The true mixture: means [M, 2], isotropic standard deviation `std`, weights [M] (sum 1)."""

    name: str
    means: Tensor
    std: float
    weights: Tensor

    @property
    def sigma(self):
        raise AttributeError("ToySpec.sigma was renamed ToySpec.std (the standard deviation of every mode)")

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """labels ~ Cat(w), x = mu[labels] + std * eps, eps ~ N(0, I) -> (x [n, 2], labels [n] long)."""
        labels = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        return self.means[labels] + self.std * torch.randn(n, self.means.shape[1], generator=generator), labels

    @property
    def num_modes(self) -> int:
        return self.means.shape[0]

    def log_prob(self, x: Tensor) -> Tensor:
        """log p(x) = logsumexp_k [log w_k - |x - mu_k|^2 / (2 std^2) - log(2 pi std^2)]; x [n, 2] -> [n]."""
        mu = self.means.to(x.device, x.dtype)
        logw = self.weights.to(x.device, x.dtype).log()
        d = x.shape[-1]
        sq = (x[:, None, :] - mu[None]).pow(2).sum(-1)                     # [n, M], exact (no |x|^2 - 2x.mu trick)
        log_norm = -0.5 * d * math.log(2 * math.pi * self.std ** 2)
        return torch.logsumexp(logw - sq / (2 * self.std ** 2) + log_norm, dim=-1)


def _circle(m: int, radius: float, start: float) -> Tensor:
    a = start + 2 * math.pi * torch.arange(m, dtype=torch.float64) / m
    return (radius * torch.stack([a.cos(), a.sin()], dim=1)).float()


def _grid(values: list[float]) -> Tensor:
    v = torch.tensor(values, dtype=torch.float32)
    return torch.cartesian_prod(v, v)                                      # row-major over (x, y)


_MAX_N = 10 ** 8                     # 800 MB of float32 points: more is a mistake

# name -> (means, std, default n)
_TOYS = {
    "hmog5": (lambda: _circle(5, 2.0, math.pi / 2), 0.1, 10_000),
    "grid3x3": (lambda: _grid([-1.0, 0.0, 1.0]), math.sqrt(0.1), 5_000),
    "ring8": (lambda: _circle(8, 1.0, 0.0), 0.01, 100_000),
    "grid25": (lambda: _grid([-4.0, -2.0, 0.0, 2.0, 4.0]), 0.05, 100_000),
}


def toy_names() -> list[str]:
    """The toy names accepted by `toy`."""
    return list(_TOYS)


def toy_spec(name: str) -> ToySpec:
    """The ToySpec of a named toy (no sampling)."""
    if name not in _TOYS:
        raise ValueError(f"unknown toy {name!r}; valid names: {', '.join(_TOYS)}")
    means_fn, std, _ = _TOYS[name]
    means = means_fn()
    weights = torch.full((means.shape[0],), 1.0 / means.shape[0])
    return ToySpec(name=name, means=means, std=float(std), weights=weights)


def toy(name: str, n: int | None = None, seed: int = 0) -> tuple[Tensor, Tensor, ToySpec]:
    """Sample n points of a toy: labels ~ Cat(w), x = mu[labels] + std * eps, eps ~ N(0, I) (`ToySpec.sample`).

    Returns x FloatTensor [n, 2], labels LongTensor [n] (mode index), spec.
    Seeded with a local torch.Generator: the global RNG is never touched.
    """
    spec = toy_spec(name)
    if n is None:
        n = _TOYS[name][2]
    try:
        n_int = operator.index(n)
    except TypeError:
        n_int = 0
    if isinstance(n, bool) or n_int <= 0:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if n > _MAX_N:
        raise ValueError(f"n must be at most {_MAX_N:,} points, got {n!r}")
    n = n_int
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    if not 0 <= seed < 2 ** 63:
        raise ValueError(f"seed must be in [0, 2**63), got {seed!r}")
    g = torch.Generator().manual_seed(int(seed))
    x, labels = spec.sample(n, generator=g)
    return x, labels, spec
