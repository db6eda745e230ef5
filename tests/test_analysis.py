"""mixgan.analysis: tree responses, gating correlations, block mass, sampling at a scale of the prior,
truncation, GAN-based clustering (the MM-GAN paper's Algorithm 2) and the k-means baseline."""
import math
import types
import numpy as np
import pytest
import torch

from mixgan import analysis as A
from mixgan import data, models


@pytest.fixture(scope="module")
def hmog_toy():
    return models.build("hmog", (2,), depth=3, hidden=16).eval()


# ----------------------------------------------------------------------------- tree figure


@pytest.mark.parametrize("depth,arity", [(3, 2), (2, 3)])
def test_node_responses_equal_brute_force(depth, arity):
    model = models.build("hmog", (1, 28, 28), depth=depth, arity=arity, base=2).eval()
    s = A.tree_summary(model, n=300, top=3, seed=1, batch=128)          # batches: 128 + 128 + 44
    z, _ = A.sample_latents(model, 300, seed=1)
    with torch.no_grad():
        x, _ = model.generate(z)
        levels = model.head.node_probs(z)
    assert [len(r) for r in s["levels"]] == [arity ** l for l in range(depth + 1)]
    for l, p in enumerate(levels):
        for m in range(p.shape[1]):                                       # one node at a time
            w = p[:, m]
            brute = sum(w[b] * x[b] for b in range(len(x))) / w.sum()
            torch.testing.assert_close(s["levels"][l][m], brute, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(s["levels"][0][0], x.mean(0), rtol=1e-4, atol=1e-5)   # root = data mean
    # the top samples of each leaf are those of the z with the highest leaf probability
    g = levels[-1]
    for k in range(arity ** depth):
        best = g[:, k].argsort(descending=True)[:3]
        torch.testing.assert_close(s["leaf_p"][k], g[best, k])
        torch.testing.assert_close(s["leaf_x"][k], x[best], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(s["leaf_usage"], g.mean(0))


def test_node_responses_pure_function():
    x = torch.randn(50, 3)
    p = torch.rand(50, 4)
    (r,) = A.node_responses(x, [p])
    torch.testing.assert_close(r, (p[:, :, None] * x[:, None]).sum(0) / p.sum(0)[:, None])


def test_tree_summary_needs_a_tree():
    with pytest.raises(ValueError, match="gates"):
        A.tree_summary(models.build("madgan", (2,), K=4), n=10)


# ----------------------------------------------------------------------------- correlations and block mass


def test_gating_correlation_symmetric_unit_diagonal(hmog_toy):
    c = A.gating_correlation(hmog_toy, n=2000)
    assert c.shape == (8, 8)
    np.testing.assert_allclose(c, c.T, atol=1e-12)
    np.testing.assert_allclose(np.diag(c), 1.0)
    assert (np.abs(c) <= 1 + 1e-9).all()
    g = A.leaf_probs(hmog_toy, n=2000).double().numpy()
    np.testing.assert_allclose(c, np.corrcoef(g.T), atol=1e-12)


def test_correlation_of_a_constant_leaf():
    g = torch.rand(100, 3)
    g[:, 1] = 0.25
    c = A.correlation(g)
    assert np.isfinite(c).all() and c[1, 1] == 1 and c[0, 1] == 0 and c[1, 2] == 0


def test_block_mass_on_constructed_matrices():
    K = 8
    block2 = np.kron(np.eye(K // 2), np.full((2, 2), 0.6))
    np.fill_diagonal(block2, 1)
    assert A.block_mass_ratio(block2, 2) == pytest.approx(1.0)
    assert A.block_mass_ratio(block2, 4) == pytest.approx(1.0)        # 2-blocks lie inside 4-blocks
    flat = np.full((K, K), 0.3)
    np.fill_diagonal(flat, 1)
    for b in (2, 4):
        assert A.block_mass_ratio(flat, b) == pytest.approx(A.block_chance(K, b)) == pytest.approx((b - 1) / 7)
    # 4-blocks of 0.5 with 2-blocks of 0.9 inside, −0.2 outside: "positive" ignores the negatives
    c = np.kron(np.eye(2), np.full((4, 4), 0.5)) + np.kron(np.eye(4), np.full((2, 2), 0.4)) - 0.2 * (
        1 - np.kron(np.eye(2), np.ones((4, 4))))
    np.fill_diagonal(c, 1)
    assert A.block_mass_ratio(c, 4) == pytest.approx(1.0)
    assert A.block_mass_ratio(c, 2) == pytest.approx(4 * 2 * 0.9 / (4 * 2 * 0.9 + 2 * 8 * 0.5))
    assert A.block_mass_ratio(c, 4, kind="abs") == pytest.approx(
        (8 * 0.9 + 16 * 0.5) / (8 * 0.9 + 16 * 0.5 + 32 * 0.2))
    with pytest.raises(ValueError, match="divide"):
        A.block_mass_ratio(c, 3)


def test_tree_gates_are_block_structured_at_init():
    """The tree's shared path products already correlate siblings (MoG's softmax does not)."""
    hm = models.build("hmog", (2,), depth=4, z_dim=16, hidden=8)
    mo = models.build("mog", (2,), K=16, z_dim=16, hidden=8)
    ch, cm = A.gating_correlation(hm, 4000), A.gating_correlation(mo, 4000)
    for b in (2, 4):
        assert A.block_mass_ratio(ch, b) > A.block_mass_ratio(cm, b)
        assert A.block_mass_ratio(ch, b) > A.block_chance(16, b)


# ----------------------------------------------------------------------------- scale of the prior, truncation


def test_scale_multiplies_the_prior_covariance():
    gan = models.build("gan", (2,), z_dim=3, hidden=8)
    z, _ = A.sample_latents(gan, 40_000, scale=2.0, seed=0)
    np.testing.assert_allclose(np.cov(z.numpy().T), 2.0 * np.eye(3), atol=0.06)
    z1, _ = A.sample_latents(gan, 100, scale=1.0, seed=5)
    z2, _ = A.sample_latents(gan, 100, scale=0.5, seed=5)
    torch.testing.assert_close(z2, z1 * math.sqrt(0.5))                  # same ε, multiplied by √scale
    mm = models.build("mmgan_static", (2,), z_dim=3, K=4, var=0.15, hidden=8)
    assert mm.prior.var == 0.15
    for s in (0.5, 2.0):
        z, k = A.sample_latents(mm, 40_000, scale=s, seed=0)
        resid = (z - mm.prior.mu[k]).numpy()
        np.testing.assert_allclose(np.cov(resid.T), s * 0.15 * np.eye(3), atol=0.01)


def test_sample_grid_at_is_reproducible():
    mm = models.build("mmgan_static", (2,), K=4, hidden=8)
    a, b = A.sample_grid_at(mm, 0.7, n=16), A.sample_grid_at(mm, 0.7, n=16)
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, A.sample_grid_at(mm, 1.8, n=16))


@pytest.mark.parametrize("name", ["gan", "mmgan_static"])
def test_truncation_keeps_the_most_likely_75_percent(name):
    model = models.build(name, (2,), z_dim=4, K=5, hidden=8)
    n = 300
    z, _ = A.sample_latents(model, n, truncate=0.75, seed=3)
    with A.seeded(3):                                                   # the same candidate draw
        cand, _ = model.prior.sample(400)                                # n / 0.75 = 400 candidates
    lp = model.prior.log_prob(cand)
    kept = lp.topk(n).indices
    torch.testing.assert_close(z, cand[kept])
    dropped = torch.ones(400, dtype=torch.bool)
    dropped[kept] = False
    assert model.prior.log_prob(z).min() >= lp[dropped].max()
    x = A.sample_at(model, n, truncate=0.75, seed=3)
    torch.testing.assert_close(x, model.eval().generate(z)[0])


def test_toy_quality_diversity():
    x, _, spec = data.toy("grid3x3", 2000, seed=0)
    scores = A.toy_quality_diversity(x, spec)
    assert scores["quality"] > 0.98 and scores["d_inter"] > 0.98 and abs(scores["d_intra"] - 1) < 0.03
    one_mode = spec.means[4] + 0.1 * torch.randn(2000, 2)                # collapsed onto the centre
    s1 = A.toy_quality_diversity(one_mode, spec)
    assert s1["quality"] == 1 and s1["d_inter"] == 0 and s1["diversity"] == 0 and s1["d_intra"] < 0.2
    wide = A.toy_quality_diversity(3 * x, spec)                         # spread out: less quality, more d_intra
    assert wide["quality"] < scores["quality"] and wide["d_intra"] > 2.5


def test_old_sigma_keywords_and_names_raise_naming_the_new_ones():
    """The prior's post-training multiplier is `scale`, the GMM's variance `var`, a toy's std `std`."""
    mm = models.build("mmgan_static", (2,), K=4, hidden=8)
    for call in (lambda: A.sample_latents(mm, 10, sigma=2.0), lambda: A.sample_at(mm, 10, sigma=2.0),
                 lambda: A.sample_grid_at(mm, sigma=2.0)):
        with pytest.raises(TypeError, match="`sigma=` was renamed `scale=`"):
            call()
    with pytest.raises(TypeError, match="`sigmas=` was renamed `scales=`"):
        A.scale_tradeoff({"mm": mm}, A.toy_scorer(data.toy_spec("grid3x3")), sigmas=(1.0,))
    with pytest.raises(TypeError, match="`sigma=` was renamed `var=`"):
        models.build("mmgan_static", (2,), sigma=0.2)
    from mixgan.nets.priors import GaussianMixture
    with pytest.raises(TypeError, match="`sigma=` was renamed `var=`"):
        GaussianMixture(2, 3, sigma=0.2)
    for old, new in (("sigma_tradeoff", "scale_tradeoff"), ("SIGMAS", "SCALES"), ("summarise", "summarize"),
                     ("load_result", "results.load")):
        with pytest.raises(AttributeError, match=new):
            getattr(A, old)
    # a checkpoint whose config still says "sigma" loads with var
    cfg = mm.config_dict()
    cfg["sigma"] = cfg.pop("var")
    assert models.from_config(cfg).prior.var == cfg["sigma"]


def test_scale_tradeoff_table_and_summary():
    x, _, spec = data.toy("grid3x3", 100, seed=0)
    ms = [models.build("mmgan_static", (2,), K=9, hidden=8, seed=s) for s in (0, 1)]
    rows = A.scale_tradeoff({"mm": ms}, A.toy_scorer(spec), scales=(0.5, 2.0), n=200)
    assert len(rows) == 4 and {r["run"] for r in rows} == {0, 1}
    assert set(rows[0]) >= {"model", "run", "scale", "quality", "diversity"}
    s = A.summarize(rows)
    assert len(s) == 2 and all(r["n"] == 2 for r in s)
    r05 = [r for r in rows if r["scale"] == 0.5]
    assert s[0]["quality_mean"] == pytest.approx(np.mean([r["quality"] for r in r05]))
    assert s[0]["quality_sem"] == pytest.approx(np.std([r["quality"] for r in r05], ddof=1) / math.sqrt(2))


# ----------------------------------------------------------------------------- clustering


def test_gan_cluster_on_digits():
    x, y = data.load_tensors("digits")
    classes = [0, 1, 4]
    keep = torch.isin(y, torch.tensor(classes))
    x, y = x[keep], y[keep]
    half = len(x) // 2
    stub = A.OracleGenerator(x[:half], y[:half])                         # Gaussian k -> class k
    pred, clf = A.gan_cluster(stub, x[half:], M=100, epochs=2, seed=0, batch_size=32, augment="shift")
    s = A.cluster_scores(y[half:], pred)
    assert s["acc"] > 0.95 and s["nmi"] > 0.8
    strong, _ = A.gan_cluster(stub, x[half:], M=100, epochs=2, seed=0, batch_size=32)   # the default
    assert A.cluster_scores(y[half:], strong)["acc"] > 0.9      # rotations cost a little on clean 8x8 digits
    # cluster k is Gaussian k, so the Hungarian matching is the identity here
    assert (np.array(classes)[pred] == y[half:].numpy()).mean() == pytest.approx(s["acc"])
    assert A.component_accuracy(stub, clf, M=50) > 0.85


def test_gan_cluster_on_vectors_and_kmeans():
    _, y, spec = data.toy("grid3x3", 900, seed=0)
    x = 3 * spec.means[y] + 0.2 * torch.randn(900, 2)                    # well separated blobs
    stub = A.OracleGenerator(x[:450], y[:450])
    pred, _ = A.gan_cluster(stub, x[450:], M=100)
    assert A.cluster_scores(y[450:], pred)["acc"] > 0.97
    km = A.kmeans_baseline(x[450:], 9, seed=0)
    assert km.shape == (450,) and set(km) <= set(range(9))
    assert A.cluster_scores(y[450:], km)["acc"] > 0.9


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")        # the MLP refit stops at 300 iterations
def test_self_train_repairs_a_classifier_fitted_to_displaced_data():
    _, y, spec = data.toy("grid3x3", 900, seed=0)
    means = 3 * spec.means
    x = means[y] + 0.3 * torch.randn(900, 2, generator=torch.Generator().manual_seed(0))
    off = means + torch.tensor([1.2, 0.9])           # like a classifier fitted to a GAN's displaced samples
    clf = types.SimpleNamespace(probs=lambda v: torch.softmax(-torch.cdist(torch.as_tensor(v).float(), off) ** 2, 1))
    pred = clf.probs(x).argmax(1).numpy()
    assert 0.8 < A.cluster_scores(y, pred)["acc"] < 0.9
    out, refit, hist = A.self_train(x, pred, clf, 9, rounds=2, relabel="argmax")
    assert len(hist) == 2 and (hist[-1] == out).all() and out.shape == (900,)
    assert A.cluster_scores(y, hist[0])["acc"] > 0.98 and A.cluster_scores(y, out)["acc"] > 0.98
    assert (torch.as_tensor(refit.predict(x)).numpy() == out).all()
    with pytest.raises(ValueError, match="keep"):
        A.self_train(x, pred, clf, 9, keep=0)


def test_self_train_kmeans_relabel_splits_a_merged_cluster():
    """Two classes in one cluster and one cluster empty: argmax rounds keep 8 clusters, k-means rounds cut 9."""
    _, y, spec = data.toy("grid3x3", 900, seed=0)
    means = 3 * spec.means
    x = means[y] + 0.3 * torch.randn(900, 2, generator=torch.Generator().manual_seed(0))
    centres = means.clone()
    centres[0] = centres[1] = (means[0] + means[1]) / 2                 # classes 0 and 1 share cluster 0 ...
    centres[1] = 100.0                                                  # ... and cluster 1 is empty
    clf = types.SimpleNamespace(
        probs=lambda v: torch.softmax(-torch.cdist(torch.as_tensor(v).float(), centres) ** 2, 1),
        features=lambda v: torch.exp(-torch.cdist(torch.as_tensor(v).float(), means) ** 2 / 4))
    pred = clf.probs(x).argmax(1).numpy()
    assert len(set(pred.tolist())) == 8
    arg, _, _ = A.self_train(x, pred, clf, 9, rounds=1, relabel="argmax")
    km, refit, hist = A.self_train(x, pred, clf, 9, rounds=1)                  # relabel="kmeans", the default
    assert len(set(arg.tolist())) <= 8 and len(set(km.tolist())) == 9
    assert A.cluster_scores(y, arg)["acc"] < 0.95 < 0.98 < A.cluster_scores(y, km)["acc"]
    assert len(hist) == 1 and hasattr(refit, "features") and refit.features(x[:5]).shape == (5, 64)
    with pytest.raises(ValueError, match="relabel"):
        A.self_train(x, pred, clf, 9, relabel="nearest")


def test_component_classes_reads_which_class_each_gaussian_draws():
    _, y, spec = data.toy("grid3x3", 900, seed=0)
    means = 3 * spec.means
    x = means[y] + 0.2 * torch.randn(900, 2)
    stub = A.OracleGenerator(x, y)                                       # Gaussian k -> class k
    nearest = types.SimpleNamespace(predict=lambda v: torch.cdist(v, means).argmin(1))
    r = A.component_classes(stub, nearest, M=50)
    assert r["purity"] == 1.0 and r["acc"] == 1.0 and r["covered"] == 9 and r["classes"] == list(range(9))
    assert np.array(r["table"]).sum() == 9 * 50 and 0.1 < r["spread"] < 0.3   # per-axis std 0.2
    one = types.SimpleNamespace(predict=lambda v: torch.zeros(len(v), dtype=torch.long))   # all "class 0"
    r = A.component_classes(stub, one, M=10)
    assert r["purity"] == 1.0 and r["covered"] == 1 and r["acc"] == pytest.approx(1 / 9, abs=1e-4)   # 4 digits


def test_gan_cluster_needs_a_gmm_prior():
    with pytest.raises(ValueError, match="Gaussian-mixture"):
        A.gan_cluster(models.build("gan", (2,), hidden=8), torch.zeros(4, 2), M=2)


def test_cluster_runs_lists_algorithm_2_kmeans_and_the_last_self_training_round():
    run = dict(run="cpu", setting="cpu", seed=0, device="cpu", mmgan=dict(acc=0.5, nmi=0.4), n_clustered=1000,
               kmeans=dict(acc=0.53, nmi=0.48), settings=dict(base=16, c=0.3, steps=2000, lr_decay=0.5))
    old = dict(run, run="cpu-c1", settings=dict(base=16, c=1.0, steps=1000, clf_augment="shift"))
    run["mmgan_selftrain"] = [dict(acc=0.6, nmi=0.5), dict(acc=0.7, nmi=0.6)]
    rows = A.cluster_runs({"cpu-c1": old, "cpu": run})                  # in the order given
    assert [r["method"] for r in rows] == ["MM-GAN", "k-means", "MM-GAN", "k-means",
                                           "MM-GAN + 2 self-training rounds (argmax)"]
    assert rows[4]["acc"] == 0.7 and "lr decay" in rows[2]["source"] and "seed 0" in rows[2]["source"]
    assert "c=1.0" in rows[0]["source"] and rows[0]["source"].startswith("cpu-c1 ") and A.cluster_runs({}) == []
    assert "1000 images" in rows[2]["source"]
    run["settings"]["relabel"] = "kmeans"
    assert A.cluster_runs({"cpu": run})[2]["method"].endswith("(k-means on features)")


def test_cluster_runs_and_curve_of_a_control_run_without_a_gan():
    """`cluster --start kmeans` stores no "mmgan": its rows are k-means and its last round; its curve
    starts at k-means."""
    nogan = dict(run="cpu-nogan", setting="cpu", seed=1, device="cpu", start="kmeans", n_clustered=10_000,
                 kmeans=dict(acc=0.53, nmi=0.48), kmeans_selftrain=[dict(acc=0.6, nmi=0.55), dict(acc=0.68, nmi=0.6)],
                 settings=dict(n_cluster=10_000, clf_epochs=2, clf_augment="strong", refine=2, relabel="argmax"))
    rows = A.cluster_runs({"cpu-nogan": nogan})
    assert [r["method"] for r in rows] == ["k-means", "k-means + 2 self-training rounds (argmax)"]
    assert rows[1]["acc"] == 0.68 and "no GAN" in rows[1]["source"] and "seed 1" in rows[1]["source"]
    assert [s["acc"] for s in A.selftrain_curve(nogan)] == [0.53, 0.6, 0.68]
    gan = dict(mmgan=dict(acc=0.5, nmi=0.4), kmeans=dict(acc=0.53, nmi=0.48), mmgan_selftrain=[dict(acc=0.7, nmi=0.6)])
    assert [s["acc"] for s in A.selftrain_curve(gan)] == [0.5, 0.7]
    assert [s["acc"] for s in A.selftrain_curve(dict(gan, mmgan_selftrain=None))] == [0.5]
