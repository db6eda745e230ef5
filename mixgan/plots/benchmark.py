"""HMoG paper Fig. 9: 5-NN real / fake accuracy and FID against parameter count."""
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["fig9_plot"]


def fig9_plot(rows, title=None):
    """rows: dicts with model, K, params, fid, knn_real, knn_fake (several seeds allowed).
    One line per model over K; points are mean ± one std over seeds -> Figure."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for name in dict.fromkeys(r["model"] for r in rows):
        mine = [r for r in rows if r["model"] == name]
        Ks = sorted({r["K"] for r in mine})
        for ax, key in zip(axes, ("knn_real", "knn_fake", "fid")):
            x = [np.mean([r["params"] for r in mine if r["K"] == K]) for K in Ks]
            v = [[r[key] for r in mine if r["K"] == K] for K in Ks]
            ax.errorbar(x, [np.mean(a) for a in v], yerr=[np.std(a) for a in v], marker="o",
                        capsize=3, label=name)
    for ax, lab in zip(axes, ("5-NN real accuracy (0.5 ideal)", "5-NN fake accuracy (0.5 ideal)", "FID (lower is better)")):
        ax.set_xscale("log")
        ax.set_xlabel("parameters (without the shared body)")
        ax.set_title(lab, fontsize=10)
    axes[0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
