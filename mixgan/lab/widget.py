"""The Mixture Lab widget: ipywidgets controls around an anywidget view whose JavaScript draws
the points, heatmap and curves on canvases (the kernel only sends arrays, no images).

Playing runs in a background thread of the kernel, so the notebook stays usable; every
button and setting goes through one lock with the training thread.
"""
import pathlib
import threading
import time

import numpy as np

from ..data import toy_names
from .core import LIVE, MIN_POINTS, MODELS_2D, Lab

_JS = (pathlib.Path(__file__).with_name("lab.js")).read_text()
_SIZE = {"hmog": ("depth", 1, 5)}           # the model's size control: (option, min, max); else K in 1..16


def frame_of(s):
    """The state as plain lists for the view (rounded: 3 decimals are below a pixel)."""
    r = lambda a: np.round(np.asarray(a, np.float64), 3).ravel().tolist()   # noqa: E731
    lat = s["latent"]
    if lat is not None:
        lat = ({"kind": "grid", "G": int(lat["labels"].shape[0]), "labels": lat["labels"].ravel().tolist()}
               if lat["kind"] == "grid" else {"kind": "points", "z": r(lat["z"]), "labels": lat["labels"].tolist()})
    h = s["history"]
    every = max(1, len(h["step"]) // 400)                   # at most ~400 points per curve
    ev = max(1, len(h["eval_step"]) // 400)
    fin = lambda v: [x if np.isfinite(x) else None for x in v]   # noqa: E731
    fake = s["fake"] if np.isfinite(s["fake"]).all() else np.zeros((0, 2))
    return {"step": s["step"], "lo": s["extent"][0], "hi": s["extent"][1], "G": int(s["critic"].shape[0]),
            "critic": r(s["critic"]) if np.isfinite(s["critic"]).all() else [], "fake": r(fake),
            "gen": s["generator"].tolist(), "arrows": r(s["arrows"]) if len(fake) else [], "latent": lat,
            "usage": r(s["usage"]),
            "hist": {"step": h["step"][::every], "d": fin(h["d_loss"][::every]), "g": fin(h["g_loss"][::every]),
                     "estep": h["eval_step"][::ev], "modes": fin(h["modes"][::ev]),
                     "hq": fin(h["high_quality"][::ev])}}


def _view_class():
    import anywidget
    import traitlets as t

    class LabView(anywidget.AnyWidget):
        _esm = _JS
        frame = t.Dict().tag(sync=True)
        real = t.List().tag(sync=True)
        arrows = t.Bool(False).tag(sync=True)
        drawing = t.Bool(False).tag(sync=True)
    return LabView


class LabWidget:
    """Controls + view over a ``Lab``; ``widget`` is the ipywidgets box to display."""

    def __init__(self, lab):
        import ipywidgets as w
        self.lab, self.lock, self.playing, self._thread = lab, threading.RLock(), False, None
        self._seq = 0                                          # frames sent to the view
        self.view = _view_class()()
        self.view.on_msg(self._on_msg)
        s = lab.settings
        lay = dict(style={"description_width": "90px"}, layout=w.Layout(width="260px"))
        toy = s["toy"] if isinstance(s["toy"], str) else "array"
        self.toy = w.Dropdown(options=toy_names() + ["draw"] + (["array"] if toy == "array" else []),
                              value=toy, description="data", **lay)
        self.model = w.Dropdown(options=list(MODELS_2D), value=s["model"], description="model", **lay)
        self.size = w.IntSlider(description="", **lay)
        self._size_for(s["model"])
        cfg = lab.model.cfg
        self.lr = w.FloatLogSlider(value=lab.lr, base=10, min=-5, max=-1, step=0.1, description="learning rate",
                                   readout_format=".1e", **lay)
        self.n_critic = w.IntSlider(value=cfg.n_critic, min=1, max=10, description="critic steps", **lay)
        self.lam = w.FloatSlider(value=cfg.lam, min=0, max=10, step=0.1, description="λ (WGAN-GP)", **lay)
        self.speed = w.IntSlider(value=5, min=1, max=50, description="steps / frame", **lay)
        self.arrows = w.Checkbox(value=False, description="gradient arrows", indent=False)
        b = lambda d, icon, tip: w.Button(description=d, icon=icon, tooltip=tip,   # noqa: E731
                                          layout=w.Layout(width="auto"))
        self.play_b, self.pause_b = b("Play", "play", "train continuously"), b("Pause", "pause", "stop training")
        self.reset_b = b("Reset", "refresh", "new model with these settings (uses the drawing in draw mode)")
        self.critic_b = b("Critic step", "step-forward", "one critic update")
        self.gen_b = b("Generator step", "forward", "one generator update")
        self.clear_b = b("Clear drawing", "eraser", "remove the drawn points")
        for btn, cls in ((self.play_b, "mixlab-play"), (self.pause_b, "mixlab-pause"), (self.reset_b, "mixlab-reset"),
                         (self.critic_b, "mixlab-critic"), (self.gen_b, "mixlab-gen")):
            btn.add_class(cls)
        self.step_html = w.HTML().add_class("mixlab-step")
        self.msg = w.HTML().add_class("mixlab-msg")
        self.play_b.on_click(lambda _: self.play())
        self.pause_b.on_click(lambda _: self.pause())
        self.reset_b.on_click(lambda _: self.reset())
        self.critic_b.on_click(lambda _: self._single(self.lab.critic_step))
        self.gen_b.on_click(lambda _: self._single(self.lab.generator_step))
        self.clear_b.on_click(lambda _: self._clear())
        self.model.observe(lambda ch: self._size_for(ch["new"]), "value")
        self.toy.observe(lambda ch: self._toy_changed(), "value")
        for name in LIVE:
            getattr(self, name).observe(lambda ch, n=name: self._live(n, ch["new"]), "value")
        self.arrows.observe(lambda ch: setattr(self.view, "arrows", ch["new"]), "value")
        controls = w.VBox([self.toy, self.model, self.size, self.lr, self.n_critic, self.lam, self.speed, self.arrows])
        buttons = w.HBox([self.play_b, self.pause_b, self.reset_b, self.critic_b, self.gen_b, self.clear_b])
        self.widget = w.VBox([buttons, w.HBox([self.step_html, self.msg]), w.HBox([controls, self.view])])
        self.widget.add_class("mixlab")
        self._toy_changed(reset=False)
        self.push(real=True)

    # ---- controls -------------------------------------------------------------------------
    def _size_for(self, model):
        opt, lo, hi = _SIZE.get(model, ("K", 1, 16))
        cur = self.lab.build_kw.get(opt, self.lab.model.cfg.depth if opt == "depth" else self.lab.model.cfg.K)
        self.size.description = "tree depth" if opt == "depth" else "generators"
        self.size.min, self.size.max = lo, hi
        self.size.value = int(min(max(cur, lo), hi)) if model == self.lab.settings["model"] else \
            (3 if opt == "depth" else (1 if model in ("gan", "fc", "acgan") else 8))
        self._size_opt = opt

    def _toy_changed(self, reset=True):
        self.view.drawing = self.toy.value == "draw"
        if self.toy.value == "draw":
            self.say(f"Click or drag in the data panel to place points (at least {MIN_POINTS}), then press Reset.")
        elif reset:
            self.reset()

    def _live(self, name, value):
        with self.lock:
            try:
                self.lab.set(**{name: value})
            except ValueError as e:
                self.say(str(e), error=True)

    def say(self, text, error=False):
        colour = "crimson" if error else "#333"
        self.msg.value = f"<span style='color:{colour}'>{text}</span>" if text else ""

    def _clear(self):
        with self.lock:
            self.lab.clear_drawing()
        self.push(real=True)

    def _on_msg(self, _, content, buffers=None):
        if isinstance(content, dict) and content.get("type") == "draw":
            with self.lock:
                try:
                    self.lab.add_points(content["points"])
                except ValueError as e:
                    self.say(str(e), error=True)
            n = len(self.lab.drawn)
            self.say(f"{n} points drawn" + (" — press Reset to train on them." if n >= MIN_POINTS else
                                            f"; the lab needs at least {MIN_POINTS}."))
            self.push(real=True)

    # ---- actions --------------------------------------------------------------------------
    def reset(self):
        self.pause()
        toy = self.toy.value
        changes = dict(model=self.model.value, **{self._size_opt: self.size.value},
                       lr=self.lr.value, n_critic=self.n_critic.value, lam=self.lam.value)
        if toy != "array":
            changes["toy"] = toy
        if toy == "draw" and len(self.lab.drawn) < MIN_POINTS:
            self.say(f"The drawing has {len(self.lab.drawn)} points; the lab needs at least {MIN_POINTS} "
                     "(click or drag in the data panel).", error=True)
            return
        if toy == "draw":
            changes["toy"] = np.asarray(self.lab.drawn, np.float32)
        with self.lock:
            try:
                self.lab.reset(**changes)
                self.say("")
            except ValueError as e:
                self.say(str(e), error=True)
        self.push(real=True)

    def _single(self, fn):
        self.pause()
        with self.lock:
            try:
                fn()
            except (ValueError, FloatingPointError) as e:
                self.say(str(e), error=True)
        self.push()

    def push(self, real=False):
        """Send the lab's state to the view."""
        with self.lock:
            s = self.lab.state()
            self._seq += 1
            seq = self._seq
        if real:
            pts = s["real"] if len(s["real"]) else s["drawn"]
            if len(s["drawn"]) and self.toy.value == "draw":
                pts = s["drawn"]
            self.view.real = np.round(pts[:2000].astype(np.float64), 3).ravel().tolist()
        self.view.frame = {**frame_of(s), "seq": seq}
        sc = s["scores"]
        self.step_html.value = (f"<b>step <span class='mixlab-count'>{s['step']}</span></b> &nbsp; "
                                f"modes {sc['modes']} &nbsp; high quality {sc['high_quality']:.2f}")
        if s["diverged"]:
            self.say(s["diverged"] + " Press Reset to start again.", error=True)

    def play(self):
        if self.playing:
            return
        if self.lab._update is None:
            self.say(f"No data yet: draw at least {MIN_POINTS} points, then press Reset.", error=True)
            return
        self.playing = True
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def pause(self):
        self.playing = False
        t = self._thread
        if t is not None and t is not threading.current_thread():
            t.join(timeout=5)
        self._thread = None

    def _loop(self, min_frame=1 / 30):
        while self.playing:
            t0 = time.perf_counter()
            try:
                with self.lock:
                    self.lab.advance(self.speed.value)
            except (ValueError, FloatingPointError) as e:
                self.playing = False
                self.say(str(e), error=True)
            self.push()
            time.sleep(max(0.0, min_frame - (time.perf_counter() - t0)))
