"""The command line ``python -m mixgan.train`` (mixgan/train/cli.py): parsing, the dry run
on fake data, resume, the run-folder lock, and one clear error (exit 2, before training) per
kind of bad input."""
import json
import re
import sys

import pytest
import torch
from PIL import Image

from mixgan.train.cli import TrainConfig, UsageError, main, parse_args
from mixgan.train.evaluate import early_stopper


def test_parse_key_value_forms():
    cfg = parse_args(["--model", "mog", "--data=fashion", "--steps", "1e3", "--K=32", "--depth", "4",
                      "--amp", "--no-progress", "--lr=2e-4", "--betas", "0.5,0.9", "--out", "runs/x",
                      "--dry-run", "--limit=none"])
    assert (cfg.model, cfg.data, cfg.steps, cfg.out, cfg.limit) == ("mog", "fashion", 1000, "runs/x", None)
    assert cfg.amp and cfg.dry_run and not cfg.progress
    assert cfg.options == {"K": 32, "depth": 4, "lr": 2e-4, "betas": (0.5, 0.9)}
    assert parse_args([]) == TrainConfig()
    cfg = parse_args(["--n_critic", "3", "--n-critic=2", "--log_every", "5", "--no-fid", "--fid=false",
                      "--mapping", "[0, 1, 0, 1]", "--disc-norm", "none", "--epochs", "2.5"])
    assert cfg.options == {"n_critic": 2, "mapping": [0, 1, 0, 1], "disc_norm": None}
    assert (cfg.log_every, cfg.fid, cfg.epochs) == (5, False, 2.5)


def test_help_lists_settings_models_and_options(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and "--checkpoint-every" in out and "--depth" in out and "hmog" in out


@pytest.mark.parametrize("argv,msg", [
    (["--dept=4"], r"unknown option --dept; did you mean --depth"),
    (["--steps=ten"], r"--steps.*takes an int, got 'ten'"),
    (["--steps=2.5"], r"--steps.*takes an int"),
    (["--amp=maybe"], r"--amp.*takes true/false"),
    (["--out"], r"--out.*expected one argument"),
    (["hmog"], r"unexpected argument 'hmog'"),
    (["--batch_size=3"], r"unknown option --batch_size; did you mean .*--batch\b"),
    (["--mapping", "[a]"], r"--mapping.*comma-separated numbers, got '\[a\]'"),
    (["--ste=3"], r"unknown option --ste"),                     # no abbreviations
])
def test_parse_errors(argv, msg):
    with pytest.raises(UsageError, match=msg):
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
    fn = early_stopper(lambda model, n: {"fid": next(scores)}, cfg.eval_samples, cfg.patience, {},
                       tmp_path / "best.pt")
    stops = [fn(Model())["stop"] for _ in range(4)]
    assert stops == [False, False, False, True] and len(saved) == 2
    resumed = early_stopper(lambda model, n: {"fid": 4.2}, 10, 2, {"eval": [{"fid": 4.0}, {"fid": 4.1}]}, "b.pt")
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


@pytest.mark.parametrize("argv,msg", [
    (["--n_critic", "0"], r"n_critic must be >= 1, got 0"),
    (["--log-every", "0"], r"log_every must be >= 1, got 0"),
    (["--batch", "-4"], r"batch must be >= 1, got -4"),
    (["--device", "nope"], r"unknown device 'nope'"),
    (["--base", "0"], r"base must be >= 1, got 0"),
    (["--betas", "0.5"], r"betas must be two numbers in \[0, 1\)"),
    (["--mapping", "[a]"], r"comma-separated numbers"),
    (["--extractor", "nope"], r"unknown extractor 'nope'"),
    (["--lr", "0"], r"lr must be a finite number > 0"),
    (["--depth", "1.5"], r"--depth.*takes an int"),
    (["--var", "inf"], r"var must be a finite number"),
    (["--steps", "-1"], r"steps must be >= 0"),
])
def test_bad_values_fail_before_training(tmp_path, capsys, monkeypatch, argv, msg):
    """Each bad option value: a few lines on stderr, exit 2, and nothing trained or written."""
    import re

    from mixgan.train import loop
    monkeypatch.setattr(loop, "_train", lambda *a, **k: pytest.fail("training started"))
    out = tmp_path / "run"
    err = _error(capsys, ["--dry-run", "--no-progress", "--out", str(out), *argv])
    assert re.search(msg, err) and err.startswith("mixgan.train: error:") and len(err.splitlines()) <= 3
    assert "Traceback" not in err and not (out / "ckpt.pt").exists() and not (out / "config.json").exists()


def test_damaged_checkpoints_are_one_line_errors(tmp_path, capsys):
    """--resume on an empty, truncated, byte-flipped or malicious ckpt.pt: exit 2 naming it."""
    import os
    import pickle
    out = tmp_path / "run"
    _dry(out, "--model", "fc", "--steps", "2")
    ckpt = out / "ckpt.pt"
    good = ckpt.read_bytes()
    resume = ["--dry-run", "--no-progress", "--resume", "--model", "fc", "--steps", "4", "--out", str(out)]

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    flipped = bytearray(good)
    for i in range(len(good) // 2, len(good) // 2 + 64):     # 64 flipped bytes inside the payload
        flipped[i] ^= 0xFF
    for damaged, msg in ((b"", "unreadable"), (good[: len(good) // 2], "unreadable"),
                         (bytes(flipped), r"corrupt|unreadable"), (pickle.dumps(Evil()), "unreadable")):
        ckpt.write_bytes(damaged)
        err = _error(capsys, resume)
        assert re.search(msg, err) and str(ckpt) in err and "Traceback" not in err
    assert not (tmp_path / "pwned").exists()
    ckpt.write_bytes(good)
    assert main(resume)["steps"] == 4


def test_full_disk_names_the_path_and_leaves_no_tmp(tmp_path, capsys, monkeypatch):
    """A write that fails with ENOSPC half-way: exit 2 naming ckpt.pt, no .tmp left behind."""
    import errno
    real_save = torch.save

    def save(obj, f, *a, **k):
        if str(f).endswith(".tmp") and "ckpt.pt" in str(f):
            with open(f, "wb") as fh:
                fh.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *a, **k)

    monkeypatch.setattr(torch, "save", save)
    out = tmp_path / "run"
    err = _error(capsys, ["--dry-run", "--no-progress", "--out", str(out)])
    assert "disk is full" in err and str(out / "ckpt.pt") in err
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_second_run_on_a_live_folder_names_the_holder(tmp_path, capsys):
    """While another process holds the run folder, a start (or a --resume) is refused with its PID."""
    import subprocess
    import time
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from mixgan.train.lock import run_lock\n"
                               "with run_lock(sys.argv[1]):\n print('locked', flush=True); time.sleep(60)", str(out)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        err = _error(capsys, ["--dry-run", "--no-progress", "--out", str(out)])
        assert f"in use by another run (PID {holder.pid})" in err and len(err.splitlines()) == 1
        assert not (out / "config.json").exists()
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    assert _dry(out)["steps"] == 4                           # the kernel freed the lock of the killed holder


def test_divergence_exits_non_zero_naming_the_checkpoint(tmp_path, capsys, monkeypatch):
    """A loss that turns NaN at step 3 of the dry run: exit 2 naming ckpt.pt of step 2, which
    still loads, verified and finite."""
    from mixgan.models import GAN
    from mixgan.train import read_checkpoint
    real, calls = GAN.g_loss, []

    def g_loss(self, *a, **k):
        calls.append(1)
        return real(self, *a, **k) * (float("nan") if len(calls) == 3 else 1.0)

    monkeypatch.setattr(GAN, "g_loss", g_loss)
    out = tmp_path / "run"
    err = _error(capsys, ["--dry-run", "--no-progress", "--model", "fc", "--out", str(out)])
    assert "diverged at step 3" in err and f"last verified checkpoint is {out / 'ckpt.pt'} (step 2)" in err
    assert read_checkpoint(out / "ckpt.pt")["step"] == 2 and not (out / "metrics.json").exists()


def test_full_disk_at_a_json_file_names_it(tmp_path, capsys, monkeypatch):
    import errno

    import mixgan.utils

    def full(obj, f, **k):
        f.write("{")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mixgan.utils.json, "dump", full)
    out = tmp_path / "run"
    err = _error(capsys, ["--dry-run", "--no-progress", "--out", str(out)])
    assert f"could not write {out / 'config.json'}: No space left on device" in err
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
