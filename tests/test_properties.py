"""Property-based tests (hypothesis) of the public entry points: ``data.toy``, ``models.build``,
``train.fit`` on tiny data and every metric.  Whatever the input, each call either returns
finite output of the documented shape or raises one of the documented exception types
(ValueError / TypeError, and FloatingPointError for a diverging ``fit``) with a non-empty
message.  Derandomised (the same examples every run) and sized to run in well under a minute.
"""
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixgan import metrics
from mixgan.data import toy, toy_names, toy_spec
from mixgan.models import MODELS, build
from mixgan.train import fit

SETTINGS = dict(deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
DOCUMENTED = (ValueError, TypeError)

any_number = st.one_of(st.integers(-3, 3), st.floats(allow_nan=True, allow_infinity=True, width=32),
                       st.sampled_from([0, 0.0, -1, 1e-9, 1e9, 2 ** 70]))
junk = st.one_of(st.none(), st.booleans(), st.text(max_size=3), st.lists(st.integers(0, 3), max_size=3))


def documented(exc):
    """The exception is a documented type with a message a user can read."""
    assert isinstance(exc, DOCUMENTED), f"undocumented {type(exc).__name__}: {exc}"
    assert str(exc).strip(), f"{type(exc).__name__} without a message"


def finite(*xs):
    for x in xs:
        if isinstance(x, torch.Tensor):
            assert torch.isfinite(x.float()).all()
        else:
            assert math.isfinite(x), x


# ----------------------------------------------------------------------------- data.toy

@settings(max_examples=250, **SETTINGS)
@given(name=st.one_of(st.sampled_from(toy_names()), st.text(max_size=6)),
       n=st.one_of(st.integers(-3, 3000), st.integers(10 ** 8 + 1, 2 ** 70), any_number, junk),
       seed=st.one_of(st.integers(0, 2 ** 63 - 1), st.integers(-5, -1), st.integers(2 ** 63, 2 ** 70), any_number, junk))
def test_toy(name, n, seed):
    try:
        x, labels, spec = toy(name, n=n, seed=seed)
    except Exception as e:
        documented(e)
        return
    want = n if n is not None else len(x)
    assert x.shape == (want, 2) and x.dtype == torch.float32 and labels.shape == (want,)
    finite(x, spec.log_prob(x[:100]))
    assert 0 <= int(labels.min()) and int(labels.max()) < spec.num_modes


# ----------------------------------------------------------------------------- models.build

OPTIONS = {
    "z_dim": st.one_of(st.integers(1, 6), any_number), "K": st.one_of(st.integers(1, 6), any_number),
    "depth": st.one_of(st.integers(1, 3), any_number), "arity": st.one_of(st.integers(2, 3), any_number),
    "hidden": st.one_of(st.integers(1, 16), any_number), "n_classes": st.one_of(st.integers(1, 6), any_number),
    "c": any_number, "var": any_number, "lam": any_number, "beta": any_number, "lr": any_number,
    "betas": st.one_of(st.tuples(any_number, any_number), junk), "pack": st.one_of(st.integers(1, 2), any_number),
    "learn": st.sampled_from(["none", "diag", "full", "nope", 3]), "body_norm": st.sampled_from(["none", "batch", "x"]),
    "mapping": junk, "amsgrad": st.one_of(st.booleans(), junk), "seed": st.one_of(st.integers(0, 9), any_number),
}


@settings(max_examples=400, **SETTINGS)
@given(name=st.sampled_from(sorted(MODELS)),
       options=st.dictionaries(st.sampled_from(sorted(OPTIONS)), st.none(), max_size=3).flatmap(
           lambda d: st.fixed_dictionaries({k: OPTIONS[k] for k in d})))
def test_build(name, options):
    """Valid settings build a model whose samples are finite [n, 2]; others one clear error."""
    options = {k: v for k, v in options.items() if k in {f for f in OPTIONS}}
    seed = options.pop("seed", 0)
    try:
        model = build(name, (2,), seed=seed, **options)
    except Exception as e:
        documented(e)
        return
    model.eval()
    with torch.no_grad():
        x = model.sample(4)
    assert x.shape == (4, 2)
    finite(x)


@pytest.mark.parametrize("kw,msg", [
    (dict(depth=1.5), "depth must be a whole number"), (dict(arity=2.5), "arity must be a whole number"),
    (dict(K=2.5), "K must be a whole number"), (dict(n_classes=0), "n_classes must be >= 1"),
    (dict(base=0), "base must be >= 1"), (dict(var=math.inf), "var must be a finite number > 0"),
    (dict(c=math.inf), "c must be a finite number"), (dict(z_dim=0), "z_dim must be >= 1"),
    (dict(hidden=0), "hidden must be >= 1"), (dict(lam=math.nan), "lam must be a finite number"),
    (dict(lr=0.0), "lr must be a finite number > 0"), (dict(n_critic=0), "n_critic must be >= 1"),
    (dict(depth="3"), "depth must be an integer"), (dict(betas=(0.5,)), "betas must be two numbers"),
    (dict(depth=20), "depth must be <= 8"), (dict(arity=64, depth=3), "generators is more than"), (dict(mapping=[0.5] * 8), "mapping must be a list of class"),
])
def test_build_names_the_bad_value(kw, msg):
    name = "mmgan_supervised" if "mapping" in kw else "hmog"
    with pytest.raises((ValueError, TypeError), match=msg):
        build(name, (2,), **kw)


def test_build_whole_floats_become_ints():
    model = build("mog", (2,), K=4.0, z_dim=3.0)
    assert type(model.cfg.K) is int and model.cfg.K == 4 and model.cfg.z_dim == 3


# ----------------------------------------------------------------------------- train.fit

FIT = {
    "steps": st.one_of(st.integers(-1, 3), st.sampled_from([2.5, -1e9, math.nan, math.inf]), junk), "batch_size": st.one_of(st.integers(-1, 8), any_number),
    "n_critic": st.one_of(st.integers(-1, 2), any_number), "lr": st.one_of(st.floats(1e-5, 10.0), any_number),
    "betas": st.one_of(st.tuples(st.floats(0, 0.99), st.floats(0, 0.99)), junk),
    "log_every": st.one_of(st.integers(-1, 3), any_number), "seed": st.one_of(st.integers(0, 99), any_number, junk),
    "g_batch_size": st.one_of(st.integers(-1, 8), st.none()), "lr_decay": st.one_of(st.floats(-1, 2), st.none()),
}


@settings(max_examples=300, **SETTINGS)
@given(kw=st.fixed_dictionaries({}, optional=FIT),
       data_kind=st.sampled_from(["float32", "float64", "half", "int", "nan", "pair", "short_y"]))
def test_fit(kw, data_kind):
    """fit on 32 toy points: a finite history, or one documented error (FloatingPointError
    when the chosen learning rate makes training diverge)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(32, 2, generator=g)
    data = {"float32": x, "float64": x.double(), "half": x.half(), "int": x.long(),
            "nan": x.masked_fill(x > 2, float("nan")) if (x > 2).any() else x.clone().fill_(float("nan")),
            "pair": (x, torch.arange(32) % 3), "short_y": (x, torch.arange(16) % 3)}[data_kind]
    model = build("fc", (2,), hidden=4, n_critic=1)
    kw.setdefault("steps", 2)
    try:
        h = fit(model, data, progress=False, device="cpu", **kw)
    except FloatingPointError as e:
        assert "diverged" in str(e)
        return
    except Exception as e:
        documented(e)
        return
    assert len(h["step"]) == len(h["d_loss"]) == len(h["g_loss"])
    finite(*h["d_loss"], *h["g_loss"])


# ----------------------------------------------------------------------------- metrics

def features(n, d, scale, seed, nan=False):
    f = torch.randn(n, d, generator=torch.Generator().manual_seed(seed)) * scale
    if nan and n:
        f[0, 0] = float("nan")
    return f


feat = st.tuples(st.integers(0, 12), st.integers(1, 4), st.sampled_from([0.0, 1e-20, 1.0, 1e15]),
                 st.integers(0, 9), st.booleans())


def call(fn, *a, **k):
    """fn(*a, **k), or None after checking that the error is a documented one."""
    try:
        return fn(*a, **k)
    except Exception as e:
        documented(e)
        return None


@settings(max_examples=200, **SETTINGS)
@given(a=feat, b=feat, k=st.integers(-1, 6))
def test_feature_metrics(a, b, k):
    """frechet_distance, knn_two_sample, precision_recall, quality_score, calibrate_alpha."""
    fa, fb = features(*a), features(*b)
    out = call(metrics.frechet_distance, fa, fb)
    if out is not None:
        assert out >= 0 and math.isfinite(out)
    for fn in (metrics.knn_two_sample, metrics.precision_recall):
        out = call(fn, fa, fb, k=k)
        if out is not None:
            assert all(0 <= v <= 1 for v in out)
    out = call(metrics.quality_score, fa, fb, alpha=1.0)
    if out is not None:
        assert 0 <= out <= 1
    out = call(metrics.calibrate_alpha, fa, n=8)
    if out is not None:                                  # alpha = exp(median NN distance): a ValueError
        assert out > 0 and math.isfinite(out)            # once distances pass ~709, log=True then
    out = call(metrics.calibrate_alpha, fa, n=8, log=True)
    if out is not None:
        assert out >= 0 and math.isfinite(out)
    out = call(metrics.quality_score, fa, fb)            # alpha="auto" works in log space
    if out is not None:
        assert 0 <= out <= 1


labels = st.lists(st.integers(-1, 5), max_size=20)


@settings(max_examples=200, **SETTINGS)
@given(y_true=labels, y_pred=st.one_of(labels, st.lists(st.floats(allow_nan=True), max_size=5)),
       n_classes=st.integers(-1, 7), q=any_number, d=any_number)
def test_label_metrics(y_true, y_pred, n_classes, q, d):
    """cluster_acc, nmi, inter_diversity, combined_score: in [0, 1] or one clear error."""
    for fn in (metrics.cluster_acc, metrics.nmi):
        out = call(fn, y_true, y_pred)
        if out is not None:
            assert 0 <= out <= 1 + 1e-12
    out = call(metrics.inter_diversity, y_true, n_classes)
    if out is not None:
        assert 0 <= out <= 1 + 1e-12
    out = call(metrics.combined_score, q, d)
    if out is not None:
        assert 0 <= out <= 1


@settings(max_examples=150, **SETTINGS)
@given(n=st.integers(0, 30), c=st.integers(1, 4), seed=st.integers(0, 9), splits=st.integers(-1, 12),
       logits_scale=st.sampled_from([0.0, 1.0, 50.0]), raw=st.booleans())
def test_inception_score(n, c, seed, splits, logits_scale, raw):
    logits = torch.randn(n, c, generator=torch.Generator().manual_seed(seed)) * logits_scale
    probs = logits if raw else logits.softmax(1)
    out = call(metrics.inception_score, probs, splits=splits)
    if out is not None:
        mean, std = out
        assert 1 - 1e-6 <= mean <= c + 1e-6 and std >= 0


@settings(max_examples=150, **SETTINGS)
@given(name=st.sampled_from(toy_names()), n=st.integers(0, 50), scale=st.sampled_from([0.0, 1.0, 1e30]),
       shift=st.sampled_from([0.0, float("nan"), float("inf")]), dim=st.sampled_from([1, 2, 3]),
       threshold=st.one_of(st.floats(0.1, 5.0), any_number))
def test_toy_scores(name, n, scale, shift, dim, threshold):
    spec = toy_spec(name)
    x = torch.randn(n, dim, generator=torch.Generator().manual_seed(n)) * scale
    if n:
        x[0, 0] += shift
    out = call(metrics.toy_scores, x, spec, threshold=threshold)
    if out is not None:
        assert 0 <= out["modes"] <= spec.num_modes and 0 <= out["high_quality"] <= 1
        finite(out["high_quality"], out["kl"])


@settings(max_examples=30, **SETTINGS)
@given(n=st.integers(0, 5), size=st.sampled_from([8, 32, 96]), c=st.sampled_from([1, 3]),
       pairs=st.integers(1, 6), kind=st.sampled_from(["noise", "constant", "nan"]))
def test_diversity(n, size, c, pairs, kind):
    """mean_ms_ssim / intra_diversity / diversity_score on small image sets."""
    x = torch.rand(n, c, size, size, generator=torch.Generator().manual_seed(n)) * 2 - 1
    if kind == "constant":
        x = torch.zeros_like(x)
    elif kind == "nan" and n:
        x[0, 0, 0, 0] = float("nan")
    out = call(metrics.mean_ms_ssim, x, max_pairs=pairs)
    if out is not None:
        assert math.isfinite(out) and -1 <= out <= 1 + 1e-6
    out = call(metrics.diversity_score, x, torch.arange(n) % 3, 3, max_pairs=max(pairs, 1))
    if out is not None:
        finite(out["d"], out["d_intra"], out["d_inter"])
