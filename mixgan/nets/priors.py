"""Latent priors p(z).

Every prior has ``sample(n, scale=1.0, k=None) -> (z [n, d], k [n])`` where ``k`` is
the mixture component (always 0 for ``Normal``) and ``scale`` multiplies the
covariance after training (the quality–diversity trade-off of the MM-GAN paper, sec. 4.3):

    z | k ~ N(μ_k, scale · Σ_k)      i.e.   z = μ_k + sqrt(scale) · A_k ε,  ε ~ N(0, I)

and ``log_prob(z) -> [n]`` (used for truncation: drop the least likely z).
"""
import math

import torch
import torch.nn as nn

from . import noise


def _check_positive(name, value):
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")


class Normal(nn.Module):
    """Standard normal prior N(0, I_d)."""

    def __init__(self, d):
        super().__init__()
        if int(d) < 1:
            raise ValueError(f"latent dimension d must be >= 1, got {d}")
        self.d, self.K = int(d), 1
        self.register_buffer("_dev", torch.zeros(()), persistent=False)

    def sample(self, n, scale=1.0, k=None, generator=None):
        _check_positive("scale", scale)
        z = noise.randn(n, self.d, device=self._dev.device, generator=generator) * math.sqrt(scale)
        return z, torch.zeros(n, dtype=torch.long, device=z.device)

    def log_prob(self, z):
        return -0.5 * (z.pow(2).sum(1) + self.d * math.log(2 * math.pi))


class GaussianMixture(nn.Module):
    """Uniform mixture of K Gaussians (MM-GAN paper, sec. 2.1).

    static  (learn="none"): μ_k ~ U[-c, c]^d fixed, Σ_k = var · I (`var` a variance: A_k = √var).
    dynamic (learn="diag" / "full"): μ_k and A_k learned, Σ_k = A_k A_kᵀ, sampled by
    reparameterisation z = μ_k + A_k ε so gradients reach μ and A (MM-GAN paper, sec. 2.1.2).
    """

    def __init__(self, K, d, c=0.1, var=0.15, learn="none", seed=None, *, sigma=None):
        super().__init__()
        if sigma is not None:
            raise TypeError("GaussianMixture: `sigma=` was renamed `var=` (the variance of Σ_k = var · I)")
        if int(K) < 1:
            raise ValueError(f"number of mixture components K must be >= 1, got {K}")
        _check_positive("var", var)
        _check_positive("c", c)
        if learn not in ("none", "diag", "full"):
            raise ValueError(f"learn must be 'none', 'diag' or 'full', got {learn!r}")
        self.K, self.d, self.learn, self.var = int(K), int(d), learn, float(var)
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        mu = (torch.rand(K, d, generator=g) * 2 - 1) * c
        std = math.sqrt(var)
        if learn == "none":
            self.register_buffer("mu", mu)
            self.register_buffer("A", torch.full((K, d), std))
        elif learn == "diag":
            self.mu = nn.Parameter(mu)
            self.A = nn.Parameter(torch.full((K, d), std))
        else:
            self.mu = nn.Parameter(mu)
            self.A = nn.Parameter(std * torch.eye(d).repeat(K, 1, 1))

    def transform(self, eps, k):
        """z = μ_k + A_k ε for a batch; eps [n, d], k [n] -> z [n, d]."""
        if self.A.dim() == 3:  # full A_k
            return self.mu[k] + torch.einsum("nij,nj->ni", self.A[k], eps)
        return self.mu[k] + self.A[k] * eps

    def mix(self, y, eps):
        """Soft indexing used by the encoder model: z = Σ_k y_k (μ_k + A_k ε); y [n, K]."""
        if self.A.dim() == 3:
            comp = self.mu + torch.einsum("kij,nj->nki", self.A, eps)
        else:
            comp = self.mu + self.A * eps[:, None, :]
        return torch.einsum("nk,nkd->nd", y, comp)

    def sample(self, n, scale=1.0, k=None, generator=None):
        _check_positive("scale", scale)
        dev = self.mu.device
        if k is None:
            k = noise.randint(self.K, n, device=dev, generator=generator)
        else:
            k = torch.as_tensor(k, dtype=torch.long, device=dev).expand(n)
        eps = noise.randn(n, self.d, device=dev, generator=generator) * math.sqrt(scale)
        return self.transform(eps, k), k

    def covariance(self):
        """Σ_k, [K, d, d]."""
        A = self.A if self.A.dim() == 3 else torch.diag_embed(self.A)
        return A @ A.transpose(1, 2)

    def log_prob(self, z):
        """log Σ_k (1/K) N(z; μ_k, Σ_k), [n]."""
        comp = torch.distributions.MultivariateNormal(self.mu, covariance_matrix=self.covariance())
        lp = comp.log_prob(z[:, None, :])  # [n, K]
        return torch.logsumexp(lp, 1) - math.log(self.K)

    def extra_repr(self):
        return f"K={self.K}, d={self.d}, learn={self.learn!r}, var={self.var}"


def truncate(prior, n, keep=0.75, scale=1.0, oversample=None):
    """Sample n latents keeping only the most likely `keep` fraction (HMoG paper §IV-B:
    "disregard the least likely 25 %"). Draws n/keep candidates, returns the n best."""
    if not 0 < keep <= 1:
        raise ValueError(f"keep must be in (0, 1], got {keep}")
    m = oversample or math.ceil(n / keep)
    z, k = prior.sample(m, scale=scale)
    with torch.no_grad():
        idx = prior.log_prob(z).topk(n).indices
    return z[idx], k[idx]
