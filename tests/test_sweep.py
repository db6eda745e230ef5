"""The Fig. 9 sweep in shards: the grid and its round-robin shards, shard files that a rerun
resumes, the merge and its refusals, and the command line's --shard.  Tiny models (base 8, 2 steps)
on random 32-px images, scored in the shipped MNIST classifier's features."""
import json
import shutil

import pytest
import torch

from mixgan import shards, sweep
from mixgan.metrics import get_extractor

MODELS, KS, SEEDS = ["fc", "hmog", "mog"], [2, 4], [0, 1]
KW = dict(models=MODELS, Ks=KS, seeds=SEEDS, steps=2, base=8, data="fake", n_eval=32, batch_size=16, n_critic=1)


def _same(a, b):
    """Rows equal in everything but the seconds."""
    drop = lambda rows: [{k: v for k, v in r.items() if k != "seconds"} for r in rows]   # noqa: E731
    return drop(a) == drop(b)


@pytest.fixture(scope="module")
def setup():
    g = torch.Generator().manual_seed(0)
    x, xt = torch.rand(64, 1, 32, 32, generator=g) * 2 - 1, torch.rand(40, 1, 32, 32, generator=g) * 2 - 1
    ext = get_extractor("domain", "mnist", device="cpu")
    rows = sweep.fig9_sweep(MODELS, KS, x, 2, ext, xt, seeds=SEEDS, n_eval=32, base=8, log=lambda s: None,
                            batch_size=16, n_critic=1)
    return x, xt, ext, rows


def _run(path, i, n, setup, **over):
    x, xt, ext, _ = setup
    return sweep.run_shard(path, i, n, x, ext, xt, log=lambda s: None, **{**KW, **over})


@pytest.fixture(scope="module")
def two_shards(setup, tmp_path_factory):
    d = tmp_path_factory.mktemp("shards")
    for i in range(2):
        _run(shards.shard_file(d, i, 2), i, 2, setup)
    return d


def test_grid_order_and_shards_cover_it():
    cells = shards.grid(["fc", "hmog", "mgan"], [4, 16], [0, 1])
    assert cells[:4] == [("fc", 1, 0), ("fc", 1, 1), ("hmog", 4, 0), ("hmog", 4, 1)] and len(cells) == 10
    for n in (1, 2, 3, 4, 7, 10, 13):
        parts = [shards.shard(cells, i, n) for i in range(n)]
        assert sorted(c for p in parts for c in p) == sorted(cells)          # covered, none twice
        assert sum(map(len, parts)) == len(cells) and max(map(len, parts)) - min(map(len, parts)) <= 1
        assert parts[0] == cells[0::n]
    assert len(shards.grid(["fc", "mog", "hmog", "madgan", "mgan", "megan"], [4, 16], [0, 1])) == 22
    for bad, msg in (((["hmog"], [4, 6], [0]), "power of two"), ((["nope"], [4], [0]), "unknown model"),
                     ((["mog"], [4, 4], [0]), "twice"), ((["mog"], [4], [-1]), "seeds")):
        with pytest.raises(ValueError, match=msg):
            shards.grid(*bad)


@pytest.mark.parametrize("text", ["3", "a/b", "0/0", "4/4", "5/4", "-1/4", "1/-4", "", "/", "1/2/3", "1.0/2"])
def test_parse_shard_refuses(text):
    with pytest.raises(ValueError, match="--shard takes I/N with 0 <= I < N") as e:
        shards.parse_shard(text)
    assert "\n" not in str(e.value)


def test_parse_shard():
    assert shards.parse_shard("0/1") == (0, 1) and shards.parse_shard(" 3/4 ") == (3, 4)


def test_two_shards_merge_to_the_one_process_rows(setup, two_shards):
    rows = setup[3]
    assert [shards.cell_of(r) for r in rows] == shards.grid(MODELS, KS, SEEDS)
    merged = shards.merge([two_shards])
    assert _same(merged, rows)                         # a cell's row does not depend on its shard
    assert all(a["fid"] != b["fid"] for a, b in zip(rows[0::2], rows[1::2]))     # the seeds do differ
    d = shards.read_shard(shards.shard_file(two_shards, 1, 2))
    assert d["shard"] == "1/2" and d["grid"]["steps"] == 2 and d["grid"]["n_train"] == 64
    assert d["grid"]["knn"] == "5-NN leave-one-out, vote=majority" and d["grid"]["batch_size"] == 16
    assert d["grid"]["extractor"] == rows[0]["extractor"]


def test_rerun_of_a_finished_shard_trains_nothing(setup, two_shards, monkeypatch):
    f = shards.shard_file(two_shards, 0, 2)
    before = (f.stat().st_mtime_ns, f.read_text())

    def no_training(*a, **k):
        raise AssertionError("a finished cell was trained again")
    monkeypatch.setattr(sweep, "fit", no_training)
    rows = _run(f, 0, 2, setup)
    assert len(rows) == 5 and (f.stat().st_mtime_ns, f.read_text()) == before


def test_interrupted_shard_finishes_only_the_missing_cells(setup, tmp_path, monkeypatch):
    f, fit, calls = shards.shard_file(tmp_path, 1, 2), sweep.fit, []

    def fit_then_stop(*a, **k):
        if len(calls) == 2:
            raise KeyboardInterrupt                    # killed during the third cell
        calls.append(1)
        return fit(*a, **k)
    monkeypatch.setattr(sweep, "fit", fit_then_stop)
    with pytest.raises(KeyboardInterrupt):
        _run(f, 1, 2, setup, info={"machine": "first", "command": "a"})
    assert len(json.loads(f.read_text())["rows"]) == 2
    done = []
    monkeypatch.setattr(sweep, "fit", lambda *a, **k: (done.append(a[0].cfg.name), fit(*a, **k))[1])
    rows = _run(f, 1, 2, setup, info={"machine": "second", "command": "b"})
    assert len(done) == 3 and len(rows) == 5
    assert _same(rows, shards.shard(setup[3], 1, 2))
    runs = shards.shard_runs(shards.read_shard(f))                # both processes stay on record
    assert [r["machine"] for r in runs] == ["first", "second"]


def test_shard_file_of_another_grid_or_shard_is_refused(setup, two_shards, monkeypatch):
    monkeypatch.setattr(sweep, "fit", None)            # refused before any training
    f = shards.shard_file(two_shards, 0, 2)
    with pytest.raises(ValueError, match=r"shard file .*shard-0-of-2.json is from another grid.*: steps 2 vs 3"):
        _run(f, 0, 2, setup, steps=3)
    with pytest.raises(ValueError, match="holds shard 0/2, not 1/2"):
        _run(f, 1, 2, setup)


def _copy(src, dst, **edit):
    d = json.loads(src.read_text())
    d.update(edit)
    dst.write_text(json.dumps(d))
    return dst


def test_merge_refusals(two_shards, tmp_path):
    f0, f1 = shards.shard_file(two_shards, 0, 2), shards.shard_file(two_shards, 1, 2)
    with pytest.raises(ValueError, match=r"5 of 10 cells are missing, e.g. \[\('fc', 1, 1\).*shards not given: 1/2"):
        shards.merge([f0])
    twin = shutil.copy(f0, tmp_path / "copy.json")
    with pytest.raises(ValueError, match="shard 0/2 is given twice: .*shard-0-of-2.json and .*copy.json"):
        shards.merge([f0, f1, twin])
    d0 = json.loads(f0.read_text())
    g = dict(d0["grid"], steps=300)
    with pytest.raises(ValueError, match="are from different grids: steps 2 vs 300"):
        shards.merge([f1, _copy(f0, tmp_path / "other.json", grid=g)])
    with pytest.raises(ValueError, match="of different N: .* is shard 0/2, .* is shard 1/3"):
        shards.merge([f0, _copy(f1, tmp_path / "n3.json", shard="1/3")])
    rows1 = json.loads(f1.read_text())["rows"]
    stray = _copy(f1, tmp_path / "stray.json", rows=rows1 + d0["rows"][:1])
    with pytest.raises(ValueError, match=r"stray.json \(shard 1/2\) has rows of cells of other shards: \[\('fc', 1, 0\)\]"):
        shards.merge([f0, stray])
    dup = _copy(f1, tmp_path / "dup.json", rows=rows1 + rows1[:1])
    with pytest.raises(ValueError, match=r"cell \('fc', 1, 1\) is listed twice in .*dup.json"):
        shards.merge([f0, dup])
    with pytest.raises(ValueError, match="not a shard file"):
        shards.merge([(tmp_path / "x.json").write_text("{}") and tmp_path / "x.json"])
    with pytest.raises(ValueError, match="no shard file or folder"):
        shards.merge([tmp_path / "absent"])


@pytest.mark.parametrize("argv, msg", [
    (["run", "--shard", "4/4"], "--shard takes I/N"), (["run", "--shard", "3"], "--shard takes I/N"),
    (["--shard", "a/b"], "--shard takes I/N"), (["run", "--shard", "0/0"], "--shard takes I/N"),
    (["run", "--Ks", "4,x"], "--Ks takes integers"), (["run", "--models", "fc,nope"], "unknown model"),
    (["run", "--steps", "0"], "--steps must be >= 1"), (["run", "--device", "tpu"], "device"),
    (["run", "--shard", "1/2", "--key", "fig9/x"], "--key stores a whole grid, not shard 1/2"),
    (["run", "--bogus"], "unrecognized arguments"), (["merge", "/nonexistent"], "no shard file or folder"),
    (["merge"], "required: paths"),
])
def test_cli_bad_input_is_one_line_and_exit_2(argv, msg, capsys):
    import benchmarks.fig9 as F
    with pytest.raises(SystemExit) as e:
        F.main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith("fig9.py: error: ") and err.count("\n") == 1 and msg in err, err


def test_fig9_plot_axes_and_zoom(setup):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from mixgan.plots import fig9_plot
    rows = setup[3]
    fig = fig9_plot(rows, fid_zoom=["fc", "hmog"])
    real, fake, fid, zoom = fig.axes
    assert real.get_ylim() == fake.get_ylim() == (0.4, 1.02)        # 0.5 ideal and 1 both in view
    assert zoom.get_title() == "FID of fc, hmog only" and len(zoom.get_lines()) < len(fid.get_lines())
    fig.canvas.draw()
    labels = [t.get_text() for t in real.get_xticklabels() if t.get_text()]
    assert labels and all(s[-1] in "kMG" for s in labels), labels     # short labels, no 3×10^5
    assert len(fig9_plot(rows).axes) == 3
    with pytest.raises(ValueError, match="not among the models"):
        fig9_plot(rows, fid_zoom=["megan"])
    with pytest.raises(ValueError, match="no rows"):
        fig9_plot([])
    plt.close("all")
