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
    """SPEC §3 models at tiny width (base 8): one critic step and one generator step change
    D and G, the losses are finite, samples have the data shape and lie in [-1, 1]."""
    model = build(name, shape, base=8, K=4, depth=2)
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
    with pytest.raises(FloatingPointError, match=r"step 7\b.*last good checkpoint"):
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
    with pytest.raises(ValueError, match="body norm"):
        build("hmog", (2,), body_norm="layer")
