"""Image grids and interpretability figures: tree figure, gating correlations, scale trade-off curves."""
__all__ = []


# ============================================================================ image training (notebook 03)
# Sample grids and loss curves of a training run (`mixgan.train.fit` history).
import matplotlib.pyplot as plt
import torch

__all__ += ["image_grid", "loss_curves"]


def image_grid(x, nrow=8, title=None, ax=None, padding=2):
    """Images x [n, C, H, W] in [-1, 1] as one grid (torchvision's make_grid) -> Figure."""
    from torchvision.utils import make_grid
    x = torch.as_tensor(x).detach().float().cpu()
    if x.dim() != 4:
        raise ValueError(f"image_grid expects images [n, C, H, W], got shape {tuple(x.shape)}")
    grid = make_grid(x, nrow=nrow, padding=padding, normalize=True, value_range=(-1, 1), pad_value=1.0)
    if ax is None:
        rows = (len(x) + nrow - 1) // nrow
        _, ax = plt.subplots(figsize=(min(nrow, 12) * 0.6 + 0.2, rows * 0.6 + (0.5 if title else 0.2)))
    ax.imshow(grid.permute(1, 2, 0).numpy(), interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)
    return ax.figure


def loss_curves(history, title=None, ax=None):
    """Critic / discriminator and generator losses against the step of a ``fit`` history
    (dict with lists "step", "d_loss", "g_loss") -> Figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    ax.plot(history["step"], history["d_loss"], label="D / critic loss")
    ax.plot(history["step"], history["g_loss"], label="G loss")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("generator step")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=10)
    ax.figure.tight_layout()
    return ax.figure
# ============================================================================ end of image training


# ============================================================================ interpretability
# Tree figure (HMoG paper Fig. 12–13), gating correlations (Fig. 11), the quality–diversity trade-off of
# the prior's scale (MM-GAN paper Fig. 4.5),
# image rows / panels for leaves, clusters, truncation. Data come from `mixgan.analysis`.
from itertools import cycle as _cycle

import matplotlib.pyplot as _plt
import numpy as _np
from matplotlib.colors import to_hex as _to_hex
import torch as _torch

__all__ += ["to_display", "tree_figure", "leaf_samples_figure", "correlation_heatmaps",
            "scale_tradeoff_plot", "model_colours", "image_rows", "image_panels"]


def to_display(img):
    """One image [C, H, W] in [-1, 1] -> numpy [H, W] (grey) or [H, W, 3] in [0, 1] for imshow."""
    a = ((_torch.as_tensor(img).detach().float().cpu().clamp(-1, 1) + 1) / 2).numpy()
    return a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)


def _put(ax, img, cx, cy, size):
    """Draw one image centred at (cx, cy), `size` data units wide."""
    h = size / 2
    ax.imshow(to_display(img), extent=(cx - h, cx + h, cy - h, cy + h), cmap="gray", vmin=0, vmax=1,
              interpolation="nearest")


def tree_figure(summary, title=None, size=0.9, unit=0.55, show_usage=True):
    """The HMoG tree figure (paper Fig. 12–13) from `analysis.tree_summary(model)`.

    One row per level: every node's average response r_m = Σ_b p_bm x_b / Σ_b p_bm, centred
    under its parent (node i of level l at x = (i + ½)·K/arity^l), lines parent -> child;
    under each leaf, its top samples (highest P(leaf | z) of the n latents) stacked downwards,
    and the leaf's mean usage E_z P(leaf | z) in %. Any arity, depth up to ~5.
    `size`: image width in leaf columns; `unit`: inches per leaf column.
    """
    levels, leaf_x = summary["levels"], summary["leaf_x"]
    K, top, depth = leaf_x.shape[0], leaf_x.shape[1], len(levels) - 1
    row = 1.35                                                      # vertical distance between levels
    y_leaf = -depth * row
    y_top = y_leaf - size - (0.5 if show_usage else 0.3)           # centre of the first leaf sample
    y_bottom = y_top - (top - 0.5) * (size + 0.08)
    fig, ax = _plt.subplots(figsize=(max(4.0, K * unit), (0.5 - y_bottom) * unit + 0.4))
    for l, resp in enumerate(levels):
        span = K / len(resp)
        for i, img in enumerate(resp):
            cx, cy = (i + 0.5) * span, -l * row
            _put(ax, img, cx, cy, size)
            if l > 0:
                px = (i // (len(resp) // len(levels[l - 1])) + 0.5) * K / len(levels[l - 1])
                ax.plot([px, cx], [cy + row - size / 2, cy + size / 2], color="0.6", lw=0.7, zorder=0)
    for k in range(K):
        cx = k + 0.5
        for j in range(top):
            _put(ax, leaf_x[k, j], cx, y_top - j * (size + 0.08), size)
        label = f"{k}" + (f"\n{100 * float(summary['leaf_usage'][k]):.0f}%" if show_usage else "")
        ax.text(cx, y_leaf - size / 2 - 0.03, label, ha="center", va="top", fontsize=7, color="0.2")
    ax.set_xlim(0, K)
    ax.set_ylim(y_bottom, size / 2 + 0.1)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title or f"average response of every node (depth {depth}, arity {summary['arity']}); "
                 f"top {top} samples per leaf", fontsize=9)
    fig.tight_layout()
    return fig


def image_rows(groups, labels=None, title=None, unit=0.6):
    """Rows of images: groups [R, m, C, H, W] (or a list of [m_r, C, H, W]); row r labelled labels[r]."""
    R = len(groups)
    m = max(len(g) for g in groups) if R else 0
    fig, ax = _plt.subplots(figsize=(max(3.0, (m + 1) * unit), max(1.0, R * unit) + 0.4))
    for r, g in enumerate(groups):
        for j, img in enumerate(g):
            _put(ax, img, j + 0.5, -r - 0.5, 0.94)
        if labels is not None:
            ax.text(-0.1, -r - 0.5, str(labels[r]), ha="right", va="center", fontsize=8)
    ax.set_xlim(-1 if labels is not None else 0, m)
    ax.set_ylim(-R, 0)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def leaf_samples_figure(summary, leaf):
    """One leaf's top samples from a `tree_summary`, titled with P(leaf | z) of each."""
    from ..analysis import leaf_samples
    x, p = leaf_samples(summary, leaf)
    fig, axes = _plt.subplots(1, len(x), figsize=(max(7.5, 1.5 * len(x)), 2.1), squeeze=False)   # >= 600 px wide
    for ax, img, pi in zip(axes[0], x, p):
        ax.imshow(to_display(img), cmap="gray", vmin=0, vmax=1)
        ax.set_title(f"P={float(pi):.2f}", fontsize=9)
        ax.axis("off")
    fig.suptitle(f"leaf {leaf}: usage {100 * float(summary['leaf_usage'][leaf]):.1f}% of z", fontsize=9)
    fig.tight_layout()
    return fig


def image_panels(panels, nrow=8, unit=2.6):
    """Side-by-side `image_grid`s: panels {title: images [n, C, H, W] in [-1, 1]}, `nrow` per row;
    each panel `unit` inches wide."""
    n = len(next(iter(panels.values())))
    rows, cols = (n + nrow - 1) // nrow, min(n, nrow)
    fig, axes = _plt.subplots(1, len(panels), figsize=(unit * len(panels), unit * rows / cols + 0.5), squeeze=False)
    for ax, (name, x) in zip(axes[0], panels.items()):
        image_grid(x, nrow=nrow, title=str(name), ax=ax, padding=1)
    fig.tight_layout()
    return fig


def correlation_heatmaps(corrs, blocks=(2, 4), kind="positive", annotate=False):
    """K×K gating correlation matrices side by side (HMoG Fig. 11), e.g. {"MoG": C1, "HMoG": C2}.

    Leaves in tree order; thin lines mark the diagonal blocks of size max(blocks); each title
    gives `analysis.block_mass_ratio` for every block size (chance level in brackets).
    """
    import seaborn as sns

    from ..analysis import block_chance, block_mass_ratio
    fig, axes = _plt.subplots(1, len(corrs), figsize=(4.3 * len(corrs), 3.9), squeeze=False)
    for ax, (name, c) in zip(axes[0], corrs.items()):
        c = _np.asarray(c)
        K = len(c)
        sns.heatmap(c, ax=ax, vmin=-1, vmax=1, cmap="RdBu_r", square=True, annot=annotate, fmt=".1f",
                    cbar_kws=dict(shrink=0.8), xticklabels=max(1, K // 8), yticklabels=max(1, K // 8))
        bs = [b for b in blocks if K % b == 0]
        if bs:
            for t in range(0, K + 1, max(bs)):
                ax.axhline(t, color="k", lw=0.4)
                ax.axvline(t, color="k", lw=0.4)
        stats = ", ".join(f"{b}×{b}: {block_mass_ratio(c, b, kind):.2f} ({block_chance(K, b):.2f})" for b in bs)
        ax.set_title(f"{name}\nblock mass {stats}" if bs else str(name), fontsize=9)
        ax.set_xlabel("leaf")
        ax.set_ylabel("leaf")
    fig.tight_layout()
    return fig


# One colour per model family, the same in every figure ("MM-GAN", "mmgan" and "mm_gan" are one family).
MODEL_COLOURS = {"gan": "tab:blue", "mmgan": "tab:orange", "hmog": "tab:green", "mog": "tab:red"}


def model_colours(names):
    """{name: colour} for model names: the fixed `MODEL_COLOURS` colour of a known family (the name
    lower-cased, without "-", "_" or spaces), else the unused tab10 colours in sorted order of the other
    names, so a name's colour does not depend on the order of the rows."""
    names = list(dict.fromkeys(names))
    key = {n: "".join(ch for ch in str(n).lower() if ch.isalnum()) for n in names}
    out = {n: MODEL_COLOURS[key[n]] for n in names if key[n] in MODEL_COLOURS}
    spare = [c for c in _plt.cm.tab10.colors if _to_hex(c) not in {_to_hex(v) for v in MODEL_COLOURS.values()}]
    for n, c in zip(sorted((n for n in names if n not in out), key=str), _cycle(spare)):
        out[n] = c
    return out


def scale_tradeoff_plot(rows, keys=("quality", "diversity"), title=None):
    """Quality and diversity against the prior's post-training scale s (MM-GAN paper Fig. 4.5): one panel
    per key, one line per model in its fixed colour (`model_colours`: a GAN is blue, an MM-GAN orange in
    every plot), error bars = standard error over runs. rows: `analysis.scale_tradeoff` output (tidy dicts
    with model, run, scale and the keys)."""
    from ..analysis import summarize
    if not rows:
        raise ValueError("scale_tradeoff_plot: no rows to plot")
    s = summarize(rows, keys, by=("model", "scale"))
    fig, axes = _plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.3), squeeze=False)
    models = list(dict.fromkeys(r["model"] for r in s))
    colour = model_colours(models)
    family = list(MODEL_COLOURS.values())                     # known families first, in a fixed legend order
    models.sort(key=lambda m: family.index(colour[m]) if colour[m] in family else len(family))
    for ax, k in zip(axes[0], keys):
        for m in models:
            rs = sorted((r for r in s if r["model"] == m), key=lambda r: r["scale"])
            ax.errorbar([r["scale"] for r in rs], [r[k + "_mean"] for r in rs], yerr=[r[k + "_sem"] for r in rs],
                        marker="o", ms=3, capsize=2, label=m, color=colour[m])
        ax.axvline(1.0, color="0.7", lw=0.8, ls="--")
        ax.set_xlabel("scale s of the prior's covariance (after training)")
        ax.set_ylabel(k)
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


__all__ += ["self_training_plot"]


def self_training_plot(runs, keys=("acc", "nmi"), title=None):
    """Clustering scores after each self-training round: one panel per key, one line per run
    (round 0 = Algorithm 2 alone, or k-means for a control without a GAN: dashed), and the runs' k-means
    scores as dotted dark-grey reference lines (one per distinct value, so runs that share a k-means
    score share its line; grey so no run's colour is mistaken for it). runs: {label: a
    `benchmarks/analysis_targets.py cluster` result dict with "mmgan", "mmgan_selftrain" and "kmeans"
    (a control: "start", "kmeans_selftrain")}; runs without rounds are skipped."""
    from ..analysis import selftrain_curve
    fig, axes = _plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.3), squeeze=False)
    runs = {label: r for label, r in runs.items() if len(selftrain_curve(r)) > 1}
    colours = _plt.cm.tab10.colors if len(runs) <= 10 else _plt.cm.tab20.colors
    for ax, k in zip(axes[0], keys):
        drawn = set()                                                 # k-means values with a line already
        for (label, r), colour in zip(runs.items(), _cycle(colours)):
            ys = [s[k] for s in selftrain_curve(r)]
            ax.plot(range(len(ys)), ys, marker="o", ms=3, label=label, color=colour,
                    ls="--" if r.get("start") == "kmeans" else "-")
            if r["kmeans"][k] not in drawn:
                ax.axhline(r["kmeans"][k], color="0.25", lw=1.0, ls=":",
                           label=None if drawn else "k-means on the pixels")
                drawn.add(r["kmeans"][k])
        ax.set_xlabel("self-training round")
        ax.set_ylabel(k.upper())
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))     # beside the plots
    fig.text(0.5, -0.03, "round 0: Algorithm 2 (solid lines) or, for a control without a GAN (dashed), "
             "k-means on the pixels", ha="center", va="top", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
