"""The trainer (mixgan/train/loop.py): every model steps at every image size, bit-identical
resume, NaN stop, fixed-noise grids, and clear errors for bad input."""
import math
import shutil

import pytest
import torch

from mixgan.models import MODELS, build
from mixgan.train import fit, fixed_latents, grid_sampler, load_checkpoint
from mixgan.train.loop import check_writable

SHAPES = [(1, 28, 28), (1, 32, 32), (3, 32, 32), (3, 64, 64)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_does_one_d_and_one_g_step(name, shape):
    """Every model at tiny width (base 8): one critic step and one generator step change
    D and G, the losses are finite, samples have the data shape and lie in [-1, 1]."""
    model = build(name, shape, base=8, K=4, depth=2, n_classes=4)
    x = torch.rand(8, *shape) * 2 - 1
    y = torch.arange(8) % model.cfg.n_classes
    g0 = [p.detach().clone() for p in model.g_parameters()]
    d0 = [p.detach().clone() for p in model.disc.parameters()]
    hist = fit(model, (x, y), steps=1, batch_size=4, g_batch_size=4, n_critic=1, progress=False, device="cpu")
    assert hist["step"] == [1] and all(math.isfinite(v) for v in hist["d_loss"] + hist["g_loss"])
    assert any(not torch.equal(a, b) for a, b in zip(d0, model.disc.parameters())), "D did not move"
    assert any(not torch.equal(a, b) for a, b in zip(g0, model.g_parameters())), "G did not move"
    s = model.sample(3)
    assert s.shape == (3, *shape) and s.abs().max() <= 1


def test_dcgan_init_and_critic_norm():
    """Weights N(0, 0.02) and LayerNorm (no batch coupling) in the WGAN-GP critic."""
    model = build("hmog", (1, 32, 32), depth=2)
    convs = [m for m in model.body.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    w = torch.cat([m.weight.flatten() for m in convs])
    assert abs(w.std().item() - 0.02) < 0.002 and abs(w.mean().item()) < 0.002
    norms = {type(m).__name__ for m in model.disc.modules()}
    assert "LayerNorm" in norms and "BatchNorm2d" not in norms


def _toy(seed=0):
    return build("fc", (2,), hidden=8, n_critic=1, seed=seed)


def test_resume_continues_bit_identically(tmp_path):
    """2,000 steps straight == 1,000 steps, then a fresh model resumed for 1,000 more.
    The 1,000-step checkpoint is the one the straight run writes at step 1,000 (copied aside
    at step 1,001, before it is overwritten), which saves running those 1,000 steps twice.
    A tiny toy GAN keeps this to seconds; its RNG streams are those of the image models
    (the global torch RNG and the trainer's data generator)."""
    x = torch.randn(512, 2)
    toy = lambda: build("gan", (2,), hidden=8)          # noqa: E731
    kw = dict(batch_size=8, progress=False, device="cpu", log_every=100)
    ckpt, ckpt_1k = tmp_path / "ckpt.pt", tmp_path / "ckpt_1000.pt"

    def keep_1k(model, step):                            # the file on disk still holds step 1,000
        if step == 1001:
            shutil.copyfile(ckpt, ckpt_1k)

    straight = toy()
    h_straight = fit(straight, x, steps=2000, seed=3, checkpoint=ckpt, checkpoint_every=1000,
                     sample_every=1001, sample_fn=keep_1k, **kw)
    assert torch.load(ckpt_1k, weights_only=True)["step"] == 1000
    torch.manual_seed(12345)                             # the resumed run must not depend on this
    resumed = toy()
    h_resumed = fit(resumed, x, steps=2000, seed=3, checkpoint=ckpt_1k, resume=True, **kw)
    for (n, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), f"{n} differs after resume"
    assert h_straight == h_resumed
    model, ck = load_checkpoint(ckpt_1k)
    assert ck["step"] == 2000 and set(ck) >= {"config", "model", "opt_g", "opt_d", "rng", "history"}
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), resumed.state_dict().values()))
    for name in ("opt_g", "opt_d"):                      # optimiser states (Adam moments) match too
        a, b = torch.load(ckpt, weights_only=True)[name]["state"], ck[name]["state"]
        assert all(torch.equal(a[i][k], b[i][k]) for i in a for k in a[i])


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    model = _toy()
    ckpt = tmp_path / "ckpt.pt"
    fit(model, torch.randn(64, 2), steps=4, checkpoint=ckpt, progress=False)
    good = torch.load(ckpt, weights_only=True)
    real_g_loss, calls = model.g_loss, []

    def g_loss(*a, **k):                                 # the 3rd generator step goes non-finite
        calls.append(1)
        out = real_g_loss(*a, **k)
        return out * float("nan") if len(calls) == 3 else out

    monkeypatch.setattr(model, "g_loss", g_loss)
    with pytest.raises(FloatingPointError, match=r"diverged at step 7\b.*last verified checkpoint is .*ckpt.pt \(step 6\)"):
        fit(model, torch.randn(64, 2), steps=10, checkpoint=ckpt, checkpoint_every=1, resume=True,
            progress=False)
    kept = torch.load(ckpt, weights_only=True)
    assert kept["step"] == 6                             # steps 5 and 6 saved, step 7 not
    assert all(torch.isfinite(v).all() for v in kept["model"].values() if v.is_floating_point())
    assert good["step"] == 4


def test_grid_sampler_uses_fixed_noise(tmp_path):
    from PIL import Image
    model = build("hmog", (1, 28, 28), base=8, depth=2)
    fn = grid_sampler(tmp_path, n=16, seed=1)
    torch.manual_seed(0)
    p1 = fn(model, 5)
    state = torch.get_rng_state()
    p2 = fn(model, 6)
    assert torch.equal(state, torch.get_rng_state()), "sampling must not consume the global RNG"
    assert p1.endswith("samples_000005.png") and p2.endswith("samples_000006.png")
    a, b = Image.open(p1), Image.open(p2)
    assert a.size == (4 * 28 + 5 * 2, 4 * 28 + 5 * 2)
    assert a.tobytes() == b.tobytes(), "same model, same fixed z -> same grid"
    z1, _, _ = fixed_latents(model, 8, seed=1)
    z2, _, _ = fixed_latents(model, 8, seed=2)
    assert not torch.equal(z1, z2)
    acgan = build("acgan", (1, 28, 28), base=8)
    assert fixed_latents(acgan, 12)[1].tolist() == [i % 10 for i in range(12)]
    madgan = build("madgan", (1, 28, 28), base=8, K=4)
    assert fixed_latents(madgan, 6)[2].tolist() == [0, 1, 2, 3, 0, 1]


def test_amp_is_ignored_on_cpu():
    model = _toy()
    h = fit(model, torch.randn(64, 2), steps=2, amp=True, progress=False, device="cpu", log_every=1)
    assert len(h["d_loss"]) == 2


def test_early_stop_from_eval_fn(tmp_path):
    calls = []

    def eval_fn(model):
        calls.append(1)
        return {"score": len(calls), "stop": len(calls) == 2}

    h = fit(_toy(), torch.randn(64, 2), steps=50, eval_every=5, eval_fn=eval_fn, progress=False,
            checkpoint=tmp_path / "c.pt")
    assert h["step"][-1] == 10 and [e["step"] for e in h["eval"]] == [5, 10]
    assert torch.load(tmp_path / "c.pt", weights_only=True)["step"] == 10


# ---- bad input -------------------------------------------------------------------------------

def test_unsupported_image_size():
    with pytest.raises(ValueError, match=r"unsupported image size 48.*28, 32, 64"):
        build("hmog", (1, 48, 48), base=8)


def test_channels_do_not_match_model():
    model = build("fc", (3, 32, 32), base=8)
    with pytest.raises(ValueError, match=r"1 channel\(s\) but model 'fc' was built for 3"):
        fit(model, torch.zeros(8, 1, 32, 32), steps=1, progress=False)


def test_resume_checkpoint_of_another_model(tmp_path):
    ckpt = tmp_path / "ckpt.pt"
    fit(_toy(), torch.randn(64, 2), steps=2, checkpoint=ckpt, progress=False)
    other = build("hmog", (2,), hidden=8, depth=2, n_critic=1)
    with pytest.raises(ValueError, match=r"another model/config .*differs in .*head"):
        fit(other, torch.randn(64, 2), steps=4, checkpoint=ckpt, resume=True, progress=False)
    wider = build("fc", (2,), hidden=16, n_critic=1)
    with pytest.raises(ValueError, match=r"differs in \['hidden'\]"):
        fit(wider, torch.randn(64, 2), steps=4, checkpoint=ckpt, resume=True, progress=False)
    with pytest.raises(ValueError, match=r"another run settings .*'data'"):
        fit(_toy(), torch.randn(64, 2), steps=4, checkpoint=ckpt, resume=True, progress=False,
            meta={"data": "ring8"})


def test_output_folder_not_writable(tmp_path, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("a file, not a folder")
    with pytest.raises(PermissionError, match="not writable"):
        fit(_toy(), torch.randn(64, 2), steps=1, checkpoint=afile / "run" / "ckpt.pt", progress=False)
    # a folder that exists but refuses new files (what chmod does for a non-root user)
    import tempfile

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    with pytest.raises(PermissionError, match="not writable"):
        check_writable(tmp_path / "ok" / "ckpt.pt")


def test_lr_decay_is_linear_to_zero_over_the_last_fraction(monkeypatch):
    """fit(lr_decay=f): both Adams keep lr for the first (1 − f)·steps steps, then fall linearly
    to 0 at the last step: lr_t = lr · min(1, (steps − t) / (f · steps))."""
    from mixgan.train import loop

    seen, made = [], []
    orig = loop._adam

    def spy(params, **kw):
        opt = orig(params, **kw)
        made.append(opt)
        step = opt.step

        def logged(*a, **k):
            seen.append((len(made), opt.param_groups[0]["lr"]))
            return step(*a, **k)
        opt.step = logged
        return opt
    monkeypatch.setattr(loop, "_adam", spy)
    model = _toy()
    fit(model, torch.randn(64, 2), steps=4, batch_size=8, lr=1e-3, lr_decay=0.5, progress=False, device="cpu")
    lrs = [lr for _, lr in seen]                      # per step: one D step, then one G step
    assert lrs == pytest.approx([1e-3] * 4 + [1e-3] * 2 + [5e-4] * 2)
    with pytest.raises(ValueError, match="lr_decay"):
        fit(_toy(), torch.randn(64, 2), steps=2, lr_decay=1.5, progress=False, device="cpu")


def test_toy_body_batch_norm():
    """build(body_norm="batch") puts BatchNorm1d in the toy MLP body; a bad value is a ValueError."""
    model = build("hmog", (2,), body_norm="batch")
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in model.body.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in build("hmog", (2,)).body.modules())
    with pytest.raises(ValueError, match="body.norm"):
        build("hmog", (2,), body_norm="layer")


@pytest.mark.parametrize("kw,msg", [
    (dict(lr=0.0), r"lr must be a finite number > 0, got 0.0"),
    (dict(lr=-1e-3), r"lr must be"),
    (dict(batch_size=0), r"batch_size must be >= 1, got 0"),
    (dict(g_batch_size=0), r"g_batch_size must be >= 1"),
    (dict(n_critic=0), r"n_critic must be >= 1, got 0"),
    (dict(batch_size=2 ** 40), r"batch_size must be <= 1048576"),
    (dict(log_every=0), r"log_every must be >= 1, got 0"),
    (dict(betas=()), r"betas must be two numbers"),
    (dict(checkpoint_every=-1), r"checkpoint_every must be >= 0"),
    (dict(steps=-1), r"steps must be >= 0"),
    (dict(steps=2.5), r"steps must be an integer"),
    (dict(seed=None), r"seed must be an integer, got None"),
    (dict(seed=1.5), r"seed must be an integer, got 1.5"),
    (dict(eval_every=1), r"eval_every=1 needs a callable eval_fn"),
    (dict(device="nope"), r"unknown device 'nope'"),
    (dict(amsgrad="yes"), r"amsgrad must be True or False"),
    (dict(lr_decay=True), r"lr_decay must be a fraction"),
    (dict(sample_every=2, sample_fn="x"), r"sample_every=2 needs a callable sample_fn"),
])
def test_fit_refuses_bad_values_instead_of_defaults(kw, msg):
    """Falsy values are not replaced by defaults: lr=0.0, batch_size=0, n_critic=0 are errors."""
    kw = {"steps": 1, **kw}
    with pytest.raises((ValueError, TypeError), match=msg):
        fit(_toy(), torch.randn(64, 2), progress=False, **kw)


def test_fit_uses_the_given_values():
    """The is-None defaults: an explicit value reaches the optimiser unchanged."""
    model = _toy()
    seen = {}
    real = torch.optim.Adam.__init__

    def spy(self, params, **kw):
        seen.update(kw)
        real(self, params, **kw)
    import unittest.mock
    with unittest.mock.patch.object(torch.optim.Adam, "__init__", spy):
        fit(model, torch.randn(64, 2), steps=1, lr=3e-5, betas=(0.0, 0.5), amsgrad=False, progress=False)
    assert seen["lr"] == 3e-5 and seen["betas"] == (0.0, 0.5) and seen["amsgrad"] is False


@pytest.mark.parametrize("data,err,msg", [
    (torch.randint(0, 5, (64, 2)), TypeError, r"floating point.*int64"),
    ((torch.randn(64, 2), torch.zeros(32, dtype=torch.long)), ValueError, r"one label per data row.*64 rows"),
    ((torch.randn(64, 2), torch.zeros(64)), TypeError, r"integer tensor"),
    (torch.full((64, 2), float("nan")), ValueError, r"NaN or inf"),
    (torch.randn(0, 2), ValueError, r"N >= 1"),
    ("data", TypeError, r"must be a Tensor"),
])
def test_fit_checks_data_on_entry(data, err, msg):
    with pytest.raises(err, match=msg):
        fit(_toy(), data, steps=1, progress=False)


def test_fit_casts_float64_and_half_to_float32():
    for dtype in (torch.float64, torch.float16):
        h = fit(_toy(), torch.randn(64, 2, dtype=dtype), steps=2, progress=False)
        assert all(math.isfinite(v) for v in h["d_loss"])


def test_labels_out_of_range_for_a_supervised_model():
    model = build("acgan", (2,), hidden=8, n_classes=3)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        fit(model, (torch.randn(64, 2), torch.arange(64) % 5), steps=1, progress=False)


def test_checkpoint_path_is_a_folder(tmp_path, monkeypatch):
    """checkpoint=<a folder> is refused before training (it used to fail at the final save)."""
    from mixgan.train import loop
    monkeypatch.setattr(loop, "_train", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(ValueError, match=r"is a folder"):
        fit(_toy(), torch.randn(64, 2), steps=3, checkpoint=tmp_path, progress=False)


def test_divergence_with_finite_losses_is_caught_by_the_state_check(tmp_path):
    """lr 1e3: the losses may stay finite while Adam's state overflows; training stops with
    FloatingPointError, and the checkpoint on disk (if any) is verified and finite."""
    from mixgan.train import read_checkpoint
    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(FloatingPointError, match=r"diverged at step \d+: non-finite"):
        fit(build("gan", (2,), hidden=8), torch.randn(256, 2) * 1e3, steps=300, lr=1e3, batch_size=64,
            checkpoint=ckpt, checkpoint_every=1, log_every=1, progress=False)
    if ckpt.exists():
        read_checkpoint(ckpt)                            # raises if anything in it were non-finite


def test_non_finite_state_is_never_written(tmp_path):
    from mixgan.train import write_checkpoint
    with pytest.raises(FloatingPointError, match=r"not writing .*non-finite values in model.w"):
        write_checkpoint({"model": {"w": torch.tensor([1.0, float("inf")])}}, tmp_path / "c.pt")
    with pytest.raises(FloatingPointError, match=r"opt_g.state.0.exp_avg_sq"):
        write_checkpoint({"opt_g": {"state": {0: {"exp_avg_sq": torch.tensor([float("nan")])}}}}, tmp_path / "c.pt")
    assert list(tmp_path.iterdir()) == []


def test_checksum_catches_flipped_bytes(tmp_path):
    """Any changed tensor byte or history value fails the sha256 check, one CheckpointError."""
    from mixgan.train import CheckpointError, read_checkpoint
    ckpt = tmp_path / "ckpt.pt"
    fit(_toy(), torch.randn(64, 2), steps=2, checkpoint=ckpt, progress=False)
    state = torch.load(ckpt, weights_only=True)
    assert len(state["sha256"]) == 64
    name = next(iter(state["model"]))
    state["model"][name].view(-1)[0] += 1e-3             # a tampered weight, the old checksum kept
    torch.save(state, ckpt)
    with pytest.raises(CheckpointError, match=r"corrupt: its sha256 does not match"):
        read_checkpoint(ckpt)
    with pytest.raises(CheckpointError, match="corrupt"):
        fit(_toy(), torch.randn(64, 2), steps=4, checkpoint=ckpt, resume=True, progress=False)
    del state["sha256"]
    torch.save(state, ckpt)
    with pytest.raises(CheckpointError, match="no checksum"):
        load_checkpoint(ckpt)


def test_full_disk_keeps_the_old_checkpoint_and_no_tmp(tmp_path, monkeypatch):
    import errno
    ckpt = tmp_path / "ckpt.pt"
    fit(_toy(), torch.randn(64, 2), steps=2, checkpoint=ckpt, progress=False)
    before = ckpt.read_bytes()
    real = torch.save

    def full(obj, f, *a, **k):
        with open(f, "wb") as fh:
            fh.write(b"half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(OSError, match=r"could not write checkpoint .*ckpt.pt: the disk is full"):
        fit(_toy(), torch.randn(64, 2), steps=4, checkpoint=ckpt, resume=True, progress=False)
    monkeypatch.setattr(torch, "save", real)
    assert ckpt.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == [".lock", "ckpt.pt"]


def test_fit_locks_the_checkpoint_folder(tmp_path):
    """A checkpointing fit holds its folder: a second fit there is refused; the lock is re-entrant
    in one process (run() holds it and calls fit) and released at the end."""
    from mixgan.train import RunFolderBusy, run_lock
    from mixgan.train.lock import _held
    import fcntl
    import os
    ckpt = tmp_path / "ckpt.pt"
    with run_lock(tmp_path):                              # re-entrant: this process may fit here
        fit(_toy(), torch.randn(64, 2), steps=1, checkpoint=ckpt, progress=False)
        fd = os.open(tmp_path / ".lock", os.O_RDWR)      # another open file = what another process sees
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)
    assert not _held
    fd = os.open(tmp_path / ".lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)       # held elsewhere now
    try:
        with pytest.raises(RunFolderBusy, match=r"in use by another run"):
            fit(_toy(), torch.randn(64, 2), steps=1, checkpoint=ckpt, progress=False)
    finally:
        os.close(fd)


def test_non_finite_weights_are_caught_before_the_checkpoint(tmp_path):
    """A weight that turns inf after a finite loss (here: set by the step-3 sample_fn) stops
    training at that step; the checkpoint on disk stays the verified step-2 one."""
    from mixgan.train import read_checkpoint
    ckpt = tmp_path / "ckpt.pt"

    def poison(model, step):
        if step == 3:
            with torch.no_grad():
                next(iter(model.g_parameters())).view(-1)[0] = float("inf")

    with pytest.raises(FloatingPointError, match=r"diverged at step 3: non-finite weights.*ckpt.pt \(step 2\)"):
        fit(_toy(), torch.randn(64, 2), steps=5, checkpoint=ckpt, checkpoint_every=1, sample_every=1,
            sample_fn=poison, progress=False)
    assert read_checkpoint(ckpt)["step"] == 2


def test_resume_removes_temporaries_of_a_killed_writer(tmp_path):
    """A SIGKILL during a write leaves .ckpt.pt.XXXX.tmp; the next run on the folder removes it."""
    ckpt = tmp_path / "ckpt.pt"
    fit(_toy(), torch.randn(64, 2), steps=2, checkpoint=ckpt, progress=False)
    stale = tmp_path / ".ckpt.pt.abc123.tmp"
    stale.write_bytes(b"half")
    (tmp_path / "other.tmp").write_bytes(b"not ours")
    fit(_toy(), torch.randn(64, 2), steps=3, checkpoint=ckpt, resume=True, progress=False)
    assert not stale.exists() and (tmp_path / "other.tmp").exists()


def test_fit_refuses_a_non_model():
    with pytest.raises(TypeError, match="model must be a mixgan model"):
        fit(torch.nn.Linear(2, 2), torch.randn(8, 2), steps=1, progress=False)


def test_all_finite_and_non_finite_agree():
    from mixgan.train.checkpoint import all_finite, non_finite
    cases = [{"a": torch.zeros(3)}, {"a": torch.tensor([1.0, float("nan")])}, {"h": [1.0, float("inf")]},
             {}, {"e": torch.zeros(0), "i": torch.arange(3)}, {"s": {0: {"m": torch.full((2,), -float("inf"))}}}]
    assert [all_finite(c) for c in cases] == [not non_finite(c) for c in cases] == [True, False, False, True, True, False]
    assert non_finite(cases[-1]) == ["s.0.m"]
