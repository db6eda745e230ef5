"""mixgan.presets: the settings benchmarks and notebooks share, defined once."""
import pytest

from mixgan import presets


def test_cluster_settings_build_a_model_and_name_the_variance():
    from mixgan import models
    for name, s in presets.CLUSTER.items():
        assert "sigma" not in s and s["var"] == 0.15 and s["c"] == 0.3, name
    full = presets.setting(presets.CLUSTER, "full")
    full["steps"] = 1                                                   # a copy: the preset is untouched
    assert presets.CLUSTER["full"]["steps"] == 12_000 and presets.CLUSTER["long"]["n_cluster"] == 60_000
    m = models.build("mmgan_static", (2,), K=3, hidden=8, **{k: full[k] for k in ("c", "var")})
    assert m.prior.var == 0.15
    with pytest.raises(ValueError, match="choose from"):
        presets.setting(presets.TREE, "long")


def test_toy_recipe():
    assert presets.toy_recipe("plain", "grid25") == (None, {})
    steps, kw = presets.toy_recipe("sharp", "grid25")
    assert steps == 30_000 and kw == {"body_norm": "batch", "fit_kw": {"lr_decay": 0.5}}
    assert presets.toy_recipe("sharp", "hmog5") == (None, {})
    with pytest.raises(ValueError, match="unknown toy recipe"):
        presets.toy_recipe("fast", "grid25")


def test_benchmarks_read_the_presets():
    import benchmarks.analysis_targets as T
    assert T.CLUSTER is presets.CLUSTER and T.TREE is presets.TREE and T.SIGMA is presets.SIGMA
