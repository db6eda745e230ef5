"""HMoG paper Fig. 9: 5-NN real / fake accuracy and FID against parameter count."""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

__all__ = ["fig9_plot"]

ACC_YLIM = (0.4, 1.02)          # the accuracy panels: the ideal 0.5 and the worst case 1 both in view
_KEYS = ("model", "K", "params", "fid", "knn_real", "knn_fake")


def _short(v, _pos=None):
    """A parameter count as a short tick label: 50000 -> '50k', 2000000 -> '2M'."""
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            return f"{v / div:g}{unit}"
    return f"{v:g}"


def fig9_plot(rows, title=None, fid_zoom=None):
    """rows: dicts with model, K, params, fid, knn_real, knn_fake (several seeds allowed).
    One line per model over K; points are mean ± one std over seeds -> Figure.

    Panels: 5-NN real and fake accuracy (y from 0.4 to 1.02, the ideal 0.5 dashed) and FID, all
    against the parameter count on a log x-axis ticked at 1, 2 and 4 × 10^n ('40k', '1M').
    fid_zoom: model names; adds a fourth panel with the FID of only those models, on its own
    y-range, so that differences of a few units between close models can be read."""
    rows = list(rows)
    if not rows:
        raise ValueError("fig9_plot: no rows")
    missing = [k for k in _KEYS if k not in rows[0]]
    if missing:
        raise ValueError(f"fig9_plot: rows lack {missing}")
    names = list(dict.fromkeys(r["model"] for r in rows))
    zoom = list(fid_zoom or [])
    if zoom and not set(zoom) <= set(names):
        raise ValueError(f"fig9_plot: fid_zoom {sorted(set(zoom) - set(names))} not among the models {names}")
    panels = [("knn_real", "5-NN real accuracy (0.5 ideal)"), ("knn_fake", "5-NN fake accuracy (0.5 ideal)"),
              ("fid", "FID (lower is better)")]
    if zoom:
        panels.append(("fid", f"FID of {', '.join(zoom)} only"))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.8))
    colors = {name: f"C{i}" for i, name in enumerate(names)}
    for j, (ax, (key, _)) in enumerate(zip(axes, panels)):
        for name in names if j < 3 else zoom:
            mine = [r for r in rows if r["model"] == name]
            Ks = sorted({r["K"] for r in mine})
            x = [np.mean([r["params"] for r in mine if r["K"] == K]) for K in Ks]
            v = [[r[key] for r in mine if r["K"] == K] for K in Ks]
            ax.errorbar(x, [np.mean(a) for a in v], yerr=[np.std(a) for a in v], marker="o", capsize=3,
                        color=colors[name], label=name)
    for ax, (key, lab) in zip(axes, panels):
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1, 2, 4)))
        ax.xaxis.set_major_formatter(FuncFormatter(_short))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("parameters (without the shared body)")
        ax.set_title(lab, fontsize=10)
        if key.startswith("knn"):
            ax.set_ylim(*ACC_YLIM)
            ax.axhline(0.5, color="gray", ls="--", lw=1)
    axes[0].legend(fontsize=8, loc="best")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
