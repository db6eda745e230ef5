"""ipywidgets explorers for the notebooks.  Each one only wires a control to a plain function
(run those headless; nothing is ever asserted through a widget):

    leaf_explorer(summary)      slider over leaves   -> plots.leaf_samples_figure(summary, leaf)
    sigma_explorer(model)       slider over σ        -> analysis.sample_grid_at(model, σ) as a grid
    cluster_explorer(x, pred)   dropdown of clusters -> plots.image_rows of that cluster's images

    display(leaf_explorer(s))   # in JupyterLab
"""
import matplotlib.pyplot as plt
import torch

from . import analysis, plots


def _show(fig):
    from IPython.display import display
    display(fig)
    plt.close(fig)


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
    import ipywidgets as w
    K = summary["leaf_x"].shape[0]
    return w.interactive(lambda leaf: _show(plots.leaf_samples_figure(summary, leaf)),
                         leaf=w.IntSlider(0, 0, K - 1, description="leaf"))


def sigma_explorer(model, n=64, seed=0, sigmas=analysis.SIGMAS):
    """A σ slider that re-samples the same noise at covariance scale σ (seed 003 Fig. 4.4)."""
    import ipywidgets as w
    return w.interactive(lambda sigma: _show(sigma_grid_figure(model, sigma, n, seed)),
                         sigma=w.SelectionSlider(options=list(sigmas), value=1.0, description="σ"))


def cluster_explorer(x, pred, m=16):
    """A dropdown over clusters showing images assigned to each (e.g. from `analysis.gan_cluster`)."""
    import ipywidgets as w
    ids = sorted(int(c) for c in set(torch.as_tensor(pred).tolist()))
    return w.interactive(lambda cluster: _show(cluster_figure(x, pred, cluster, m)),
                         cluster=w.Dropdown(options=ids, description="cluster"))
