"""The benchmark scripts run end to end with --quick (tiny shapes): every model is
measured in its own child process, ratios and peak RSS are reported and written as JSON.
No timing is asserted (CI machines are shared): only that the figures exist and are sane."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(script, tmp_path):
    out = tmp_path / f"{script}.json"
    r = subprocess.run([sys.executable, f"benchmarks/{script}.py", "--quick", "--json", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout, json.loads(out.read_text())


def test_step_time_quick(tmp_path):
    stdout, res = _run("step_time", tmp_path)
    r = res["results"]
    assert set(r) == {"fc", "mog32", "hmog5", "hmog8"}
    assert r["fc"]["ratio_to_fc"] == 1.0
    for k, v in r.items():
        assert v["s_per_iter"] > 0 and 0.05 < v["peak_rss_gb"] < 64 and v["iters"] == 2, k
    assert r["hmog8"]["head_params"] > r["hmog5"]["head_params"] > r["fc"]["head_params"]
    assert "HMoG depth 8 peak RSS" in stdout and "hmog5:" in stdout


def test_head_speed_quick(tmp_path):
    stdout, res = _run("head_speed", tmp_path)
    s = res["speed"]
    assert s["K"] == 32 and s["head_s"] > 0 and s["gemm_s"] > 0 and s["fraction"] > 0
    assert abs(s["gflop"] - 3 * 2 * 16 * 32 * 101 * 256 / 1e9) < 1e-9
    assert res["memory"]["model"] == "hmog8" and res["memory"]["peak_rss_gb"] > 0.05
    assert "% of the GEMM rate" in stdout and "peak RSS" in stdout


def test_analysis_targets_cluster_quick_and_reuse(tmp_path):
    """`cluster --quick`: a tiny MM-GAN, Algorithm 2, one self-training round, k-means; `--reuse --from-run quick
    --tag am --refine 2 --relabel argmax --n-cluster 200` reruns Algorithm 2 and the rounds (argmax relabelling) on
    the first 200 images with the stored GAN, without training it, under a new name; `--start kmeans` is the
    control without a GAN (`--clf-epochs` overrides the classifier's epochs, `--round-epochs` those of each round)."""
    cmd = [sys.executable, "benchmarks/analysis_targets.py", "cluster", "--quick", "--out", str(tmp_path)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((tmp_path / "cluster_mnist_quick.json").read_text())
    from mixgan import results                      # stored through mixgan.results, each file with its entry
    assert results.load("cluster/mnist/quick", tmp_path) == res and results.unlisted(tmp_path) == []
    assert set(results.keys("cluster/mnist/quick", tmp_path)) == {
        "cluster/mnist/quick", "cluster/mnist/quick/gan", "cluster/mnist/quick/components"}
    assert results.entry("cluster/mnist/quick/gan", tmp_path)["command"] == " ".join(
        ["python", "benchmarks/analysis_targets.py"] + cmd[2:])
    assert res["settings"]["refine"] == 1 and len(res["mmgan_selftrain"]) == 1 and res["n_clustered"] == 300
    assert 0 <= res["mmgan"]["acc"] <= 1 and 0 <= res["kmeans"]["nmi"] <= 1 and res["train_seconds"] > 0
    assert "Algorithm 2" in r.stdout and "self-training round 1" in r.stdout
    assert res["settings"]["relabel"] == "kmeans"
    r = subprocess.run(cmd + ["--reuse", "--from-run", "quick", "--tag", "am", "--refine", "2", "--relabel", "argmax",
                              "--n-cluster", "200"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    again = json.loads((tmp_path / "cluster_mnist_quick-am.json").read_text())
    assert again["settings"]["refine"] == 2 and len(again["mmgan_selftrain"]) == 2
    assert again["settings"]["relabel"] == "argmax" and again["gan_from"] == "quick" and again["n_clustered"] == 200
    assert json.loads((tmp_path / "cluster_mnist_quick.json").read_text()) == res              # left as it was
    assert again["train_seconds"] == res["train_seconds"]                                      # the same GAN
    r = subprocess.run(cmd + ["--start", "kmeans", "--clf-epochs", "2", "--round-epochs", "0.5"], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    ctl = json.loads((tmp_path / "cluster_mnist_quick-nogan.json").read_text())
    assert ctl["start"] == "kmeans" and "mmgan" not in ctl and len(ctl["kmeans_selftrain"]) == 1
    assert ctl["settings"]["clf_epochs"] == 2 and res["settings"]["clf_epochs"] == 1
    assert ctl["settings"]["round_epochs"] == 0.5 and "round_epochs" not in res["settings"]
    assert ctl["kmeans"] == res["kmeans"] and "steps" not in ctl["settings"]        # same k-means; no GAN settings
    r = subprocess.run(cmd + ["--start", "kmeans", "--reuse"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 2 and "trains no GAN" in r.stderr
    r = subprocess.run([sys.executable, "benchmarks/analysis_targets.py", "show", "--out", str(tmp_path)], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "cluster/mnist/quick-am:" in r.stdout and "no GAN: k-means + 1" in r.stdout


def test_analysis_targets_settings_are_exclusive():
    """`--long` (the CPU GAN 3x longer on all 60k images) is a cluster setting and excludes `--full` / `--quick`."""
    import benchmarks.analysis_targets as T
    from mixgan import presets
    assert T.CLUSTER is presets.CLUSTER and T.CLUSTER["long"]["n_cluster"] == 60_000 and T.CLUSTER["long"]["refine"] == 10
    for argv, msg in ((["tree", "--long"], "--long is a cluster setting"),
                      (["cluster", "--long", "--quick"], "not allowed with")):
        r = subprocess.run([sys.executable, "benchmarks/analysis_targets.py", *argv], cwd=ROOT, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 2 and msg in r.stderr, r.stderr


def test_fig9_quick_in_two_shards_then_merge(tmp_path):
    """`fig9.py --quick --shard I/2` in two processes at once, then `merge --key`: the grid's rows in grid
    order, stored through mixgan.results with the commands; a rerun of a finished shard trains nothing, and a
    bad --shard is one line and exit status 2."""
    import benchmarks.fig9 as F
    from mixgan import results
    cmd = [sys.executable, "benchmarks/fig9.py", "--quick", "--seeds", "0,1", "--out", str(tmp_path / "s")]
    procs = [subprocess.Popen(cmd + ["--shard", f"{i}/2"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e[-3000:] for _, e in outs]
    assert "shard 0/2: 2 cells, 0 already in" in outs[0][0] and "[2/2] hmog    K=4   seed=0" in outs[0][0]
    rows = F.main(["merge", str(tmp_path / "s"), "--key", "fig9/quick", "--root", str(tmp_path / "res")])
    cells = [("fc", 1, 0), ("fc", 1, 1), ("hmog", 4, 0), ("hmog", 4, 1)]
    assert [(r["model"], r["K"], r["seed"]) for r in rows] == cells
    assert results.load("fig9/quick", tmp_path / "res") == rows and rows[0]["steps"] == 3 and rows[0]["n_fake"] == 200
    e = results.entry("fig9/quick", tmp_path / "res")
    assert e["command"].startswith("python benchmarks/fig9.py merge ") and "run --quick --seeds 0,1" in e["command"]
    r = subprocess.run(cmd + ["--shard", "1/2"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "2 already in" in r.stdout and "0 to run" in r.stdout, r.stderr[-3000:]
    r = subprocess.run(cmd + ["--shard", "2/2"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--shard takes I/N" in r.stderr, r.stderr
