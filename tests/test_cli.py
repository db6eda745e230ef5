"""The command line ``python -m mixgan.train`` (mixgan/train/cli.py): parsing, the dry run
on fake data, resume, and one clear error per kind of bad input."""
import json
import sys

import pytest
import torch
from PIL import Image

from mixgan.train.cli import TrainConfig, _early_stopper, main, parse_args

def test_parse_key_value_forms():
    cfg = parse_args(["--model", "mog", "--data=fashion", "--steps", "1e3", "--K=32", "--depth", "4",
                      "--amp", "--no-progress", "--lr=2e-4", "--betas", "0.5,0.9", "--out", "runs/x",
                      "--dry-run", "--limit=none"])
    assert (cfg.model, cfg.data, cfg.steps, cfg.out, cfg.limit) == ("mog", "fashion", 1000, "runs/x", None)
    assert cfg.amp and cfg.dry_run and not cfg.progress
    assert cfg.options == {"K": 32, "depth": 4, "lr": 2e-4, "betas": (0.5, 0.9)}
    assert parse_args([]) == TrainConfig()


def test_help_lists_settings_models_and_options(capsys):
    with pytest.raises(SystemExit) as e:
        parse_args(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and "--checkpoint-every" in out and "--depth" in out and "hmog" in out


@pytest.mark.parametrize("argv,msg", [
    (["--dept=4"], r"unknown option --dept; did you mean --depth"),
    (["--steps=ten"], r"--steps takes a int, got 'ten'"),
    (["--steps=2.5"], r"--steps takes a int"),
    (["--amp=maybe"], r"--amp takes true/false"),
    (["--out"], r"--out needs a value"),
    (["hmog"], r"expected --key=value"),
    (["--batch_size=3"], r"unknown option --batch_size; did you mean .*--batch\?"),
])
def test_parse_errors(argv, msg):
    with pytest.raises(ValueError, match=msg):
        parse_args(argv)


def _dry(out, *extra):
    return main(["--dry-run", "--no-progress", "--out", str(out), *extra])


def test_dry_run_writes_the_run_folder(tmp_path):
    out = tmp_path / "run"
    m = _dry(out, "--model", "hmog", "--depth", "2", "--n-samples", "16")
    names = {p.name for p in out.iterdir()}
    assert {"ckpt.pt", "config.json", "history.json", "metrics.json", "loss_curves.png", "samples.png",
            "samples_000002.png", "samples_000004.png"} <= names
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics == json.loads(json.dumps(m))
    assert metrics["steps"] == 4 and metrics["data_shape"] == [1, 32, 32] and metrics["dry_run"]
    assert metrics["steps_per_s"] > 0 and all(k in metrics for k in ("d_loss", "g_loss", "device", "num_params"))
    fid = metrics["fid"]
    assert fid["fid"] >= 0 and fid["n_real"] == fid["n_fake"] == 64 and "dry run" in fid["extractor"]
    assert Image.open(out / "samples.png").size == (4 * 32 + 5 * 2,) * 2
    ck = torch.load(out / "ckpt.pt", weights_only=True)
    assert ck["step"] == 4 and ck["config"]["depth"] == 2 and ck["config"]["base"] == 8
    assert ck["meta"]["data"] == "mnist"
    hist = json.loads((out / "history.json").read_text())
    assert hist["step"][-1] == 4 and len(hist["d_loss"]) == len(hist["step"])


def test_dry_run_resume_and_early_stopping(tmp_path):
    out = tmp_path / "run"
    _dry(out, "--model", "fc", "--steps", "2", "--data", "cifar10", "--size", "28")
    m = _dry(out, "--model", "fc", "--steps", "4", "--data", "cifar10", "--size", "28", "--resume",
             "--eval-every", "1", "--patience", "1")
    assert m["data_shape"] == [3, 28, 28] and (m["steps"], m["steps_this_run"]) == (4, 2)
    assert [e["step"] for e in m["eval"]] == [3, 4]
    assert (out / "best.pt").exists() and all("fid" in e and "extractor" in e for e in m["eval"])


def test_early_stopper_patience(tmp_path):
    """Stops once `patience` evaluations in a row did not beat the best FID; saves the best."""
    scores = iter([5.0, 4.0, 4.5, 6.0, 3.0])
    saved = []

    class Model:
        def save(self, path):
            saved.append(path)

    cfg = TrainConfig(eval_samples=10, patience=2)
    fn = _early_stopper(cfg, lambda model, n: {"fid": next(scores)}, {}, tmp_path / "best.pt")
    stops = [fn(Model())["stop"] for _ in range(4)]
    assert stops == [False, False, False, True] and len(saved) == 2
    resumed = _early_stopper(cfg, lambda model, n: {"fid": 4.2}, {"eval": [{"fid": 4.0}, {"fid": 4.1}]}, "b.pt")
    assert resumed(Model())["stop"]                      # counts the evaluations before the resume


def _error(capsys, argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    return capsys.readouterr().err


def test_cli_errors(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert "unsupported image size 48" in _error(capsys, ["--dry-run", "--size", "48", "--out", out])
    assert "unknown model 'hmgo'" in _error(capsys, ["--dry-run", "--model", "hmgo", "--out", out])
    assert "unknown dataset 'mnsit'" in _error(capsys, ["--dry-run", "--data", "mnsit", "--out", out])
    assert "no checkpoint" in _error(capsys, ["--dry-run", "--resume", "--out", out])
    if not torch.cuda.is_available():
        assert "no CUDA GPU" in _error(capsys, ["--dry-run", "--device", "cuda", "--out", out])
    afile = tmp_path / "afile"
    afile.write_text("")
    assert "not writable" in _error(capsys, ["--dry-run", "--out", str(afile / "run")])
    _dry(out, "--model", "hmog", "--depth", "2", "--steps", "2")
    assert "already holds a run" in _error(capsys, ["--dry-run", "--out", out])
    err = _error(capsys, ["--dry-run", "--resume", "--model", "hmog", "--depth", "3", "--out", out])
    assert "another model/config" in err and "depth" in err
    err = _error(capsys, ["--dry-run", "--resume", "--model", "mog", "--out", out])
    assert "another model/config" in err and "head" in err
    err = _error(capsys, ["--dry-run", "--resume", "--model", "hmog", "--depth", "2", "--data", "cifar10", "--out", out])
    assert "another model/config" in err and "data_shape" in err           # 3 channels vs 1
    err = _error(capsys, ["--dry-run", "--resume", "--model", "hmog", "--depth", "2", "--data", "fashion", "--out", out])
    assert "another run settings" in err and "'data'" in err
    assert json.loads((tmp_path / "run" / "config.json").read_text())["model"]["depth"] == 2   # left untouched


def test_module_entry_point(tmp_path, monkeypatch, capsys):
    """What CI runs: python -m mixgan.train --dry-run (run in-process through runpy, the same
    __main__ module without paying for a second interpreter's imports)."""
    import runpy
    monkeypatch.setattr(sys, "argv", ["mixgan.train", "--dry-run", "--no-progress", "--model", "mog",
                                      "--K", "4", "--out", str(tmp_path / "r")])
    runpy.run_module("mixgan.train", run_name="__main__")
    assert "done: 4 steps" in capsys.readouterr().out and (tmp_path / "r" / "samples.png").exists()
