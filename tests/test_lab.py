"""The Mixture Lab: its headless API (every 2-D model, the snapshot's shapes, bad input,
divergence and recovery, live settings, animation), that it trains with fit's own step, and
its widget driven from Python (buttons, play in the background, messages)."""
import time

import numpy as np
import pytest
import torch
from PIL import Image

from mixgan.data import toy
from mixgan.lab import MODELS_2D, Lab, MixtureLab
from mixgan.models import build
from mixgan.presets import LAB
from mixgan.train import fit


@pytest.mark.parametrize("model", MODELS_2D)
def test_every_2d_model_advances_and_snapshots(model):
    lab = Lab("grid3x3", model, seed=0, n_fake=64, grid=12, n_arrows=8, n_data=500)
    lab.advance(2)
    s = lab.state()
    assert s["step"] == 2 and s["real"].shape == (500, 2)
    assert s["fake"].shape == (64, 2) and np.isfinite(s["fake"]).all()
    assert s["generator"].shape == (64,) and s["generator"].dtype == np.int64
    assert 0 <= s["generator"].min() and s["generator"].max() < s["K"]
    assert s["critic"].shape == (12, 12) and np.isfinite(s["critic"]).all()
    assert s["arrows"].shape == (8, 4)
    assert s["usage"].shape == (s["K"],) and abs(s["usage"].sum() - 1) < 1e-5
    assert set(s["scores"]) >= {"modes", "high_quality", "kl", "nll"}
    assert 0 <= s["scores"]["modes"] <= 9
    assert len(lab.history["d_loss"]) == 2 and lab.history["eval_step"] == [2]


def test_colours_are_the_generators():
    assert Lab("hmog5", "gan", n_data=200).state()["K"] == 1
    s = Lab("hmog5", "hmog", depth=2, n_data=200).state()
    assert s["K"] == 4 and s["latent"]["kind"] == "grid" and s["latent"]["labels"].max() < 4
    s = Lab("hmog5", "madgan", K=3, n_data=200, n_fake=9).state()
    assert s["generator"].tolist() == [0, 1, 2] * 3 and s["latent"] is None
    s = Lab("hmog5", "mmgan_static", K=4, n_data=200).state()
    assert s["latent"]["kind"] == "points" and set(s["generator"].tolist()) <= {0, 1, 2, 3}


def test_the_lab_trains_with_fits_own_step():
    """advance(n) == fit(n steps) bit for bit: the same model, data, seed and optimiser step."""
    lab = Lab("hmog5", "hmog", seed=3, depth=2, n_data=300, score_every=1)
    lab.state()                                                  # a snapshot must not disturb training,
    lab.advance(3)                                               # nor scoring after every step
    assert lab.history["eval_step"] == [0, 1, 2, 3]
    x, _, _ = toy("hmog5", 300, seed=3)
    model = build("hmog", (2,), seed=3, depth=2, **LAB)              # the lab's batch and critic steps
    fit(model, x, steps=3, seed=3, progress=False)
    for (k, a), b in zip(lab.model.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), k


def test_single_steps():
    lab = Lab("hmog5", "hmog", n_data=200)
    w0 = next(lab.model.disc.parameters()).clone()
    lab.critic_step()
    assert lab.step == 0 and not torch.equal(w0, next(lab.model.disc.parameters()))
    g0 = [p.clone() for p in lab.model.g_parameters()]
    lab.generator_step()
    assert lab.step == 1 and any(not torch.equal(a, b) for a, b in zip(g0, lab.model.g_parameters()))


@pytest.mark.parametrize("points, match", [
    (np.zeros((9, 2)), "at least 10"),
    (np.r_[np.zeros((20, 2)), [[np.nan, 0.0]]], "NaN"),
    (np.zeros((20, 3)), r"\[n, 2\]"),
])
def test_bad_points_are_one_value_error(points, match):
    with pytest.raises(ValueError, match=match):
        Lab(points, "gan")
    lab = Lab("hmog5", "gan", n_data=200)
    with pytest.raises(ValueError, match=match):
        lab.reset(toy=points)
    assert lab.settings["toy"] == "hmog5"                        # nothing changed


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="hmog5.*ring8.*draw"):
        Lab("moons", "hmog")
    with pytest.raises(ValueError, match="gan, fc, mog, hmog.*acgan"):
        Lab("hmog5", "mmgan_encoder")


def test_array_and_drawn_data():
    rng = np.random.default_rng(0)
    ring = np.c_[np.cos(t := rng.uniform(0, 6.3, 200)), np.sin(t)].astype(np.float32)
    lab = Lab(ring, "hmog", depth=2)
    lab.advance(1)
    assert lab.state()["real"].shape == (200, 2) and lab.spec.num_modes >= 2
    lab = Lab("draw", "mog", K=2)
    with pytest.raises(ValueError, match="draw at least 10"):
        lab.advance(1)
    lab.add_points(ring[:30])
    lab.reset()
    lab.advance(1)
    assert lab.step == 1 and len(lab.x) == 30


def test_divergence_stops_and_reset_recovers():
    lab = Lab("hmog5", "gan", n_data=200)
    with torch.no_grad():
        next(lab.model.disc.parameters()).fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="diverged at step 1"):
        lab.advance(5)
    assert lab.step == 1 and "diverged" in lab.state()["diverged"]
    with pytest.raises(FloatingPointError, match="Reset"):
        lab.advance(1)
    lab.reset()
    lab.advance(2)
    assert lab.step == 2 and lab.diverged is None


def test_live_settings():
    lab = Lab("hmog5", "hmog", n_data=200)
    lab.set(lr=3e-4, n_critic=2, lam=0.0)
    assert all(g["lr"] == 3e-4 for g in lab._update.opt_g.param_groups + lab._update.opt_d.param_groups)
    assert lab.model.cfg.n_critic == 2 and lab.model.cfg.lam == 0.0
    lab.reset(depth=2)                                           # live settings survive a reset
    assert lab.lr == 3e-4 and lab.model.cfg.n_critic == 2 and lab.model.cfg.K == 4
    with pytest.raises(ValueError, match="lr must be"):
        lab.set(lr=-1)
    with pytest.raises(ValueError, match="not a live setting"):
        lab.set(depth=4)


def test_save_animation_and_static_figure(tmp_path):
    lab = MixtureLab("hmog5", "hmog", depth=2, n_data=200, n_fake=64, grid=10)
    path = lab.save_animation(tmp_path / "a.gif", steps=4, every=2)
    with Image.open(path) as im:
        assert im.n_frames == 3
    assert lab.step == 4
    fig = lab.figure()
    assert len(fig.axes) >= 4
    with pytest.raises(ValueError, match=".gif or .mp4"):
        lab.save_animation(tmp_path / "a.png")


def test_widget_buttons_play_and_messages(monkeypatch):
    monkeypatch.delenv("MIXGAN_HEADLESS", raising=False)
    lab = MixtureLab("hmog5", "hmog", depth=2, n_data=200, n_fake=64, grid=10)
    ui = lab.widget and lab._ui
    ui.gen_b.click()
    assert lab.step == 1 and "mixlab-count'>1<" in ui.step_html.value
    assert ui.view.frame["step"] == 1 and len(ui.view.frame["fake"]) == 128
    lab.advance(2)                                               # code moves the widget on screen too
    assert ui.view.frame["step"] == 3 and "mixlab-count'>3<" in ui.step_html.value
    ui.reset_b.click()
    assert ui.view.frame["step"] == 0
    ui.speed.value = 1
    ui.play_b.click()
    deadline = time.time() + 30
    while lab.step < 3 and time.time() < deadline:
        time.sleep(0.05)
    ui.pause_b.click()
    stopped = lab.step
    assert stopped >= 3
    time.sleep(0.3)
    assert lab.step == stopped
    ui.toy.value = "draw"
    ui.reset_b.click()
    assert "at least 10" in ui.msg.value
    ui._on_msg(None, {"type": "draw", "points": [[0.1 * i, 0.0] for i in range(12)]})
    ui.reset_b.click()
    assert lab.step == 0 and len(lab.x) == 12 and ui.msg.value == ""
    with torch.no_grad():
        next(lab.model.disc.parameters()).fill_(float("nan"))
    ui.play_b.click()
    deadline = time.time() + 30
    while ui.playing and time.time() < deadline:
        time.sleep(0.05)
    assert not ui.playing and "diverged" in ui.msg.value
    ui.reset_b.click()
    ui.gen_b.click()
    assert lab.step == 1 and lab.diverged is None


def test_the_lab_defaults_and_their_overrides():
    """Batches of 64 and at most 2 critic steps unless the caller says otherwise."""
    lab = Lab("hmog5", "hmog", n_data=200)
    c = lab.model.cfg
    assert (c.batch_size, c.g_batch_size, c.n_critic) == (64, 64, 2)
    assert Lab("hmog5", "gan", n_data=200).model.cfg.n_critic == 1          # never more than the model's own
    lab = Lab("hmog5", "hmog", n_data=200, n_critic=5, batch_size=128)
    assert (lab.model.cfg.n_critic, lab.model.cfg.batch_size, lab.model.cfg.g_batch_size) == (5, 128, 128)
    c = Lab("hmog5", "mmgan_static", n_data=200, g_batch_size=32).model.cfg
    assert (c.batch_size, c.g_batch_size) == (64, 32)


def test_the_score_curves_are_sampled_during_a_long_advance():
    lab = Lab("hmog5", "hmog", depth=2, n_data=200, score_every=25).advance(60)
    h = lab.history
    assert h["eval_step"] == [25, 50] and len(h["modes"]) == len(h["high_quality"]) == 2
    lab.state()
    assert h["eval_step"] == [25, 50, 60]
    assert Lab("hmog5", "hmog", depth=2, n_data=200, score_every=0).advance(30).history["eval_step"] == []
    with pytest.raises(ValueError, match="score_every"):
        Lab("hmog5", "hmog", score_every=-1)


def test_static_figure_is_readable():
    """No generator is drawn grey like the real points; usage ticks are whole generator numbers;
    before any step the curve panel is a plain 'no steps yet' panel; after steps its axes
    are labelled and the legend sits outside the curves."""
    from matplotlib.colors import to_rgb
    from mixgan.lab.figure import PALETTE, REAL
    assert all(max(c) - min(c) > 0.1 for c in PALETTE) and max(to_rgb(REAL)) - min(to_rgb(REAL)) == 0
    lab = MixtureLab("hmog5", "hmog", depth=3, n_data=200, n_fake=64, grid=10)
    fig = lab.figure()
    ax_use, ax_cur = fig.axes[2], fig.axes[3]
    assert len(fig.axes) == 4                                     # no twin axis yet
    assert not ax_cur.lines and not ax_cur.get_xticks().size and not ax_cur.get_yticks().size
    assert any("no steps yet" in t.get_text() for t in ax_cur.texts)
    assert ax_use.get_xticks().tolist() == list(range(8))
    lab.advance(30)
    fig = lab.figure()
    ax_cur, twin = fig.axes[3], fig.axes[4]
    assert ax_cur.get_xlabel() and ax_cur.get_ylabel() and twin.get_ylabel()
    legend = ax_cur.get_legend()
    assert legend is not None and len(legend.get_texts()) == 4 and legend.get_texts()[0].get_fontsize() >= 7
    fig.canvas.draw()
    assert legend.get_window_extent().y1 <= ax_cur.get_window_extent().y0   # below the plot, not on it


def test_widget_and_figure_share_the_palette():
    import re
    from pathlib import Path
    from matplotlib.colors import to_hex
    from mixgan.lab.figure import PALETTE
    js = (Path(__file__).resolve().parents[1] / "mixgan" / "lab" / "lab.js").read_text()
    pal = re.search(r"const PAL = \[(.*?)\];", js, re.S).group(1)
    assert re.findall(r'"(#[0-9a-f]{6})"', pal) == [to_hex(c) for c in PALETTE]


def test_advance_checks_its_step_count_and_can_show_a_bar(capsys, monkeypatch):
    monkeypatch.setenv("MIXGAN_HEADLESS", "1")
    lab = Lab("hmog5", "hmog", depth=2, n_data=200)
    assert lab.advance(3, progress=True).step == 3
    assert "hmog steps: 100%" in capsys.readouterr().err
    for bad in (-1, 2.5, "3", True):
        with pytest.raises(ValueError, match="n must be a whole number"):
            lab.advance(bad)
    assert lab.step == 3
