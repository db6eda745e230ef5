"""Tests of mixgan.metrics against reference implementations (scipy, scikit-learn, torchmetrics)."""
import itertools
import math
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from sklearn.metrics import normalized_mutual_info_score
from sklearn.neighbors import NearestNeighbors

from mixgan import metrics as M
from mixgan.metrics import features as feat

REPO = Path(__file__).resolve().parents[1]
MIRROR = os.environ.get("MIXGAN_MIRROR")


def correlated(n, d, seed, scale=1.0, shift=0.0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(d, d, generator=g, dtype=dtype) / d ** 0.5
    return (torch.randn(n, d, generator=g, dtype=dtype) @ w) * scale + shift


def fid_reference(a, b):
    """The textbook formula with scipy.linalg.sqrtm (float64)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    m1, m2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                      # "matrix is singular" for dead features
        covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


# ----------------------------------------------------------------------------- Fréchet distance


@pytest.mark.parametrize("n1,n2,d", [(600, 500, 24), (3000, 2000, 8), (40, 3000, 24)])
def test_frechet_matches_scipy_sqrtm(n1, n2, d):
    a, b = correlated(n1, d, 0), correlated(n2, d, 1, scale=1.3, shift=0.2)
    assert M.frechet_distance(a, b) == pytest.approx(fid_reference(a, b), rel=1e-8, abs=1e-9)


def test_frechet_identical_sets_is_zero_and_float32_ok():
    a = correlated(500, 16, 3)
    assert M.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    assert M.frechet_distance(a.float(), (a + 1).float()) == pytest.approx(16.0, rel=1e-5)


def test_frechet_float32_features_agree_with_float64():
    """float32 features take a float32 covariance product (gaussian_stats): same FD to ~1e-6."""
    a, b = correlated(3000, 64, 4), correlated(2500, 64, 5, scale=1.1, shift=0.1)
    a, b = a + 100.0, b + 100.0                           # a large mean: centring happens in float64
    f64 = M.frechet_distance(a, b)
    assert M.frechet_distance(a.float(), b.float()) == pytest.approx(f64, rel=1e-6)
    mu, s = M.gaussian_stats(a.float())
    assert mu.dtype == s.dtype == np.float64 and np.allclose(s, np.cov(a.float().double().numpy(), rowvar=False), rtol=1e-5, atol=1e-7)


def test_frechet_matches_torchmetrics_fid_with_custom_extractor():
    from torchmetrics.image.fid import FrechetInceptionDistance

    class Net(torch.nn.Module):                       # a fixed random "feature extractor" 64 → 12
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(64, 12)
            torch.nn.init.normal_(self.lin.weight, generator=torch.Generator().manual_seed(0))

        def forward(self, x):
            return torch.tanh(self.lin(x.float().flatten(1) / 255.0))

    net = Net().eval()
    g = torch.Generator().manual_seed(1)
    real = torch.randint(0, 256, (300, 1, 8, 8), generator=g, dtype=torch.uint8)
    fake = (torch.randint(0, 200, (250, 1, 8, 8), generator=g) + 40).to(torch.uint8)
    tm = FrechetInceptionDistance(feature=net, input_img_size=(1, 8, 8))
    tm.update(real, real=True)
    tm.update(fake, real=False)
    with torch.no_grad():
        ours = M.frechet_distance(net(real), net(fake))
    assert ours == pytest.approx(float(tm.compute()), rel=1e-4)


def test_frechet_n_below_d_is_finite_real_and_routes_agree():
    a, b = correlated(20, 64, 4), correlated(30, 64, 5, shift=0.1)
    fd = M.frechet_distance(a, b)
    assert isinstance(fd, float) and np.isfinite(fd) and fd >= 0
    # the singular-covariance route (Cholesky fails → eigh) gives the same number
    via_cov = M.frechet_from_stats(*M.gaussian_stats(a), *M.gaussian_stats(b))
    assert via_cov == pytest.approx(fd, rel=1e-7)
    # dead (constant) feature dimensions, n > d
    c, e = correlated(500, 10, 6), correlated(400, 10, 7)
    c[:, 3] = 0.0
    e[:, 3] = 0.0
    assert M.frechet_distance(c, e) == pytest.approx(fid_reference(c, e), rel=1e-6)


# ----------------------------------------------------------------------------- k-NN two-sample


@pytest.mark.parametrize("k", [1, 4, 5])
def test_knn_two_sample_matches_sklearn_leave_one_out(k):
    real, fake = correlated(300, 10, 8), correlated(250, 10, 9, shift=0.15)
    x = torch.cat([real, fake]).numpy()
    is_real = np.r_[np.ones(300, bool), np.zeros(250, bool)]
    nn = NearestNeighbors(n_neighbors=k + 1).fit(x)
    _, idx = nn.kneighbors(x)
    assert (idx[:, 0] == np.arange(len(x))).all()          # self first: no distance ties
    votes = is_real[idx[:, 1:]].sum(1)
    vote_real = 2 * votes > k                                 # ties → fake
    ref = (vote_real[:300].mean(), (~vote_real[300:]).mean())
    assert M.knn_two_sample(real, fake, k=k) == pytest.approx(ref, abs=1e-12)
    assert M.knn_two_sample(real.float(), fake.float(), k=k, block=64) == pytest.approx(ref, abs=1e-12)


def hmog_nn_accuracy(p_real, p_fake, k=5):
    """The HMoG authors' `nn_accuracy` (github.com/alper111/hmog, utils.py), verbatim but for the device:
    the average of the neighbours' label fractions (equal set sizes)."""
    size = p_fake.shape[0]
    p_all = torch.cat([p_fake.reshape(size, -1), p_real.reshape(size, -1)], dim=0)
    dists = torch.cdist(p_all, p_all) + torch.eye(2 * size, dtype=p_all.dtype) * 1e12
    _, indexes = torch.topk(dists, k=k, largest=False)
    decisions = (indexes > size - 1).sum(dim=1).float() / k
    return (decisions[size:].sum() / size).item(), ((size - decisions[:size].sum()) / size).item()


@pytest.mark.parametrize("k", [1, 4, 5])
def test_knn_two_sample_fraction_vote_is_hmog_nn_accuracy(k):
    real, fake = correlated(300, 10, 8), correlated(300, 10, 9, shift=0.15)
    ref = hmog_nn_accuracy(real, fake, k)
    assert M.knn_two_sample(real, fake, k=k, vote="fraction") == pytest.approx(ref, abs=1e-6)
    # unequal sizes, against a plain loop over points: mean share of real neighbours
    real, fake = real[:170], fake[:230]
    x = torch.cat([real, fake])
    d = torch.cdist(x, x).fill_diagonal_(float("inf"))
    share = [float((d[i].topk(k, largest=False).indices < 170).double().mean()) for i in range(400)]
    ref = (np.mean(share[:170]), 1 - np.mean(share[170:]))
    assert M.knn_two_sample(real, fake, k=k, vote="fraction") == pytest.approx(ref, abs=1e-12)


def test_knn_two_sample_votes_differ_and_bad_vote():
    real, fake = correlated(300, 10, 8), correlated(300, 10, 9, shift=0.15)
    major, frac = M.knn_two_sample(real, fake, vote="majority"), M.knn_two_sample(real, fake, vote="fraction")
    assert major == M.knn_two_sample(real, fake) and major != frac   # "majority" is the default
    with pytest.raises(ValueError, match="vote"):
        M.knn_two_sample(real, fake, vote="mean")


@pytest.mark.parametrize("vote", ["majority", "fraction"])
def test_knn_two_sample_float32_far_from_origin(vote):
    """float32 features with a large common offset give the float64 answer on the same values."""
    real, fake = correlated(400, 32, 20), correlated(400, 32, 21, shift=0.2)
    r32, f32 = (real + 1e3).float(), (fake + 1e3).float()
    want = M.knn_two_sample(r32.double(), f32.double(), vote=vote)
    assert M.knn_two_sample(r32, f32, vote=vote) == pytest.approx(want, abs=1e-12)
    assert want == pytest.approx(M.knn_two_sample(real, fake, vote=vote), abs=0.01)   # offset-free answer


def test_precision_recall_float32_far_from_origin():
    real, fake = correlated(400, 32, 22), correlated(400, 32, 23, shift=0.2)
    r32, f32 = (real + 1e3).float(), (fake + 1e3).float()
    want = M.precision_recall(r32.double(), f32.double())
    assert M.precision_recall(r32, f32) == pytest.approx(want, abs=1e-12)
    d, i = M.knn_search(f32[:50], r32, 3)
    d64, i64 = M.knn_search(f32[:50].double(), r32.double(), 3)
    assert torch.equal(i, i64) and torch.allclose(d.double(), d64, rtol=1e-4)


def test_knn_self_tiles_equal_plain_search():
    x = correlated(301, 7, 16)
    d1, i1 = M.knn_search(x, x, 4, exclude_self=True, block=50)
    d2, i2 = M.knn_self(x, 4, block=37)                       # uneven tiles, upper triangle only
    assert torch.equal(i1, i2) and torch.allclose(d1, d2)
    ref = torch.cdist(x, x).fill_diagonal_(float("inf")).sort(1)
    assert torch.equal(i2, ref.indices[:, :4]) and torch.allclose(d2, ref.values[:, :4])


def test_knn_two_sample_separated_and_identical():
    real = correlated(200, 5, 10)
    assert M.knn_two_sample(real, real + 100.0) == (1.0, 1.0)
    acc_r, acc_f = M.knn_two_sample(real, real.clone(), k=1)   # each point's twin is the other label
    assert (acc_r, acc_f) == (0.0, 0.0)


# ----------------------------------------------------------------------------- precision / recall


def test_precision_recall_known_answers():
    a = correlated(200, 4, 11)
    assert M.precision_recall(a, a.clone()) == (1.0, 1.0)
    assert M.precision_recall(a, a + 1000.0) == (0.0, 0.0)
    # fakes = one of two far-apart real clusters: all fakes are real-like, half the reals covered
    real = torch.cat([a, correlated(200, 4, 12) + 1000.0])
    p, r = M.precision_recall(real, a.clone(), k=3)
    assert (p, r) == (1.0, 0.5)


def test_precision_recall_against_bruteforce():
    real, fake = correlated(120, 6, 13), correlated(90, 6, 14, shift=0.5)
    D = lambda u, v: torch.cdist(u, v)
    rr = D(real, real).fill_diagonal_(float("inf")).sort(1).values[:, 2]
    rf = D(fake, fake).fill_diagonal_(float("inf")).sort(1).values[:, 2]
    prec = (D(fake, real) <= rr[None]).any(1).double().mean()
    rec = (D(real, fake) <= rf[None]).any(1).double().mean()
    assert M.precision_recall(real, fake, k=3, block=32) == pytest.approx((float(prec), float(rec)))


# ----------------------------------------------------------------------------- clustering


def test_cluster_acc_against_bruteforce_permutations():
    rng = np.random.default_rng(0)
    for trial in range(5):
        y = rng.integers(0, 4, 200)
        yp = np.where(rng.random(200) < 0.6, (y + trial) % 4, rng.integers(0, 4, 200))
        best = max((np.array(p)[yp] == y).mean() for p in itertools.permutations(range(4)))
        assert M.cluster_acc(y, yp) == pytest.approx(best)
    y = rng.integers(0, 5, 100)
    assert M.cluster_acc(y, (y * 7 + 3) % 11) == 1.0            # any relabelling is perfect


def test_nmi_is_sklearn_geometric():
    rng = np.random.default_rng(1)
    y, yp = rng.integers(0, 6, 300), rng.integers(0, 4, 300)
    yp[:150] = y[:150] % 4
    ref = normalized_mutual_info_score(y, yp, average_method="geometric")
    assert M.nmi(torch.as_tensor(y), yp) == pytest.approx(ref)
    assert M.nmi(y, y) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- Inception Score


def test_inception_score_uniform_one_hot_and_collapsed():
    n_cls = 10
    p = torch.nn.functional.one_hot(torch.arange(1000) % n_cls, n_cls).float()
    mean, std = M.inception_score(p, splits=10)
    assert mean == pytest.approx(n_cls) and std == pytest.approx(0.0, abs=1e-12)
    mean, std = M.inception_score(torch.full((100, n_cls), 1.0 / n_cls), splits=5)
    assert mean == pytest.approx(1.0)


# ----------------------------------------------------------------------------- quality / diversity


def test_quality_score_copies_at_max_and_far_at_zero():
    both = correlated(600, 16, 15)
    train, fresh = both[:300], both[300:]                      # fresh: same law, new points
    alpha = M.calibrate_alpha(train)
    q_copy = M.quality_score(train[:50], train)
    assert q_copy == pytest.approx(alpha / (1 + alpha))       # exact copies: the maximum
    assert M.quality_score(train[:50], train, alpha=2.0) == pytest.approx(2.0 / 3.0)
    assert M.quality_score(train[:50] + 1e3, train) < 1e-6
    assert 0.3 < M.quality_score(fresh, train) < 0.7          # real-like: ≈ 0.5 by calibration


def test_quality_score_with_distances_beyond_exp_range():
    """Features so spread out that α = exp(median NN distance) overflows float64: log α is used."""
    both = correlated(600, 16, 15)
    train, fresh = both[:300] * 1e3, both[300:] * 1e3           # NN distances ≈ 1e3–1e4 > 709.78
    log_alpha = M.calibrate_alpha(train, log=True)
    assert math.isfinite(log_alpha) and log_alpha > 709.78
    with pytest.raises(ValueError, match=r"overflows float64.*log=True"):
        M.calibrate_alpha(train)
    q_copy = M.quality_score(train[:50], train)                  # alpha="auto": exact in log space
    assert q_copy == 1.0 and M.quality_score(train[:50], train, log_alpha=log_alpha) == 1.0
    assert 0.3 < M.quality_score(fresh, train) < 0.7            # the same ≈ 0.5 calibration at any scale
    small = M.quality_score(fresh / 1e3, train / 1e3)
    assert M.quality_score(fresh, train, log_alpha=log_alpha) == pytest.approx(
        M.quality_score(fresh, train)) and 0.3 < small < 0.7
    assert M.quality_score(train[:50], train, log_alpha=math.log(2.0)) == pytest.approx(
        M.quality_score(train[:50], train, alpha=2.0))
    with pytest.raises(ValueError, match="not both"):
        M.quality_score(fresh, train, alpha=2.0, log_alpha=1.0)
    with pytest.raises(ValueError, match="log_alpha must be a finite float"):
        M.quality_score(fresh, train, log_alpha=float("inf"))


def test_diversity_hand_made_cases():
    g = torch.Generator().manual_seed(0)
    one = torch.rand(1, 1, 32, 32, generator=g) * 2 - 1
    same = one.repeat(12, 1, 1, 1)
    assert M.intra_diversity(same) == pytest.approx(0.0, abs=1e-5)
    varied = torch.rand(12, 1, 32, 32, generator=g) * 2 - 1
    assert M.intra_diversity(varied) > 0.5
    assert M.inter_diversity(torch.zeros(12, dtype=torch.long), 10) == 0.0
    assert M.inter_diversity(torch.arange(20) % 10, 10) == pytest.approx(1.0)
    d = M.diversity_score(varied, torch.zeros(12, dtype=torch.long), 10)
    assert d["d_inter"] == 0.0 and d["d"] == 0.0 and d["d_intra"] > 0.5
    assert M.combined_score(0.25, 1.0) == pytest.approx(0.5)


def test_ms_ssim_pair_sampling_and_small_images():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(100, 1, 32, 32, generator=g) * 2 - 1
    v = M.mean_ms_ssim(x, max_pairs=300)                      # 4950 pairs → 300 sampled
    assert 0.0 <= v < 0.5
    assert 0.0 <= M.mean_ms_ssim(torch.rand(5, 3, 8, 8, generator=g)) <= 1.0   # 8 px: one scale


def test_ms_ssim_bad_max_pairs_is_a_clear_error():
    x = torch.rand(5, 1, 8, 8) * 2 - 1
    for bad in (-1, 0):
        with pytest.raises(ValueError, match="max_pairs must be a positive int"):
            M.mean_ms_ssim(x, max_pairs=bad)
        with pytest.raises(ValueError, match="max_pairs"):
            M.diversity_score(x, torch.arange(5), 5, max_pairs=bad)
    with pytest.raises(TypeError, match="max_pairs"):
        M.intra_diversity(x, max_pairs=2.5)
    with pytest.raises(ValueError, match="batch must be a positive int"):
        M.mean_ms_ssim(x, batch=0)


def test_ms_ssim_on_unit_range_with_data_range_1():
    """MS-SSIM of [-1, 1] images = torchmetrics' MS-SSIM of (x + 1) / 2 with data_range 1 (not of x itself)."""
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure as ms_ssim

    g = torch.Generator().manual_seed(3)
    x = F.interpolate(torch.rand(6, 1, 4, 4, generator=g), size=32, mode="bilinear") * 0.6 - 1   # smooth, dark
    i, j = torch.triu_indices(6, 6, offset=1)
    kw = M.scores._ms_ssim_setup(32, 32)
    u = (x + 1) / 2
    ref = float(ms_ssim(u[i], u[j], data_range=1.0, reduction="none", **kw).double().mean())
    shifted = float(ms_ssim(x[i], x[j], data_range=2.0, reduction="none", **kw).double().mean())
    assert M.mean_ms_ssim(x) == pytest.approx(ref, abs=1e-6)
    assert abs(ref - shifted) > 0.01                           # the [-1, 1] convention would change the score
    assert M.mean_ms_ssim(u, value_range=(0, 1)) == pytest.approx(ref, abs=1e-6)
    assert M.intra_diversity(x) == pytest.approx(1 - ref, abs=1e-6)
    assert M.diversity_score(u, torch.arange(6), 6, value_range=(0, 1))["d_intra"] == pytest.approx(1 - ref, abs=1e-6)
    with pytest.raises(ValueError, match="value_range"):
        M.mean_ms_ssim(x * 3)                                  # values outside [-1, 1]
    with pytest.raises(ValueError, match="value_range"):
        M.mean_ms_ssim(x, value_range=(1, 0))


def test_quality_diversity_convenience():
    class Stub:                                               # classifier interface
        name = "stub"

        def features(self, x):
            return x.flatten(1)[:, :8].double()

        def probs(self, x):
            return torch.nn.functional.one_hot(torch.arange(len(x)) % 2, 2).float()

    g = torch.Generator().manual_seed(2)
    imgs = torch.rand(20, 1, 32, 32, generator=g) * 2 - 1
    out = M.quality_diversity(imgs, Stub(), imgs.flatten(1)[:, :8].double())
    assert set(out) >= {"q", "d_intra", "d_inter", "d", "s", "alpha", "extractor", "n_fake"}
    assert out["d_inter"] == pytest.approx(1.0)
    assert out["q"] == pytest.approx(out["alpha"] / (1 + out["alpha"]))
    assert out["s"] == pytest.approx(np.sqrt(out["q"] * out["d"]))


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("fn", [M.frechet_distance, M.knn_two_sample, M.precision_recall, M.quality_score])
def test_bad_features_raise_value_error(fn):
    a = torch.randn(50, 8)
    with pytest.raises(ValueError, match="same feature dimension"):
        fn(a, torch.randn(50, 9))
    bad = a.clone()
    bad[3, 2] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        fn(bad, a)
    with pytest.raises(ValueError, match="2-D"):
        fn(a[0], a)


@pytest.mark.parametrize("n,d", [(50, 8), (6, 16)])        # covariance route, nuclear-norm route
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_frechet_non_finite_either_set_raises(n, d, value):
    """frechet_distance checks finiteness on the float64 means, not value by value: same errors."""
    a, b = torch.randn(n, d), torch.randn(n, d)
    for first in (True, False):
        bad = (a if first else b).clone()
        bad[n - 1, d - 1] = value
        with pytest.raises(ValueError, match="NaN or inf"):
            M.frechet_distance(bad, b) if first else M.frechet_distance(a, bad)
    with pytest.raises(ValueError, match="NaN or inf"):
        M.gaussian_stats(bad.double())


def test_too_few_samples_raise_value_error():
    with pytest.raises(ValueError, match="at least 2"):
        M.frechet_distance(torch.randn(1, 4), torch.randn(10, 4))
    with pytest.raises(ValueError, match="at least 2"):
        M.precision_recall(torch.randn(10, 4), torch.randn(1, 4))
    with pytest.raises(ValueError, match="k must be"):
        M.precision_recall(torch.randn(10, 4), torch.randn(3, 4), k=3)
    with pytest.raises(ValueError, match="at least 2"):
        M.intra_diversity(torch.randn(1, 1, 32, 32))


def test_label_length_mismatch_raises_value_error():
    with pytest.raises(ValueError, match="same length"):
        M.cluster_acc([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="same length"):
        M.nmi(np.zeros(5, int), np.zeros(4, int))
    with pytest.raises(ValueError, match="same length"):
        M.diversity_score(torch.randn(4, 1, 32, 32), torch.zeros(3, dtype=torch.long), 10)
    with pytest.raises(ValueError, match="probability"):
        M.inception_score(torch.randn(20, 10))


# ----------------------------------------------------------------------------- feature extractors


def test_inception_absent_weights_clear_error_without_network(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def no_network(*a, **k):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    with pytest.raises(FileNotFoundError) as e:
        M.InceptionFeatures()
    msg = str(e.value)
    assert "weights-inception-2015-12-05-6726825d.pth" in msg and str(tmp_path / "checkpoints") in msg
    assert "downloads them only when asked" in msg and "download=True" in msg
    with pytest.raises(FileNotFoundError, match="does not exist"):
        M.InceptionFeatures(weights=tmp_path / "nope.pth")
    assert M.inception_weights() is None


def test_inception_loading_path_with_stand_in_weights(tmp_path):
    """The real weights are not shipped (no network here): a randomly initialised state dict in
    pytorch-fid's format (torchvision Inception3, 1008 classes, no aux) exercises the same code."""
    pytest.importorskip("torch_fidelity")
    import torchvision

    net = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
    path = tmp_path / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(net.state_dict(), path)
    ext = M.InceptionFeatures(weights=path)
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    f, p = ext.features(x), ext.probs(x)
    assert f.shape == (2, 2048) and p.shape == (2, 1008)
    assert p.dtype == torch.float64 and torch.allclose(p.sum(1), torch.ones(2, dtype=torch.float64), atol=1e-9)


@pytest.mark.skipif(feat.inception_weights() is None,
                    reason="FID InceptionV3 weights not in the torch hub cache (no network to fetch them)")
def test_inception_real_weights():
    ext = M.get_extractor("auto", "mnist")
    assert isinstance(ext, M.InceptionFeatures)
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    assert ext.features(x).shape == (4, 2048)


def _digits():
    from mixgan.data import load_tensors
    return load_tensors("digits")


def test_training_loop_and_cache_on_digits(tmp_path, monkeypatch):
    x, y = _digits()
    model = M.train_domain_classifier(x[:1200], y[:1200], epochs=1, batch_size=64, lr=3e-3, progress=False)
    assert M.accuracy(model, x[1200:], y[1200:]) > 0.5           # one 19-step epoch: ~83 %, chance 10 %
    f, p = model.features(x[:5]), model.probs(x[:5])
    assert f.shape == (5, 128) and p.shape == (5, 10)
    # pretrained(): trains once into $MIXGAN_DATA/cache, then loads the saved file
    monkeypatch.setenv("MIXGAN_DATA", str(tmp_path))
    monkeypatch.setattr(feat, "SHIPPED_DIR", tmp_path / "shipped")
    monkeypatch.setattr(feat, "train_domain_classifier",
                        lambda x, y, **kw: M.train_domain_classifier(x[:256], y[:256], **{**kw, "epochs": 1}))
    m1 = M.DomainClassifier.pretrained("digits", epochs=1, progress=False)
    saved = tmp_path / "cache" / "domain-digits-32px-seed0.pt"
    assert saved.is_file() and not list(saved.parent.glob("*.tmp"))
    monkeypatch.setattr(feat, "train_domain_classifier", lambda *a, **k: pytest.fail("retrained"))
    m2 = M.DomainClassifier.pretrained("digits")
    assert torch.allclose(m1.features(x[:8]), m2.features(x[:8]), atol=1e-6)
    ext = M.get_extractor("domain", "digits")
    rep = M.fid_report(x[:100], x[100:220], ext)
    assert rep["n_real"] == 100 and rep["n_fake"] == 120 and rep["dim"] == 128
    assert rep["extractor"].startswith("domain-digits") and rep["fid"] >= 0


@pytest.mark.parametrize("name,min_acc", [("mnist", 0.99), ("fashionmnist", 0.90)])
def test_shipped_domain_classifier_accuracy(name, min_acc):
    f = feat.SHIPPED_DIR / M.DomainClassifier.key(name)
    if not f.is_file():
        pytest.skip(f"no shipped classifier {f.name} in results/feature_nets/")
    if not MIRROR:
        pytest.skip("MIXGAN_MIRROR is not set: the MNIST/Fashion-MNIST test sets are not available offline")
    from mixgan.data import load_tensors
    xt, yt = load_tensors(name, train=False)
    model = M.DomainClassifier.pretrained(name)
    assert M.accuracy(model, xt, yt) >= min_acc
    assert f.stat().st_size < 2 * 2 ** 20


# ----------------------------------------------------------------------------- benchmark dry run


def test_benchmark_quick_runs(capsys):
    """The benchmark's --quick dry run, in this process (a fresh interpreter costs seconds)."""
    import runpy

    bench = runpy.run_path(str(REPO / "benchmarks" / "metrics_speed.py"), run_name="metrics_speed")
    bench["main"](["--quick"])
    out = capsys.readouterr().out
    assert "frechet_distance" in out and "knn_two_sample" in out and "peak" in out
    assert "same: True" in out


def test_affine_stroke_augmentation():
    from mixgan.metrics.features import affine_stroke
    g = lambda: torch.Generator().manual_seed(3)                      # noqa: E731
    x = torch.rand(6, 1, 32, 32) * 2 - 1
    out = affine_stroke(x, g())
    assert out.shape == x.shape and out.min() >= -1 - 1e-5 and out.max() <= 1 + 1e-5
    assert torch.equal(out, affine_stroke(x, g()))                    # seeded: reproducible
    blank = -torch.ones(3, 1, 32, 32)
    assert torch.allclose(affine_stroke(blank, g()), blank)             # the background stays -1
    same = affine_stroke(x, g(), rotate=0, scale=0, shift=0)          # geometry off: only the stroke width
    thin, thick = -F.max_pool2d(-x, 3, 1, 1), F.max_pool2d(x, 3, 1, 1)
    for i in range(len(x)):
        assert any(torch.allclose(same[i], v[i], atol=1e-5) for v in (thin, x, thick))


def test_domain_classifier_bad_augment():
    x, y = torch.zeros(4, 1, 32, 32), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ValueError, match="augment"):
        M.train_domain_classifier(x, y, augment="flip", progress=False)


def test_domain_classifier_fractional_epochs(monkeypatch):
    """epochs may be fractional: ⌈epochs · batches per epoch⌉ optimizer steps; 1.0 is the same run as 1."""
    x, y = torch.rand(64, 1, 32, 32) * 2 - 1, torch.arange(64) % 4
    steps, step = [], torch.optim.Adam.step
    monkeypatch.setattr(torch.optim.Adam, "step", lambda self, *a, **k: (steps.append(1), step(self, *a, **k))[1])
    kw = dict(batch_size=16, progress=False, widths=(4, 8, 8), augment="none")
    for epochs, n in [(0.5, 2), (0.3, 2), (1, 4), (1.0, 4), (2.25, 9)]:
        steps.clear()
        M.train_domain_classifier(x, y, epochs=epochs, **kw)
        assert len(steps) == n, (epochs, len(steps))
    one, one_f = (M.train_domain_classifier(x, y, epochs=e, **kw) for e in (1, 1.0))
    assert all(torch.equal(p, q) for p, q in zip(one.parameters(), one_f.parameters()))
    with pytest.raises(ValueError, match="epochs"):
        M.train_domain_classifier(x, y, epochs=0, **kw)
