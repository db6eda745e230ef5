"""The tree and its gates: node responses, leaf samples, gating correlations, block mass.

    s = tree_summary(model)            # node responses + top samples per leaf (HMoG paper Fig. 12–13)
    C = gating_correlation(model)      # K×K correlation of the leaf probabilities (Fig. 11)
    block_mass_ratio(C, 4)             # share of it in the 4×4 diagonal blocks

Works for a SoftTree head (HMoG) and a SoftMixture (MoG = a tree of depth 1); the gating
correlation also for the gated head of MEGAN.
"""
from __future__ import annotations

import numpy as np
import torch

from .latents import batches, sample_latents


def _gated_head(model):
    if not hasattr(model.head, "gates"):
        raise ValueError(f"model {model.cfg.name!r} has a {type(model.head).__name__} head without gates; "
                         "gating analysis needs a SoftTree (hmog), SoftMixture (mog) or GatedHead (megan)")
    return model.head


def weighted_sums(x, levels):
    """Per node: numerator Σ_b p_bm x_b [n_l, *S] and denominator Σ_b p_bm [n_l], for every level.

    x [B, *S] samples, levels: list of path probabilities [B, n_l] (``head.node_probs(z)``).
    """
    flat = x.flatten(1)
    return [(p.T @ flat).view(p.shape[1], *x.shape[1:]) for p in levels], [p.sum(0) for p in levels]


def node_responses(x, levels):
    """Average response of every node: r_m = Σ_b p_bm x_b / Σ_b p_bm (HMoG Fig. 12–13).

    x [B, *S], levels list of [B, n_l] path probabilities -> list of [n_l, *S], one per level.
    p_bm is the product of the gates on the path from the root to node m for sample b.
    """
    nums, dens = weighted_sums(x, levels)
    return [num / den.view(-1, *[1] * (num.dim() - 1)) for num, den in zip(nums, dens)]


@torch.no_grad()
def tree_summary(model, n=10_000, top=5, seed=0, batch=1000):
    """Everything the tree figure shows, from n latents z ~ prior (fixed seed):

    levels     list of [arity**l, *S]: the average response of every node, level by level
    leaf_x     [K, top, *S]: for each leaf, the samples of the `top` z (of n) with the highest
               leaf probability P(leaf | z)
    leaf_p     [K, top]: those probabilities;  leaf_usage [K]: mean_z P(leaf | z)
    arity, depth

    Works for SoftTree (HMoG) and SoftMixture (MoG = a depth-1 tree). Streams over batches of
    `batch` latents, so memory does not grow with n.
    """
    head = _gated_head(model)
    if not hasattr(head, "node_probs"):
        raise ValueError(f"the tree figure needs a soft tree head (hmog / mog), got {type(head).__name__}")
    model.eval()
    z, _ = sample_latents(model, n, seed=seed)
    nums, dens, gates = None, None, []
    for s, e in batches(n, batch):
        levels = head.node_probs(z[s:e])
        x, _ = model.generate(z[s:e])
        num, den = weighted_sums(x, levels)
        nums = num if nums is None else [a + b for a, b in zip(nums, num)]
        dens = den if dens is None else [a + b for a, b in zip(dens, den)]
        gates.append(levels[-1])
    gates = torch.cat(gates)                                        # [n, K]
    resp = [a / b.view(-1, *[1] * (a.dim() - 1)) for a, b in zip(nums, dens)]
    p, idx = gates.topk(top, dim=0)                                 # [top, K]
    x_top, _ = model.generate(z[idx.T.reshape(-1)])
    K = gates.shape[1]
    return dict(levels=[r.cpu() for r in resp], leaf_x=x_top.view(K, top, *x_top.shape[1:]).cpu(),
                leaf_p=p.T.cpu(), leaf_usage=gates.mean(0).cpu(), arity=head.arity, depth=head.depth)


def leaf_samples(summary, leaf):
    """The top samples of one leaf from a `tree_summary`: (x [top, *S], P(leaf | z) [top])."""
    K = summary["leaf_x"].shape[0]
    if not 0 <= leaf < K:
        raise ValueError(f"leaf must be in [0, {K - 1}], got {leaf}")
    return summary["leaf_x"][leaf], summary["leaf_p"][leaf]


# ----------------------------------------------------------------------------- gating correlations


@torch.no_grad()
def leaf_probs(model, n=10_000, seed=0, batch=5000):
    """Gates P(leaf | z) [n, K] for n latents z ~ prior (fixed seed)."""
    head = _gated_head(model)
    model.eval()
    z, _ = sample_latents(model, n, seed=seed)
    return torch.cat([head.gates(z[s:e]) for s, e in batches(n, batch)]).cpu()


def correlation(gates):
    """Pearson correlation of the columns of gates [n, K] -> [K, K] numpy (np.corrcoef).

    A leaf whose probability never varies has no defined correlation: its row and column are
    set to 0 and its diagonal entry to 1, so the matrix stays symmetric with a unit diagonal.
    """
    g = torch.as_tensor(gates).double().cpu().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.corrcoef(g, rowvar=False)
    c = np.nan_to_num(c, nan=0.0)
    np.fill_diagonal(c, 1.0)
    return c


def gating_correlation(model, n=10_000, seed=0):
    """K×K correlation matrix of the leaf probabilities over n latents z ~ prior (HMoG Fig. 11).

        C_ij = corr_z( P(leaf i | z), P(leaf j | z) )

    Leaves keep their position in the tree (breadth-first: the children of node m are
    m·arity … m·arity + arity − 1), so siblings are neighbours on the diagonal.
    """
    return correlation(leaf_probs(model, n, seed))


def block_mass_ratio(corr, block, kind="positive"):
    """Share of the off-diagonal correlation mass inside the diagonal blocks of size `block`.

        w_ij = max(C_ij, 0)  (kind="positive": leaves used *together*)   or |C_ij|  (kind="abs")
        ratio = Σ_{i≠j, ⌊i/b⌋=⌊j/b⌋} w_ij / Σ_{i≠j} w_ij

    For a depth-4 binary tree, blocks of 2 are siblings and blocks of 4 the subtrees of depth 2.
    Mass spread evenly over the matrix gives the chance level (b − 1)/(K − 1) (`block_chance`);
    a tree whose nearby leaves are used together scores above it. Returns nan when w is all 0.
    """
    c = np.asarray(corr, dtype=float)
    K = c.shape[0]
    if c.ndim != 2 or c.shape[1] != K:
        raise ValueError(f"corr must be a square matrix, got shape {c.shape}")
    if block < 1 or K % block:
        raise ValueError(f"block size {block} must divide K = {K}")
    if kind not in ("positive", "abs"):
        raise ValueError(f"kind must be 'positive' or 'abs', got {kind!r}")
    w = np.clip(c, 0, None) if kind == "positive" else np.abs(c)
    i = np.arange(K)
    off = i[:, None] != i[None, :]
    same = (i[:, None] // block == i[None, :] // block) & off
    total = w[off].sum()
    return float(w[same].sum() / total) if total > 0 else float("nan")


def block_chance(K, block):
    """The block-mass ratio of a matrix with equal off-diagonal entries: (b − 1)/(K − 1)."""
    return (block - 1) / (K - 1)


def block_mass_table(corrs, blocks=(2, 4), kinds=("positive",)):
    """Rows dict(model, block, kind, ratio, chance) for a dict {name: K×K correlation matrix}."""
    return [dict(model=name, block=b, kind=k, ratio=block_mass_ratio(c, b, k), chance=block_chance(len(c), b))
            for name, c in corrs.items() for k in kinds for b in blocks]
