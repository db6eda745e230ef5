"""Interpretability figures: each returns a Figure holding what it claims to draw."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mixgan import analysis as A  # noqa: E402
from mixgan import models, plots, widgets  # noqa: E402


def _images(fig):
    return [im for ax in fig.axes for im in ax.images]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.mark.parametrize("depth,arity,top", [(2, 2, 5), (2, 3, 2)])
def test_tree_figure_draws_every_node_and_leaf_sample(depth, arity, top):
    model = models.build("hmog", (1, 28, 28), depth=depth, arity=arity, base=2)
    s = A.tree_summary(model, n=200, top=top)
    fig = plots.tree_figure(s)
    assert isinstance(fig, Figure)
    K = arity ** depth
    n_nodes = sum(arity ** l for l in range(depth + 1))
    assert len(_images(fig)) == n_nodes + K * top
    # each node is centred under its parent: child centres average to the parent's centre
    ims = _images(fig)[:n_nodes]
    centres = [(im.get_extent()[0] + im.get_extent()[1]) / 2 for im in ims]
    assert centres[0] == pytest.approx(np.mean(centres[1:1 + arity]))
    f2 = plots.leaf_samples_figure(s, K - 1)
    assert len(_images(f2)) == top


def test_tree_figure_shows_rgb_images():
    model = models.build("mog", (3, 32, 32), K=4, base=2)
    fig = plots.tree_figure(A.tree_summary(model, n=50, top=2))
    assert _images(fig)[0].get_array().shape == (32, 32, 3)


def test_correlation_heatmaps_titles_carry_block_mass():
    c = np.eye(8)
    c[0, 1] = c[1, 0] = 0.5
    fig = plots.correlation_heatmaps({"MoG": np.eye(8) * 0.5 + 0.5, "HMoG": c})
    assert len(fig.axes) >= 2
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[0].startswith("MoG") and "2×2: 0.14 (0.14)" in titles[0]
    assert "2×2: 1.00" in titles[1]


def test_scale_tradeoff_plot_has_error_bars():
    rows = [dict(model=m, run=r, scale=s, quality=1 - s / 3 + 0.01 * r, diversity=s / 3)
            for m in ("gan", "mmgan") for r in range(3) for s in (0.5, 1.0, 2.0)]
    fig = plots.scale_tradeoff_plot(rows)
    assert len(fig.axes) == 2
    assert len(fig.axes[0].containers) == 2                       # one errorbar container per model
    x, y = (np.asarray(v, dtype=float) for v in fig.axes[0].lines[0].get_data())
    np.testing.assert_allclose(x, [0.5, 1.0, 2.0])
    np.testing.assert_allclose(y, [1 - s / 3 + 0.01 for s in (0.5, 1.0, 2.0)])


def test_self_training_plot_draws_rounds_and_kmeans():
    run = dict(mmgan=dict(acc=0.5, nmi=0.4), kmeans=dict(acc=0.53, nmi=0.48),
               mmgan_selftrain=[dict(acc=0.6, nmi=0.5), dict(acc=0.7, nmi=0.6)])
    old = dict(mmgan=dict(acc=0.4, nmi=0.3), kmeans=dict(acc=0.53, nmi=0.48))      # no rounds: skipped
    fig = plots.self_training_plot({"cpu": run, "old": old})
    assert len(fig.axes) == 2
    x, y = (np.asarray(v, dtype=float) for v in fig.axes[0].lines[0].get_data())
    np.testing.assert_allclose(x, [0, 1, 2])
    np.testing.assert_allclose(y, [0.5, 0.6, 0.7])
    assert len(fig.axes[1].lines) == 2 and fig.axes[1].lines[1].get_ydata()[0] == 0.48   # NMI line + k-means
    nogan = dict(start="kmeans", kmeans=dict(acc=0.53, nmi=0.48), kmeans_selftrain=[dict(acc=0.68, nmi=0.6)])
    fig = plots.self_training_plot({"cpu": run, "no GAN": nogan})                  # the control: dashed, from k-means
    line = fig.axes[0].lines[2]
    assert list(line.get_ydata()) == [0.53, 0.68] and line.get_linestyle() == "--"


def test_image_rows_and_panels():
    x = torch.rand(3, 4, 1, 8, 8) * 2 - 1
    assert len(_images(plots.image_rows(x, labels=["a", "b", "c"]))) == 12
    fig = plots.image_panels({"σ=0.5": x[0], "σ=2": x[1]}, nrow=2)
    assert [ax.get_title() for ax in fig.axes] == ["σ=0.5", "σ=2"]


def test_explorer_functions_run_headless():
    mm = models.build("mmgan_static", (1, 28, 28), K=3, base=2)
    assert isinstance(widgets.scale_grid_figure(mm, 1.5, n=8), Figure)
    pred = np.array([0, 1, 1, 2])
    fig = widgets.cluster_figure(torch.zeros(4, 1, 8, 8), pred, 1)
    assert len(_images(fig)) == 2


def test_explorers_are_widgets_unless_headless(monkeypatch):
    """MIXGAN_HEADLESS=1 (the test session, mixgan.notebook.run): a static figure and no widget."""
    import ipywidgets
    pred = np.array([2, 1, 1, 2])
    monkeypatch.setenv("MIXGAN_HEADLESS", "0")
    w = widgets.cluster_explorer(torch.zeros(4, 1, 8, 8), pred)
    assert isinstance(w, ipywidgets.VBox) and w.children[0].options == (1, 2)
    assert isinstance(w.children[1], ipywidgets.Output)
    summary = dict(leaf_x=torch.zeros(2, 5, 1, 8, 8), leaf_p=torch.ones(2, 5), leaf_usage=torch.ones(2) / 2)
    slider = widgets.leaf_explorer(summary).children[0]
    assert isinstance(slider, ipywidgets.IntSlider) and not slider.continuous_update   # redraw on release
    monkeypatch.setenv("MIXGAN_HEADLESS", "1")
    assert widgets.headless() and widgets.cluster_explorer(torch.zeros(4, 1, 8, 8), pred) is None


def test_explorer_shows_one_live_figure(monkeypatch):
    """Moving the control redraws into the widget's Output and closes each figure; a figure left open
    in the cell is closed when the explorer is built (it would show as a stale copy above the widget)."""
    monkeypatch.setenv("MIXGAN_HEADLESS", "0")
    shown = []
    monkeypatch.setattr(widgets, "_show", lambda fig: (shown.append(fig.axes[0].get_title()), plt.close(fig)))
    plt.figure()                                                   # e.g. a figure saved earlier in the cell
    w = widgets.cluster_explorer(torch.zeros(4, 1, 8, 8), np.array([2, 1, 1, 2]))
    assert plt.get_fignums() == [] and shown == ["cluster 1: first 2 images"]
    w.children[0].value = 2
    assert shown[-1] == "cluster 2: first 2 images" and len(shown) == 2 and plt.get_fignums() == []


def test_explorer_grids_are_at_least_600_px_wide():
    mm = models.build("mmgan_static", (1, 28, 28), K=3, base=2)
    summary = dict(leaf_x=torch.zeros(2, 5, 1, 8, 8), leaf_p=torch.ones(2, 5), leaf_usage=torch.ones(2) / 2)
    for fig in (widgets.scale_grid_figure(mm, 1.5, n=40), plots.leaf_samples_figure(summary, 1)):
        fig.canvas.draw()
        assert fig.get_tightbbox().width * 100 >= 600, fig.get_tightbbox()   # inches -> px at dpi 100
        plt.close(fig)


def test_old_sigma_names_point_to_the_scale_ones():
    """The prior's post-training multiplier is `scale` in plots and widgets too."""
    for module, old, new in ((plots, "sigma_tradeoff_plot", "scale_tradeoff_plot"),
                             (widgets, "sigma_explorer", "scale_explorer"),
                             (widgets, "sigma_grid_figure", "scale_grid_figure")):
        with pytest.raises(AttributeError, match=new):
            getattr(module, old)
    mm = models.build("mmgan_static", (1, 28, 28), K=3, base=2)
    with pytest.raises(TypeError, match="`sigma=` was renamed `scale=`"):
        widgets.scale_grid_figure(mm, sigma=1.5, n=8)


def test_scale_tradeoff_plot_keeps_one_colour_per_model():
    """The toy and the stored MNIST curves list the models in different orders: the colours must not swap."""
    from matplotlib.colors import to_hex

    def colours(models):
        rows = [dict(model=m, run=0, scale=s, quality=0.5, diversity=0.5) for m in models for s in (0.5, 1.0)]
        fig = plots.scale_tradeoff_plot(rows)
        out = {c.get_label(): to_hex(c.lines[0].get_color()) for c in fig.axes[0].containers}
        plt.close(fig)
        return out
    assert colours(["GAN", "MM-GAN", "new"]) == colours(["new", "MM-GAN", "GAN"])
    assert colours(["MM-GAN", "GAN"]) == {"GAN": to_hex("tab:blue"), "MM-GAN": to_hex("tab:orange")}
    assert list(colours(["MM-GAN", "GAN"])) == ["GAN", "MM-GAN"]                 # and one legend order
    assert plots.model_colours(["mm_gan"]) == {"mm_gan": "tab:orange"}
    other = plots.model_colours(["a", "b"])
    assert len({to_hex(c) for c in other.values()}) == 2
    assert not {to_hex(c) for c in other.values()} & {to_hex(c) for c in plots.model_colours(["gan", "mmgan"]).values()}
    with pytest.raises(ValueError, match="no rows"):
        plots.scale_tradeoff_plot([])


def test_self_training_plot_kmeans_line_is_grey_and_shared():
    from matplotlib.colors import to_rgba
    run = dict(mmgan=dict(acc=0.5, nmi=0.4), kmeans=dict(acc=0.53, nmi=0.48),
               mmgan_selftrain=[dict(acc=0.6, nmi=0.5)])
    nogan = dict(start="kmeans", kmeans=dict(acc=0.53, nmi=0.48), kmeans_selftrain=[dict(acc=0.68, nmi=0.6)])
    fig = plots.self_training_plot({"cpu": run, "no GAN": nogan})
    for ax in fig.axes:
        dotted = [ln for ln in ax.lines if ln.get_linestyle() == ":"]
        assert len(dotted) == 1                                   # one k-means line for the shared value
        r, g, b, _ = to_rgba(dotted[0].get_color())
        assert r == g == b                                        # grey: no run's colour
        run_colours = {to_rgba(ln.get_color()) for ln in ax.lines if ln.get_linestyle() != ":"}
        assert to_rgba(dotted[0].get_color()) not in run_colours
    assert "k-means on the pixels" in [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
