"""Toy helpers (mixgan.toys) and toy figures (mixgan.plots.toy): panels, colours, curves."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mixgan import data, models, plots, toys  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _spec():
    return data.toy("hmog5", 10)[2]


@pytest.mark.parametrize("name,panels", [("hmog", 8), ("mog", 8), ("madgan", 8), ("megan", 8), ("fc", 0)])
def test_region_map_has_one_panel_per_generator(name, panels):
    model = models.build(name, (2,), seed=0)
    fig = plots.region_map(model, _spec(), n=400, res=40)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2 + panels
    # the z-plane image is the region of every grid point: argmax of the gates
    img = np.asarray(fig.axes[1].images[0].get_array())
    assert img.shape == (40, 40)
    z, _ = toys.z_grid(3.0, 40)
    assert (img.flatten() == toys.regions(model, z).numpy()).all()


def test_regions_are_argmax_gates_or_sectors():
    z = torch.randn(500, 2)
    tree = models.build("hmog", (2,), depth=3, seed=1)
    assert torch.equal(toys.regions(tree, z), tree.head.gates(z).argmax(1))
    assert torch.equal(toys.regions(tree, z, level=1), tree.head.node_probs(z)[1].argmax(1))
    gated = models.build("megan", (2,), seed=1).eval()
    gated.head.eval_gate = "argmax"                           # regions are the most probable generator
    _, idx = gated.generate(z)
    assert torch.equal(toys.regions(gated, z), idx)
    multi = models.build("mgan", (2,), K=4, seed=1)
    r = toys.regions(multi, torch.tensor([[1.0, 0.1], [-0.1, 1.0], [-1.0, -0.1], [0.1, -1.0]]))
    assert r.tolist() == [0, 1, 2, 3]                          # four quadrant sectors
    with pytest.raises(ValueError, match="tree head"):
        toys.regions(multi, z, level=1)


def test_region_map_panels_show_what_each_generator_makes():
    """Multi heads: every generator's panel holds G_k(z) for the same z (n // K points)."""
    model = models.build("madgan", (2,), K=4, seed=0)
    fig = plots.region_map(model, _spec(), n=400, res=20)
    counts = [len(ax.collections[1].get_offsets()) for ax in fig.axes[2:]]
    assert counts == [100] * 4
    tree = models.build("hmog", (2,), depth=2, seed=0)
    fig = plots.region_map(tree, _spec(), n=400, res=20)
    assert sum(len(ax.collections[1].get_offsets()) for ax in fig.axes[2:]) == 400
    assert len(plots.region_map(tree, _spec(), n=100, res=20, level=1).axes) == 2
    with pytest.raises(ValueError, match="2-D z"):
        plots.region_map(models.build("gan", (2,)), _spec())


def test_palette_has_no_grey_and_distinct_colours():
    """Grey is the real data's colour: no generator may get it (tab10's index 7 is grey)."""
    from matplotlib.colors import to_rgba
    real = np.array(to_rgba(plots.REAL_COLOUR))
    for K in (1, 8, 9, 10, 18, 19, 40):
        cols = plots.palette(K)
        assert cols.shape == (K, 4)
        chroma = cols[:, :3].max(1) - cols[:, :3].min(1)
        assert (chroma > 0.1).all(), (K, cols)                # no grey (r = g = b)
        assert len({tuple(c.round(3)) for c in cols}) == K     # all different
        assert not np.isclose(cols, real).all(1).any()
    assert np.allclose(plots.palette(7), plt.get_cmap("tab10")(np.arange(7)))   # tab10 order up to its grey
    for bad in (0, -1, 2.0, True, None):
        with pytest.raises(ValueError, match="K must be"):
            plots.palette(bad)


def test_real_data_drawn_light_grey_underneath_the_samples():
    from matplotlib.colors import to_rgba
    tree = models.build("hmog", (2,), depth=2, seed=0)
    x, _, spec = data.toy("grid3x3", 200)
    figs = [plots.region_map(tree, _spec(), n=100, res=20),
            plots.scatter_by_component(models.build("mmgan_static", (2,), K=9, seed=0), x, n=100)]
    for fig in figs:
        for ax in fig.axes:
            if not ax.collections:
                continue
            real, fake = ax.collections[:2]
            assert real.get_label() == "real"
            assert np.allclose(real.get_facecolors(), to_rgba(plots.REAL_COLOUR))
            assert real.get_zorder() < fake.get_zorder()


def test_scatter_by_component_colours_by_gaussian():
    x, _, spec = data.toy("grid3x3", 200)
    model = models.build("mmgan_static", (2,), K=9, seed=0)
    fig = plots.scatter_by_component(model, x, n=300)
    real, fake = fig.axes[0].collections
    assert len(fake.get_offsets()) == 300
    assert len({tuple(c) for c in fake.get_facecolors()}) == 9


def test_curves_plot_mean_of_seeds():
    h = lambda v: {"eval": [{"step": s, "nll": v + s} for s in (10, 20, 30)]}
    fig = plots.curves({"a": h(1.0), "b": [h(0.0), h(2.0)]}, "nll")
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2
    assert np.allclose(lines[1].get_ydata(), [11, 21, 31])
    with pytest.raises(ValueError, match="no eval"):
        plots.curves({"c": {"eval": []}})


def test_train_toy_logs_scores_and_restores_threads():
    before = torch.get_num_threads()
    model, h = toys.train_toy("hmog", "hmog5", 4, seed=0, n=256, eval_every=2, batch_size=32, n_critic=1)
    assert torch.get_num_threads() == before
    assert [e["step"] for e in h["eval"]] == [2, 4]
    assert set(h["eval"][0]) >= {"modes", "high_quality", "kl", "nll"}
    assert h["spec"].num_modes == 5 and h["time_s"] > 0
    s1, s2 = toys.score(model, h["spec"], n=100), toys.score(model, h["spec"], n=100)
    assert s1 == s2                                            # fixed seed
    sup, _ = toys.train_toy("mmgan_supervised", "grid3x3", 2, n=128, K=18, batch_size=16)
    assert sup.cfg.n_classes == 9 and sup.mapping.tolist() == [k % 9 for k in range(18)]


def test_summarize_mean_std_sem():
    """One summary for toy seeds and scale runs: mean, std (ddof 0) and SEM (ddof 1 / √n) per group."""
    from mixgan.analysis import summarize
    rows = [{"model": "a", "toy": "t", "modes": m, "high_quality": 1.0, "kl": 0.0, "nll": 1.0} for m in (4, 6)]
    (s,) = summarize(rows, ("modes", "kl"), by=("model", "toy"))
    assert s["n"] == 2 and s["modes_mean"] == 5.0 and s["modes_std"] == 1.0
    assert s["modes_sem"] == pytest.approx(2 ** 0.5 / 2 ** 0.5) and s["kl_sem"] == 0.0
    assert not hasattr(toys, "summarize")


def test_toys_no_longer_imported_by_plots():
    """The plotting layer sits below training: plots.toy takes z_grid / regions from analysis.regions."""
    import ast
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "mixgan"
    for f in list((root / "plots").glob("*.py")) + [root / "widgets.py"] + list((root / "analysis").glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom):
                mod = (node.module or "")
                assert "toys" not in mod and not mod.endswith("train") and ".train." not in mod, (f.name, mod)


def test_toyspec_sample_is_the_one_sampler():
    """data.toy, the plots' real points and the toy scores all draw through ToySpec.sample."""
    x, labels, spec = data.toy("grid3x3", 500, seed=3)
    x2, labels2 = spec.sample(500, generator=torch.Generator().manual_seed(3))
    assert torch.equal(x, x2) and torch.equal(labels, labels2)
    assert spec.std == pytest.approx(0.1 ** 0.5)
    with pytest.raises(AttributeError, match="renamed ToySpec.std"):
        spec.sigma


def test_component_modes_counts_where_each_gaussian_lands():
    spec = data.toy("grid3x3", 10)[2]
    model = models.build("mmgan_supervised", (2,), K=18, n_classes=9, seed=0)
    c = toys.component_modes(model, spec, n=900)
    assert c.shape == (18, 9) and int(c.sum()) == 900
    with pytest.raises(ValueError, match="no component"):
        toys.component_modes(models.build("hmog", (2,)), spec, n=10)


def test_benchmark_quick_dry_run(tmp_path):
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "toy_modes.py"
    spec = importlib.util.spec_from_file_location("toy_modes", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    from mixgan import results
    rows = bench.main(["--quick", "--root", str(tmp_path)])
    assert [(r["model"], r["toy"], r["steps"]) for r in rows] == [("hmog", "hmog5", 5), ("fc", "hmog5", 5)]
    stored = results.load("toy_modes/defaults", root=tmp_path)
    assert stored["rows"] == rows and stored["summary"][0]["modes_std"] == 0.0
    assert results.entry("toy_modes/defaults", root=tmp_path)["command"].endswith("--quick --root " + str(tmp_path))
    assert bench.parse_steps("grid25=7", ["hmog5", "grid25"]) == {"hmog5": 2000, "grid25": 7}
    assert "MISSED" in bench.check_target(rows)[0]
    # --sharp options reach build() and fit(): a BatchNorm body, the lr falling to 0 at the end
    sharp = bench.run(["hmog"], ["grid25"], [0], {"grid25": 4}, settings=bench.SHARP)
    assert sharp[0]["settings"] == {"build": {"body_norm": "batch"}, "fit": {"lr_decay": 0.5}}
    assert bench.SHARP["grid25"]["steps"] == 30_000


def test_train_toys_in_processes_equals_train_toy():
    jobs = {"fc": dict(name="fc", toy="hmog5", steps=15, seed=0),
            "hmog": dict(name="hmog", toy="hmog5", steps=15, seed=1, depth=2)}
    par = toys.train_toys(jobs, workers=2, progress=False)
    assert list(par) == ["fc", "hmog"]
    for label, job in jobs.items():
        model, _ = toys.train_toy(**job)
        theirs = par[label][0].state_dict()
        assert all(torch.equal(v, theirs[k]) for k, v in model.state_dict().items()), label
    with pytest.raises(ValueError, match="name, toy and steps"):
        toys.train_toys({"a": dict(name="fc")})
