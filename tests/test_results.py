"""mixgan.results: every stored result has a manifest entry and is read by its key."""
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from mixgan import analysis as A  # noqa: E402
from mixgan import models, results  # noqa: E402

FIELDS = {"file", "kind", "what", "command", "commit", "machine", "date"}


def test_save_load_roundtrip_by_kind_with_manifest_entries(tmp_path):
    r = dict(root=tmp_path, command="python x.py --quick")
    results.save("cluster/mnist/quick", {"acc": 0.5}, what="a result", **r)
    results.save("tree/mnist/quick/corr-hmog", np.eye(3), what="a matrix", **r)
    results.save("fig9/cpu", [dict(model="fc", K=1, fid=2.5, extractor="domain")], kind="csv", what="rows", **r)
    fig = plt.figure()
    results.save("tree/mnist/quick/corr", fig, what="a figure", **r)
    plt.close(fig)
    model = models.build("mmgan_static", (2,), K=3, hidden=8)
    results.save("cluster/mnist/quick/gan", model, what="a GAN", **r)
    summary = A.tree_summary(models.build("hmog", (2,), depth=2, hidden=8), n=50, top=2)
    results.save("tree/mnist/quick/summary", summary, kind="tree_summary", what="a summary", **r)

    assert (tmp_path / "cluster_mnist_quick.json").is_file()            # key "/" -> "_", the kind's extension
    assert results.load("cluster/mnist/quick", tmp_path) == {"acc": 0.5}
    np.testing.assert_array_equal(results.load("tree/mnist/quick/corr-hmog", tmp_path), np.eye(3))
    assert results.load("fig9/cpu", tmp_path) == [dict(model="fc", K=1, fid=2.5, extractor="domain")]
    assert results.load("tree/mnist/quick/corr", tmp_path).read_bytes()[:4] == b"\x89PNG"
    gan = results.load("cluster/mnist/quick/gan", tmp_path)
    torch.testing.assert_close(gan.prior.mu, model.prior.mu)
    s = results.load("tree/mnist/quick/summary", tmp_path)
    assert s["leaf_x"].dtype == torch.float32 and s["arity"] == 2
    torch.testing.assert_close(s["leaf_p"], summary["leaf_p"], atol=1e-3, rtol=1e-3)   # stored in float16

    assert results.keys("tree/", tmp_path) == ["tree/mnist/quick/corr", "tree/mnist/quick/corr-hmog",
                                                "tree/mnist/quick/summary"]
    entries = json.loads((tmp_path / "MANIFEST.json").read_text())["entries"]
    assert all(set(e) == FIELDS for e in entries.values()) and entries["fig9/cpu"]["command"] == "python x.py --quick"
    assert results.unlisted(tmp_path) == []
    (tmp_path / "stray.json").write_text("{}")
    assert results.unlisted(tmp_path) == ["stray.json"]


def test_rewriting_a_key_keeps_its_file_and_errors_name_the_key(tmp_path):
    results.save("toy_modes/defaults", {"rows": []}, what="w", command="c", file="toy_modes.json", root=tmp_path)
    results.save("toy_modes/defaults", {"rows": [1]}, what="w", command="c2", root=tmp_path)
    assert results.path("toy_modes/defaults", root=tmp_path).name == "toy_modes.json"
    assert results.load("toy_modes/defaults", tmp_path) == {"rows": [1]}
    assert not results.has("toy_modes/grid25", tmp_path)
    with pytest.raises(KeyError, match="toy_modes/grid25.*toy_modes/defaults"):
        results.load("toy_modes/grid25", tmp_path)
    with pytest.raises(TypeError, match="kind="):
        results.save("x/y", object(), what="w", command="c", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        results.record("x/y", "missing.json", what="w", command="c", kind="json", root=tmp_path)


def test_the_committed_results_are_all_in_the_manifest_and_small():
    """results/ holds only what the notebooks show: every file listed, every entry present, <= 40 files, <= 10 MB."""
    entries = results.manifest()
    assert results.unlisted() == []
    files = [p for p in results.ROOT.rglob("*") if p.is_file()]
    assert len(files) <= 40 and sum(p.stat().st_size for p in files) <= 10 * 2 ** 20
    for key, e in entries.items():
        assert set(e) == FIELDS and results.has(key), key
    assert entries["tree/mnist/gpu/hmog"]["file"] == "tree_hmog_mnist_gpu.png"
    runs = results.load("cluster/runs")
    assert max(r["mmgan_selftrain"][-1]["acc"] for r in runs["mnist"].values() if r.get("mmgan_selftrain")) > 0.95
    assert all(r["command"].startswith("python benchmarks/analysis_targets.py cluster") for r in runs["mnist"].values())
    assert results.load("cluster/mnist/cpu/gan").prior.var == pytest.approx(0.15)   # an old "sigma" config loads
    assert "scale" in results.load("sigma/mnist/cpu")["rows"][0]
