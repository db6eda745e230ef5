"""The Mixture Lab's engine: a model of the kit trained step by step on 2-D data, and a
snapshot of everything the lab draws.  No widgets here (run it headless, test it, script it).

    lab = Lab("hmog5", "hmog", seed=0, depth=3)
    lab.advance(50)                 # 50 generator steps (each after n_critic critic steps)
    s = lab.state()                 # step, real [n, 2], fake [m, 2], generator [m], critic [G, G], scores, ...
    lab.set(lr=3e-4, lam=0.0)       # live settings: learning rate, critic steps, WGAN-GP λ
    lab.reset(model="madgan", K=8)  # anything else starts a new model

The training step is ``mixgan.train.loop.Update``, the one ``fit`` runs; the models are
``mixgan.models.build``'s, with their 2-D toy defaults.
"""
import math
import numbers

import numpy as np
import torch

from ..data import toy as make_toy
from ..data import toy_names
from ..data.toy import ToySpec
from ..metrics.toy import toy_scores
from ..models import build
from ..presets import LAB
from ..train.loop import Update, _adam, _Batches
from ..utils import progress_bar

MODELS_2D = ("gan", "fc", "mog", "hmog", "madgan", "mgan", "megan", "mmgan_static", "mmgan_dynamic",
             "mmgan_supervised", "acgan")
LIVE = ("lr", "n_critic", "lam")          # settings that change without a new model
MIN_POINTS = 10


def check_points(points, name="data"):
    """An [n, 2] array of finite points with n >= 10 as a float32 tensor, else one ValueError."""
    try:
        x = torch.as_tensor(np.asarray(points, dtype=np.float32))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an [n, 2] array of numbers, got {type(points).__name__}") from None
    if x.dim() != 2 or x.shape[1] != 2:
        raise ValueError(f"{name} must be an [n, 2] array of points, got shape {tuple(x.shape)}")
    if len(x) < MIN_POINTS:
        raise ValueError(f"{name} has {len(x)} points; the lab needs at least {MIN_POINTS}")
    if not torch.isfinite(x).all():
        bad = int((~torch.isfinite(x)).any(1).sum())
        raise ValueError(f"{name} has {bad} point(s) with NaN or inf coordinates; remove them")
    return x


def kmeans(x, k, iters=25, seed=0):
    """Lloyd's k-means: centres [k, 2] and labels [n] (k-means++ style seeding, fixed seed)."""
    g = torch.Generator().manual_seed(seed)
    c = x[torch.randint(len(x), (1,), generator=g)]
    for _ in range(k - 1):                                        # far points are likelier
        d = torch.cdist(x, c).min(1).values.pow(2)
        c = torch.cat([c, x[torch.multinomial(d + 1e-12, 1, generator=g)]])
    for _ in range(iters):
        lab = torch.cdist(x, c).argmin(1)
        c = torch.stack([x[lab == j].mean(0) if (lab == j).any() else c[j] for j in range(k)])
    return c, torch.cdist(x, c).argmin(1)


def custom_spec(x, k=8):
    """A ToySpec for user data: k-means regions as modes, std = the points' RMS distance to
    their centre per axis, weights = region sizes.  The labels are the regions."""
    k = max(1, min(k, len(x) // 5))
    c, lab = kmeans(x, k)
    std = float(((x - c[lab]).pow(2).sum(1).mean() / 2).sqrt().clamp_min(1e-3))
    w = torch.bincount(lab, minlength=k).float()
    keep = w > 0
    remap = torch.cumsum(keep.long(), 0) - 1
    return ToySpec("custom", c[keep], std, w[keep] / w.sum()), remap[lab]


def _validate_names(toy, model):
    if isinstance(toy, str) and toy not in toy_names() + ["draw"]:
        raise ValueError(f"unknown toy {toy!r}; valid names: {', '.join(toy_names() + ['draw'])} "
                         "(or pass an [n, 2] array of points)")
    if model not in MODELS_2D:
        raise ValueError(f"unknown model {model!r} for 2-D data; valid names: {', '.join(MODELS_2D)}")


def _check_live(key, v):
    if key == "n_critic":
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or not 1 <= v <= 100:
            raise ValueError(f"n_critic must be a whole number in 1..100, got {v!r}")
        return int(v)
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0 or \
            (key == "lr" and v == 0):
        raise ValueError(f"{key} must be a finite number {'>' if key == 'lr' else '>='} 0, got {v!r}")
    return float(v)


class Lab:
    """A model of the kit training on 2-D data, one step at a time (see the module docstring).

    toy: a toy name (``mixgan.data.toy_names()``), "draw" (points placed by ``add_points``;
    training starts once there are 10), or an [n, 2] array.  model: one of MODELS_2D.
    build_kw: any ``models.build`` option (depth, K, lr, n_critic, lam, batch_size, ...).  Unless
    given, the lab trains with batches of 64 and at most 2 critic steps per generator step
    (``presets.LAB``): on one CPU thread that converges in fewer seconds and keeps frames fast.
    n_fake: fakes drawn from FIXED noise in every snapshot (so the picture moves smoothly);
    grid: critic heatmap resolution; n_arrows: fakes that carry a gradient arrow.
    score_every: advance() scores the fixed-noise fakes every this many generator steps (and
    every state() does), so the modes / high-quality curves are curves even after a long
    advance; 0 scores only at state().
    """

    def __init__(self, toy="hmog5", model="hmog", seed=0, *, n_fake=512, grid=40, n_arrows=64, n_data=2000,
                 score_every=25, **build_kw):
        if isinstance(score_every, bool) or not isinstance(score_every, numbers.Integral) or score_every < 0:
            raise ValueError(f"score_every must be a whole number >= 0, got {score_every!r}")
        self.n_fake, self.grid, self.n_arrows, self.n_data = n_fake, grid, n_arrows, n_data
        self.score_every = int(score_every)
        self.settings = dict(toy="hmog5", model="hmog", seed=0)
        self.build_kw = {}
        self.drawn = []
        self.reset(toy=toy, model=model, seed=seed, **build_kw)

    # ---- set-up -------------------------------------------------------------------------
    def reset(self, **changes):
        """A new model (step 0) with `changes` applied to the settings: toy, model, seed or
        any ``models.build`` option (None removes one).  Bad values: ValueError, nothing changed."""
        s = dict(self.settings)
        kw = dict(self.build_kw)
        for k, v in changes.items():
            if k in s:
                s[k] = v
            elif v is None:
                kw.pop(k, None)
            else:
                kw[k] = v
        if not isinstance(s["toy"], str):                        # an array: check it now
            s["toy"] = check_points(s["toy"]).numpy()
        _validate_names(s["toy"], s["model"])
        if "model" in changes and changes["model"] != self.settings["model"]:
            for k in ("K", "depth"):                              # the size belongs to the old model
                if k not in changes:
                    kw.pop(k, None)
        x, labels, spec = self._data(s["toy"], s["seed"])
        n_classes = spec.num_modes if spec is not None else 1
        opts = dict(kw)
        if s["model"] in ("mmgan_supervised", "acgan"):
            opts.setdefault("n_classes", n_classes)
        if s["model"] == "mmgan_supervised":
            opts.setdefault("K", opts["n_classes"])                # one Gaussian per class
        if "g_batch_size" not in opts:                           # the lab's own batch (presets.LAB);
            opts["g_batch_size"] = opts.get("batch_size", LAB["g_batch_size"])  # a given batch_size: both
        opts.setdefault("batch_size", LAB["batch_size"])
        live = {k: _check_live(k, opts.pop(k)) for k in LIVE if k in opts}
        torch.manual_seed(s["seed"])
        model = build(s["model"], (2,), seed=s["seed"], **opts)
        live.setdefault("n_critic", min(model.cfg.n_critic, LAB["n_critic"]))
        for k, v in live.items():
            if k != "lr":
                setattr(model.cfg, k, v)
        self.settings, self.build_kw = s, kw
        self.model, self.x, self.labels, self.spec = model, x, labels, spec
        self.lr = live.get("lr", model.cfg.lr)
        self.step, self.diverged = 0, None
        self.history = {"step": [], "d_loss": [], "g_loss": [], "eval_step": [], "modes": [], "high_quality": []}
        self._extent = self._bounds(x)
        self._update = None
        if x is not None:
            c = model.cfg
            data = (x, labels) if c.loss in ("supervised_mm", "acgan") else x
            batches = _Batches(data, torch.device("cpu"), s["seed"], model)
            opt = dict(lr=self.lr, betas=c.betas, amsgrad=c.amsgrad)
            self._update = Update(model, batches, _adam(model.g_parameters(), **opt),
                                  _adam(model.disc.parameters(), **opt), c.batch_size, c.g_batch_size)
            model.train()
        torch.manual_seed(s["seed"])                             # as fit does before its first step
        return self

    def _data(self, toy, seed):
        if isinstance(toy, str) and toy == "draw":
            if len(self.drawn) < MIN_POINTS:
                return None, None, None
            x = check_points(self.drawn, "the drawing")
        elif isinstance(toy, str):
            x, labels, spec = make_toy(toy, self.n_data, seed=seed)
            return x, labels, spec
        else:
            x = torch.as_tensor(toy)
        spec, labels = custom_spec(x)
        return x, labels, spec

    def _bounds(self, x):
        """A square view around the data (or [-3, 3]² before any data): (lo, hi)."""
        if x is None:
            return (-3.0, 3.0)
        lo, hi = float(x.min()), float(x.max())
        pad = 0.15 * (hi - lo) + 0.3
        return (lo - pad, hi + pad)

    def add_points(self, points):
        """Add drawn points [k, 2] (the "draw" data); they are used at the next reset."""
        p = np.asarray(points, dtype=np.float32).reshape(-1, 2)
        if not np.isfinite(p).all():
            raise ValueError("drawn points must be finite numbers")
        self.drawn.extend(p.tolist())

    def clear_drawing(self):
        self.drawn = []

    def set(self, **live):
        """Change lr, n_critic or lam (WGAN-GP λ) of the running model without a reset."""
        for k, v in live.items():
            if k not in LIVE:
                raise ValueError(f"{k!r} is not a live setting; live: {', '.join(LIVE)} (use reset for others)")
            v = _check_live(k, v)
            self.build_kw[k] = v
            if k == "lr":
                self.lr = v
                if self._update is not None:
                    for opt in (self._update.opt_g, self._update.opt_d):
                        for group in opt.param_groups:
                            group["lr"] = v
            else:
                setattr(self.model.cfg, k, v)

    # ---- training -----------------------------------------------------------------------
    def _ready(self):
        if self._update is None:
            raise ValueError(f"no data: draw at least {MIN_POINTS} points (add_points), then reset()")
        if self.diverged:
            raise FloatingPointError(self.diverged + " Press Reset (or call reset()) to start again.")

    def _check(self, d, g):
        if not (math.isfinite(d) and math.isfinite(g)):
            self.diverged = (f"Training diverged at step {self.step}: the losses are not finite (critic {d}, "
                             f"generator {g}). Lower the learning rate or raise the critic steps.")
            raise FloatingPointError(self.diverged)

    def advance(self, n=1, progress=False):
        """n generator steps, each after n_critic critic steps (``Update``, as in ``fit``);
        progress=True shows a bar over the steps."""
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"n must be a whole number of steps >= 0, got {n!r}")
        self._ready()
        u = self._update
        steps = range(int(n))
        for _ in (progress_bar(steps, desc=f"{self.settings['model']} steps") if progress else steps):
            d_loss, g_loss = u(self.model.cfg.n_critic)
            d, g = d_loss.item(), g_loss.item()
            self.step += 1
            self.history["step"].append(self.step)
            self.history["d_loss"].append(d)
            self.history["g_loss"].append(g)
            self._check(d, g)
            if self.score_every and self.step % self.score_every == 0:
                self._record(self._fixed_fakes()[1])
        return self

    def critic_step(self):
        """One critic update alone (the step counter counts generator steps, so it stays)."""
        self._ready()
        d = self._update.critic().item()
        self._check(d, 0.0)
        return d

    def generator_step(self):
        """One generator update alone (no critic step before it)."""
        self._ready()
        g = self._update.generator().item()
        self.step += 1
        self.history["step"].append(self.step)
        self.history["d_loss"].append(self.history["d_loss"][-1] if self.history["d_loss"] else float("nan"))
        self.history["g_loss"].append(g)
        self._check(0.0, g)
        return g

    # ---- what the lab draws ---------------------------------------------------------------
    def realness(self, x):
        """The critic's 'real' score of points x [n, 2] -> [n]: its output for one-output critics,
        log softmax of the real class for MADGAN, the largest class logit for supervised MM-GAN."""
        out = self.model.disc(x)[0]
        if self.model.cfg.loss == "madgan":
            return out.log_softmax(1)[:, 0]
        return out.max(1).values if out.shape[1] > 1 else out[:, 0]

    def _fakes(self):
        """Fakes from fixed noise and the generator of each: leaf / component (argmax of the
        gates) for soft heads, the chosen head for MADGAN / MGAN / MEGAN, the Gaussian for
        GMM priors, the class for AC-GAN, 0 for one generator."""
        m, c = self.model, self.model.cfg
        g = torch.Generator().manual_seed(12345)
        z, k = m.prior.sample(self.n_fake, generator=g)
        y = index = None
        if c.conditional:
            y = torch.arange(self.n_fake) % c.n_classes
        elif c.mapping is not None:
            y = m.mapping[k]
        if c.head == "multi":
            index = torch.arange(self.n_fake) % c.K
        with torch.random.fork_rng(devices=[]):
            x, idx = m.generate(z, y, index)
        if c.prior == "gmm":
            gen = k
        elif c.conditional:
            gen = y
        elif c.head in ("tree", "mixture"):
            gen = m.head.gates(z).argmax(1)
        elif idx is not None:
            gen = idx
        else:
            gen = torch.zeros(self.n_fake, dtype=torch.long)
        return z, x, gen

    def _fixed_fakes(self):
        """_fakes() in eval mode without gradients (training mode restored): z, x, gen."""
        was = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                return self._fakes()
        finally:
            self.model.train(was)

    def _record(self, x):
        """toy_scores of the fakes x at this step, added to the history once per step; NaN scores
        while there is no data or the fakes are not finite."""
        nan = {"modes": float("nan"), "high_quality": float("nan"), "kl": float("nan"), "nll": float("nan")}
        if self.spec is None:
            return nan
        scores = toy_scores(x, self.spec) if torch.isfinite(x).all() else nan
        h = self.history
        if not h["eval_step"] or h["eval_step"][-1] != self.step:
            h["eval_step"].append(self.step)
            h["modes"].append(scores["modes"])
            h["high_quality"].append(scores["high_quality"])
        return scores

    def _latent(self, z, gen):
        """Latent plane: most probable leaf / generator on a grid of z (2-D gated heads), or the
        first two coordinates of the fixed z coloured by Gaussian (GMM priors); else None."""
        m, c = self.model, self.model.cfg
        if c.prior == "gmm":
            return {"kind": "points", "z": z[:, :2].numpy(), "labels": gen.numpy(), "extent": (-3.0, 3.0)}
        if c.z_dim == 2 and c.head in ("tree", "mixture", "gated"):
            t = torch.linspace(-3, 3, self.grid)
            zz = torch.cartesian_prod(t, t).flip(1)                   # row i: z2 = t[i]; col j: z1 = t[j]
            lab = m.head.gates(zz).argmax(1).view(self.grid, self.grid)
            return {"kind": "grid", "labels": lab.numpy(), "extent": (-3.0, 3.0)}
        return None

    def state(self):
        """A snapshot (numpy arrays): step, real [n, 2], fake [m, 2], generator [m] ints, K,
        critic [G, G] (row i at y = ys[i], column j at x = xs[j]), extent (lo, hi), arrows
        [a, 4] (x, y, dx, dy: the critic's gradient at a fake, where the generator pushes it),
        latent (see _latent), usage [K] (fraction of fakes per generator), scores (toy_scores:
        modes, high_quality, kl, nll; NaN while there is no data or the fakes are not finite),
        history, diverged (a message or None), settings."""
        m = self.model
        lo, hi = self._extent
        c = m.cfg
        K = c.K if c.prior == "gmm" else (c.n_classes if c.conditional else int(getattr(m.head, "K", 1)))
        s = {"step": self.step, "K": int(K), "extent": (lo, hi), "diverged": self.diverged,
             "settings": {**self.settings, **self.build_kw, "lr": self.lr, "n_critic": m.cfg.n_critic,
                          "lam": m.cfg.lam},
             "real": (self.x.numpy() if self.x is not None else np.zeros((0, 2), np.float32)),
             "drawn": np.asarray(self.drawn, np.float32).reshape(-1, 2)}
        was = m.training
        m.eval()
        try:
            with torch.no_grad():
                z, x, gen = self._fakes()
                t = torch.linspace(lo, hi, self.grid)
                pts = torch.cartesian_prod(t, t).flip(1)
                crit = self.realness(pts).view(self.grid, self.grid)
                latent = self._latent(z, gen)
            xa = x[: self.n_arrows].clone().requires_grad_(True)
            with torch.enable_grad():
                grad, = torch.autograd.grad(self.realness(xa).sum(), xa)
        finally:
            m.train(was)
        s.update(fake=x.numpy(), generator=gen.numpy().astype(np.int64), critic=crit.numpy(), latent=latent,
                 arrows=torch.cat([xa.detach(), grad], 1).numpy(),
                 usage=(torch.bincount(gen, minlength=K).float() / len(gen)).numpy())
        s["scores"] = self._record(x)
        s["history"] = self.history
        return s
