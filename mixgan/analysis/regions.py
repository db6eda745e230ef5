"""Which generator makes which part of a 2-D toy: latent-plane regions and mode counts per component.

    z, extent = z_grid(3.0, 200)          # a regular grid over the latent plane
    regions(model, z)                     # [n*n] generator / leaf index of each z (HMoG paper Fig. 6–8)
    component_modes(model, spec)          # [K, M] counts: component k's samples nearest to true mode m
"""
from __future__ import annotations

import math

import torch

from ..utils import seeded


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
    with seeded(seed):
        x, k = model.sample(n, return_index=True)
    if k is None:
        raise ValueError(f"model {model.cfg.name!r} has no component index to split samples by")
    near = torch.cdist(x.float().cpu(), spec.means.float()).argmin(1)
    K, M = int(model.prior.K if model.cfg.prior == "gmm" else k.max() + 1), spec.num_modes
    return torch.bincount(k.cpu() * M + near, minlength=K * M).view(K, M)
