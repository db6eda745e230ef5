"""ipywidgets explorers for the notebooks.  Each one only wires a control to a plain function that
returns a matplotlib Figure (run those headless; nothing is ever asserted through a widget):

    leaf_explorer(summary)      slider over leaves   -> plots.leaf_samples_figure(summary, leaf)
    scale_explorer(model)       slider over scale s  -> scale_grid_figure(model, s)
    cluster_explorer(x, pred)   dropdown of clusters -> cluster_figure(x, pred, cluster)

    leaf_explorer(s)            # last line of a JupyterLab cell: the control and ONE live figure

In JupyterLab an explorer is a VBox of the control and an `ipywidgets.Output` (`live`); moving the control
clears the Output, draws the new figure into it and closes it (so the inline backend never shows
it a second time).  Sliders redraw when released or moved by a key, not at every step of a drag
(each figure takes a fraction of a second to draw).  Figures still open in the cell when the explorer
is built are closed too: ipywidgets' `interactive` would flush them above the widget as a stale static
copy.

Headless runs (MIXGAN_HEADLESS=1, set by `mixgan.notebook.run` and the test session) get the
control's first position as a static figure and no widget: a kernel that sends widget messages
can leave papermill waiting, until the cell timeout, for a reply it already had (jupyter/nbclient#312).
"""
import matplotlib.pyplot as plt
import torch

from . import analysis, plots
from .analysis.latents import renamed
from .utils import headless

WIDTH = 9.0          # inches: the explorers' image grids are >= 600 px wide at any notebook dpi >= 67


def _show(fig):
    from IPython.display import display
    display(fig)
    plt.close(fig)


def live(draw, control):
    """`ipywidgets.VBox([control, out])` (CSS class `mixgan-explorer`): `out` (an `ipywidgets.Output`,
    also `box.out`) shows `draw(control.value)` (a Figure) and is redrawn, cleared first, whenever the
    value changes."""
    import ipywidgets as w
    out = w.Output()

    def update(*_):
        fig = draw(control.value)
        with out:
            out.clear_output(wait=True)
            _show(fig)
    control.observe(update, names="value")
    box = w.VBox([control, out])
    box.add_class("mixgan-explorer")         # a stable handle for styling and the browser tests
    box.out, box.update = out, update
    update()
    return box


def _explorer(draw, first, control):
    """`live(draw, control(ipywidgets))`. Headless: show draw(first) once and return None
    (no widget is created: a widget opens a comm even when it is never displayed)."""
    if headless():
        _show(draw(first))
        return None
    import ipywidgets as w
    plt.close("all")                 # figures left open in the cell would show as a stale copy
    return live(draw, control(w))


@renamed(sigma="scale")
def scale_grid_figure(model, scale, n=64, seed=0, nrow=8, width=WIDTH):
    """The scale explorer's figure: `analysis.sample_grid_at(model, scale)` (the same noise for every
    scale) as one grid, `width` inches wide."""
    x = analysis.sample_grid_at(model, scale, n=n, seed=seed)
    rows = (len(x) + nrow - 1) // nrow
    fig, ax = plt.subplots(figsize=(width, width * rows / nrow + 0.4))
    plots.image_grid(x, nrow=nrow, title=f"the same noise at scale s = {scale:.1f}", ax=ax, padding=1)
    fig.tight_layout()
    return fig


def cluster_figure(x, pred, cluster, m=16):
    """The first m images [m, C, H, W] that were put into `cluster`, as one row."""
    members = torch.as_tensor(x)[torch.as_tensor(pred) == cluster][:m]
    return plots.image_rows([members], labels=[cluster], title=f"cluster {cluster}: first {len(members)} images")


def leaf_explorer(summary):
    """A slider over the leaves of a `analysis.tree_summary`; shows that leaf's top samples."""
    K = summary["leaf_x"].shape[0]
    return _explorer(lambda leaf: plots.leaf_samples_figure(summary, leaf), 0,
                     lambda w: w.IntSlider(0, 0, K - 1, description="leaf", continuous_update=False))


@renamed(sigmas="scales")
def scale_explorer(model, n=64, seed=0, scales=analysis.SCALES):
    """A slider over the prior's covariance scale s that re-samples the same noise (MM-GAN paper Fig. 4.4)."""
    return _explorer(lambda scale: scale_grid_figure(model, scale, n, seed), 1.0,
                     lambda w: w.SelectionSlider(options=list(scales), value=1.0, description="scale s",
                                                 continuous_update=False))


def cluster_explorer(x, pred, m=16):
    """A dropdown over clusters showing images assigned to each (e.g. from `analysis.gan_cluster`)."""
    ids = sorted(int(c) for c in set(torch.as_tensor(pred).tolist()))
    return _explorer(lambda cluster: cluster_figure(x, pred, cluster, m), ids[0],
                     lambda w: w.Dropdown(options=ids, description="cluster"))


_RENAMED = {"sigma_explorer": "scale_explorer", "sigma_grid_figure": "scale_grid_figure"}


def __getattr__(name):
    if name in _RENAMED:
        raise AttributeError(f"mixgan.widgets.{name} was renamed mixgan.widgets.{_RENAMED[name]}")
    raise AttributeError(f"module 'mixgan.widgets' has no attribute {name!r}")
