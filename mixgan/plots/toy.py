"""Toy figures: z-plane region maps, per-generator panels, scatter by component, curves.

    region_map(model, spec)                    # HMoG paper Fig. 6–8
    scatter_by_component(model, x_real)        # MM-GAN paper Fig. 4.1
    curves({"GAN": h1, "MM-GAN": h2}, "nll")   # MM-GAN paper Fig. 4.3

Every function returns the matplotlib Figure it drew (and draws into ``ax`` when given).
"""
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import ListedColormap

from ..analysis.regions import regions, z_grid
from ..utils import seeded

__all__ = ["REAL_COLOUR", "palette", "region_map", "scatter_by_component", "curves"]


#: colour of the real data in every toy figure: a light grey, drawn underneath the samples
REAL_COLOUR = "0.78"


def palette(K):
    """K distinct RGBA colours [K, 4] for generators / components, none of them grey (grey is
    the real data's colour, REAL_COLOUR).  K <= 9: tab10 without its grey; K <= 18: then
    tab20's nine light shades without grey; more: K hues evenly spaced on the hsv wheel."""
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 1:
        raise ValueError(f"K must be a whole number >= 1, got {K!r}")
    if K <= 18:
        tab20 = plt.get_cmap("tab20")(np.arange(20))       # dark/light pairs; pair 7 is grey
        dark, light = np.delete(tab20[0::2], 7, 0), np.delete(tab20[1::2], 7, 0)
        return np.concatenate([dark, light])[:K]
    return plt.get_cmap("hsv")(np.arange(K) / K)


def _real_points(spec_or_data, n, seed=0):
    """x_real [n, 2] as numpy: the given tensor (first n rows) or n draws from a ToySpec."""
    if isinstance(spec_or_data, torch.Tensor):
        return spec_or_data[:n].float().cpu().numpy()
    x, _ = spec_or_data.sample(n, generator=torch.Generator().manual_seed(seed))
    return x.numpy()


def _real(ax, xr, s=6):
    """The real points xr [n, 2] as small light-grey dots underneath everything else."""
    ax.scatter(xr[:, 0], xr[:, 1], c=REAL_COLOUR, s=s, lw=0, label="real", zorder=1)


@torch.no_grad()
def _generated(model, n, seed, level):
    """(x [m, 2], colour index [m], generator index [m]) for z ~ p(z).  Multi heads run
    every generator on n // K latents (each z maps to K points); the others draw one x per z."""
    K = model.head.K
    with seeded(seed):
        z, _ = model.prior.sample(n // K if model.cfg.head == "multi" else n)
    was = model.training
    model.eval()
    try:
        c = regions(model, z, level)
        if model.cfg.head == "multi":
            B = len(z)
            gen = torch.arange(K).repeat_interleave(B)
            x, _ = model.generate(z.repeat(K, 1), index=gen.to(model.device))
            c = c.repeat(K)
        else:
            x, gen = model.generate(z)
            gen = c if gen is None else gen.cpu()
    finally:
        model.train(was)
    return x.cpu().numpy(), c.numpy(), gen.numpy()


def region_map(model, spec_or_data, n=2000, lim=3.0, res=200, level=None, seed=0,
               n_real=1000, title=None, figsize=None):
    """HMoG paper Fig. 6–8 for a model with 2-D z.

    Top left: generated x = G(z), z ~ N(0, I), coloured by the region of their z, drawn over
    the real data (light-grey dots, REAL_COLOUR).  Top right: the z-plane [-lim, lim]² coloured by region
    (``toys.regions``: argmax gates(z) for tree / mixture / gated heads, a fixed angular
    partition for heads without gates, whose colours then reappear once per generator).
    Bottom: one small panel per generator k with the points it makes (soft heads: x of
    the z whose most probable leaf is k; multi heads: G_k(z) for all z; gated: the z it
    is chosen for).  ``level`` colours a SoftTree by its nodes at that depth instead.
    """
    if model.z_dim != 2:
        raise ValueError(f"region_map needs a model with 2-D z, got z_dim={model.z_dim}")
    xr = _real_points(spec_or_data, n_real, seed)
    x, c, gen = _generated(model, n, seed, level)
    zg, extent = z_grid(lim, res)
    zc = regions(model, zg, level).numpy().reshape(res, res)
    C = model.head.arity ** level if level is not None else max(model.head.K, 8 * (model.head.K == 1))
    cols = palette(C)
    K = model.head.K if level is None else 1          # small panels: one per generator
    fig = plt.figure(figsize=figsize or (max(9, 1.25 * K), 6.2 if K > 1 else 4.6))
    gs = fig.add_gridspec(2 if K > 1 else 1, max(K, 2), height_ratios=[3, 1.1] if K > 1 else None,
                          hspace=0.3, wspace=0.25)
    half = max(K, 2) // 2
    ax_x = fig.add_subplot(gs[0, :half])
    ax_z = fig.add_subplot(gs[0, half:])
    _real(ax_x, xr)
    ax_x.scatter(x[:, 0], x[:, 1], c=cols[c], s=4, alpha=0.8, zorder=2)
    ax_x.set_title("x = G(z), coloured by region of z")
    ax_x.set_aspect("equal", "datalim")
    ax_z.imshow(zc, origin="lower", extent=extent, cmap=ListedColormap(cols), vmin=-0.5,
                vmax=C - 0.5, interpolation="nearest", alpha=0.85)
    ax_z.set_title("z-plane: " + (f"node at depth {level}" if level is not None else
                                  "most probable leaf" if hasattr(model.head, "gates") else
                                  "angular regions (no gate)"))
    ax_z.set_xlabel("z1")
    ax_z.set_ylabel("z2")
    lo, hi = ax_x.get_xlim(), ax_x.get_ylim()
    if K > 1:
        for k in range(K):
            ax = fig.add_subplot(gs[1, k])
            _real(ax, xr, s=2)
            sel = gen == k
            ax.scatter(x[sel, 0], x[sel, 1], c=cols[c[sel]], s=2, zorder=2)
            ax.set_title(f"G{k + 1}  ({sel.mean():.0%})", fontsize=8)
            ax.set_xlim(lo)
            ax.set_ylim(hi)
            ax.set_xticks([])
            ax.set_yticks([])
    fig.suptitle(title or f"{model.cfg.name}: how p(z) is split over generators")
    return fig


def scatter_by_component(model, x_real, n=2000, scale=1.0, labels=None, seed=0, ax=None,
                         title=None, n_real=2000):
    """MM-GAN paper Fig. 4.1: real data in light grey underneath, n samples coloured by the component they
    came from (GMM Gaussian k, AC-GAN class, or generator; one colour when there is none).
    labels: optional [K] -> display group (e.g. the supervised mapping f, to colour by class)."""
    with seeded(seed):
        x, k = model.sample(n, scale=scale, return_index=True)
    x = x.cpu().numpy()
    k = np.zeros(len(x), int) if k is None else k.cpu().numpy()
    if labels is not None:
        k = np.asarray(labels)[k]
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 4.5))
    _real(ax, x_real[:n_real].float().cpu().numpy(), s=4)
    ax.scatter(x[:, 0], x[:, 1], c=palette(int(k.max()) + 1)[k], s=4, alpha=0.8, zorder=2)
    ax.set_aspect("equal", "datalim")
    ax.set_title(title or model.cfg.name)
    return ax.figure


def curves(history_by_model, key="nll", ax=None, logy=None, title=None):
    """MM-GAN paper Fig. 4.3: ``key`` of history["eval"] against the training step, one line
    per model.  A value may be one history or a list of histories (seeds): mean ± std."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    for name, hs in history_by_model.items():
        hs = hs if isinstance(hs, (list, tuple)) else [hs]
        steps = [e["step"] for e in hs[0]["eval"]]
        if not steps:
            raise ValueError(f"history of {name!r} has no eval entries: fit it with eval_every and eval_fn")
        v = np.array([[e[key] for e in h["eval"]] for h in hs], dtype=float)
        mean = v.mean(0)
        line, = ax.plot(steps, mean, marker="o", ms=3, label=name)
        if len(hs) > 1:
            ax.fill_between(steps, mean - v.std(0), mean + v.std(0), color=line.get_color(), alpha=0.2)
    if logy or (logy is None and key == "nll"):
        ax.set_yscale("symlog")
    ax.set_xlabel("generator step")
    ax.set_ylabel(key)
    ax.set_title(title or f"{key} during training")
    ax.legend(fontsize=8)
    return ax.figure
