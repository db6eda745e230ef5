"""ipywidgets explorers for the notebooks.  Each one only wires a control to a plain function
(run those headless; nothing is ever asserted through a widget):

    leaf_explorer(summary)      slider over leaves   -> plots.leaf_samples_figure(summary, leaf)
    sigma_explorer(model)       slider over σ        -> analysis.sample_grid_at(model, σ) as a grid
    cluster_explorer(x, pred)   dropdown of clusters -> plots.image_rows of that cluster's images

    display(leaf_explorer(s))   # in JupyterLab

Headless runs (MIXGAN_HEADLESS=1, set by `mixgan.notebook.run` and the test session) get the
control's first position as a static figure and no widget: a kernel that sends widget messages
can leave papermill waiting for a reply it already had until the cell timeout (jupyter/nbclient#312;
seen here twice, the last time 900 s in notebook 07's dropdown cell).
"""
import os

import matplotlib.pyplot as plt
import torch

from . import analysis, plots


def _show(fig):
    from IPython.display import display
    display(fig)
    plt.close(fig)


def headless():
    """True when MIXGAN_HEADLESS is set to a non-empty value other than 0."""
    return os.environ.get("MIXGAN_HEADLESS", "") not in ("", "0")


def _explorer(show, name, first, control):
    """`ipywidgets.interactive(show, name=control(w))`. Headless: show(first) once and return None
    (no widget is created: a widget opens a comm even when it is never displayed)."""
    if headless():
        show(first)
        return None
    import ipywidgets as w
    return w.interactive(show, **{name: control(w)})


def sigma_grid_figure(model, sigma, n=64, seed=0, nrow=8):
    """The σ explorer's figure: `analysis.sample_grid_at(model, σ)` (same noise for every σ)."""
    x = analysis.sample_grid_at(model, sigma, n=n, seed=seed)
    return plots.image_panels({f"σ = {sigma:.1f}": x}, nrow=nrow)


def cluster_figure(x, pred, cluster, m=16):
    """The first m images [m, C, H, W] that were put into `cluster`, as one row."""
    members = torch.as_tensor(x)[torch.as_tensor(pred) == cluster][:m]
    return plots.image_rows([members], labels=[cluster], title=f"cluster {cluster}: first {len(members)} images")


def leaf_explorer(summary):
    """A slider over the leaves of a `analysis.tree_summary`; shows that leaf's top samples."""
    K = summary["leaf_x"].shape[0]
    return _explorer(lambda leaf: _show(plots.leaf_samples_figure(summary, leaf)), "leaf", 0,
                     lambda w: w.IntSlider(0, 0, K - 1, description="leaf"))


def sigma_explorer(model, n=64, seed=0, sigmas=analysis.SIGMAS):
    """A σ slider that re-samples the same noise at covariance scale σ (seed 003 Fig. 4.4)."""
    return _explorer(lambda sigma: _show(sigma_grid_figure(model, sigma, n, seed)), "sigma", 1.0,
                     lambda w: w.SelectionSlider(options=list(sigmas), value=1.0, description="σ"))


def cluster_explorer(x, pred, m=16):
    """A dropdown over clusters showing images assigned to each (e.g. from `analysis.gan_cluster`)."""
    ids = sorted(int(c) for c in set(torch.as_tensor(pred).tolist()))
    return _explorer(lambda cluster: _show(cluster_figure(x, pred, cluster, m)), "cluster", ids[0],
                     lambda w: w.Dropdown(options=ids, description="cluster"))
