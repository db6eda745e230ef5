"""Every model of the kit as one composition: prior -> head -> body -> disc (+ loss).

    model = build("hmog", (1, 32, 32), depth=4)
    x = model.sample(16)                        # [16, 1, 32, 32]
    model.d_loss(x_real, y_real), model.g_loss(x_real, y_real)   # what `train.fit` minimises

A model carries its ``Config`` (a dataclass of plain values); ``save`` / ``load`` write
one dict {config, state} so a checkpoint rebuilds itself.

Layouts.  Every multi-generator model puts its K generators in the head z -> h and shares
the whole body B_s, as in the HMoG paper's experiments (one B_s for all models, parameter
counts without it), so the models differ in one place.  The source papers' own layouts are
one argument away:
  * MADGAN shares every layer but the last: ``multi_share="all_but_last"`` (one shared head,
    K last layers in the body).
  * MGAN's reference code gives each generator's first layer its own BatchNorm:
    ``gen_norm="per_generator"`` (images).
  * The HMoG authors' DCGAN body has no BatchNorm: ``gen_norm="none"`` (images).
The defaults keep the shared-body layout with BatchNorm, which every stored image model and
measured result uses.
"""
from dataclasses import asdict, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import losses as L
from .config import HEADS, LOSSES, MODELS, Config, toy_defaults
from .nets import bodies, heads, noise, priors
from .utils import save_torch

__all__ = ["MODELS", "LOSSES", "HEADS", "Config", "GAN", "build", "from_config", "load", "save_atomic"]

class GAN(nn.Module):
    """prior -> head -> body (= G) and disc (= D), wired to the loss named in ``cfg``.

    The encoder MMGAN (Pandeva & Schubert's slides, Algorithm 1) feeds G(z, y) with y = E(x_r), a
    probability vector, without saying how G uses it; the kit reads it as soft indexing of the
    Gaussian mixture, z = Σ_k y_k (μ_k + A_k ε) (a reading of an ambiguous algorithm).
    """

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        c = cfg
        if c.prior == "gmm":
            self.prior = priors.GaussianMixture(c.K, c.z_dim, c.c, c.var, c.learn, seed=c.seed)
        else:
            self.prior = priors.Normal(c.z_dim)
        toy = len(c.data_shape) == 1
        n_last = c.K if c.multi_share == "all_but_last" else 1
        if toy:
            self.body = bodies.MLPBody(c.hidden, out=c.data_shape[0], hidden=c.hidden, norm=c.body_norm,
                                       n_last=n_last)
        else:
            ch, H, W = c.data_shape
            if H != W:
                raise ValueError(f"images must be square, got {c.data_shape}")
            self.body = bodies.DCGANBody(H, ch, c.base, norm=c.gen_norm, n_last=n_last)
        h = self.body.h_dim
        d_in = c.z_dim + (c.n_classes if c.conditional else 0)
        self.head = {
            "linear": lambda: heads.Linear(d_in, h),
            "tree": lambda: heads.SoftTree(d_in, h, c.depth, c.arity),
            "mixture": lambda: heads.SoftMixture(d_in, h, c.K),
            "multi": lambda: heads.MultiHead(d_in, h, c.K, shared=n_last > 1,
                                             norm="per_generator" if c.gen_norm == "per_generator" else None,
                                             channels=getattr(self.body, "width", None)),
            "gated": lambda: heads.GatedHead(d_in, h, c.K),
        }[c.head]()
        n_out = {"madgan": c.K + 1, "supervised_mm": c.n_classes}.get(c.loss, 1)
        n_aux = {"mgan": c.K, "acgan": c.n_classes}.get(c.loss, 0)
        self.disc = self._disc(n_out, n_aux, c.disc_norm, c.pack)
        self.encoder = self._disc(c.K, 0, "batch") if c.name == "mmgan_encoder" else None
        if c.mapping is not None:
            self.register_buffer("mapping", torch.tensor(c.mapping, dtype=torch.long))

    def _disc(self, out, aux, norm, pack=1):
        c = self.cfg
        if len(c.data_shape) == 1:
            d = bodies.MLPDisc(c.data_shape[0] * pack, c.hidden, out=out, aux=aux)
        else:
            d = bodies.DCGANDisc(c.data_shape[1], c.data_shape[0] * pack, out, aux, norm, c.base)
        return bodies.Packed(d, pack) if pack > 1 else d

    # ---- generation -------------------------------------------------------------------
    @property
    def z_dim(self):
        return self.cfg.z_dim

    @property
    def device(self):
        return next(self.parameters()).device

    def generate(self, z, y=None, index=None):
        """x = B_s(head(z)); returns (x, index) where index is the generator used by
        multi / gated heads (else None).  y: class labels for the conditional AC-GAN."""
        if self.cfg.conditional:
            z = torch.cat([z, F.one_hot(y, self.cfg.n_classes).to(z.dtype)], 1)
        if self.cfg.head == "multi":
            h, index = self.head(z, index)
        elif self.cfg.head == "gated":
            h, index = self.head(z)
        else:
            h = self.head(z)
        return self.body(h, index), index

    def _fake(self, n, x_real=None, scale=1.0, k=None):
        """Draw z from the prior and generate: x [n, …] plus a dict of the indices
        the losses need (k: Gaussian, y: class, index: generator)."""
        c = self.cfg
        if c.name == "mmgan_encoder":            # G(z, y) with y = E(x_r): GMM indexed by y
            if x_real is not None:
                y = self.encoder(x_real)[0].softmax(1)
            else:
                kk = noise.randint(c.K, n, device=self.device) if k is None else \
                    torch.as_tensor(k, device=self.device).expand(n)
                y = F.one_hot(kk, c.K).float()
            eps = noise.randn(y.shape[0], c.z_dim, device=self.device) * scale ** 0.5
            x, _ = self.generate(self.prior.mix(y, eps))
            return x, dict(k=y.argmax(1))
        z, kk = self.prior.sample(n, scale=scale, k=k)
        y = None
        if c.conditional:
            y = noise.randint(c.n_classes, n, device=z.device) if k is None else \
                torch.as_tensor(k, device=z.device).expand(n)
        elif c.mapping is not None:
            y = self.mapping[kk]
        x, index = self.generate(z, y)
        return x, dict(k=kk, y=y, index=index)

    @torch.no_grad()
    def sample(self, n, scale=1.0, return_index=False, k=None, truncate=None):
        """n samples [n, *data_shape] in eval mode.  scale: covariance factor σ' of the
        prior; k: force one Gaussian / class; truncate: keep fraction (e.g. 0.75 drops the
        least likely 25 % of z; AC-GAN classes stay uniform).  return_index=True also returns
        the component (GMM), class (AC-GAN) or generator (multi / gated); None for soft heads.
        MEGAN draws its generator from the gate's softmax (``model.head.eval_gate = "argmax"``
        takes the most probable one instead)."""
        was = self.training
        self.eval()
        try:
            if truncate is not None:
                if k is not None and not self.cfg.conditional:
                    raise ValueError("sample(): k (one Gaussian) and truncate together are not supported; "
                                     "k with truncate picks the class of the conditional AC-GAN only")
                z, kk = priors.truncate(self.prior, n, truncate, scale)
                y = None
                if self.cfg.conditional:       # classes uniform (or the given k), independent of z
                    y = torch.randint(self.cfg.n_classes, (n,), device=z.device) if k is None else \
                        torch.as_tensor(k, device=z.device).expand(n)
                x, index = self.generate(z, y)
                info = dict(k=kk, index=index)
                if self.cfg.conditional:
                    info["y"] = y
            else:
                x, info = self._fake(n, scale=scale, k=k)
        finally:
            self.train(was)
        if not return_index:
            return x
        return x, self._index(info)

    def _index(self, info):
        if self.cfg.prior == "gmm" or self.cfg.name == "mmgan_encoder":
            return info["k"]
        if info.get("y") is not None:
            return info["y"]
        return info.get("index")

    def num_params(self):
        """Generator parameters without the shared body B_s (prior + head, plus the K last
        layers of ``multi_share="all_but_last"``), as in the HMoG paper's Fig. 9 x-axis."""
        own = self.body.own_parameters()        # MADGAN layout: the K last layers are not shared
        return sum(p.numel() for m in (self.prior, self.head) for p in m.parameters()) + sum(p.numel() for p in own)

    def g_parameters(self):
        mods = [self.prior, self.head, self.body] + ([self.encoder] if self.encoder is not None else [])
        return [p for m in mods for p in m.parameters()]

    # ---- losses -----------------------------------------------------------------------
    def d_loss(self, x_real, y_real=None):
        """Discriminator / critic loss on one real batch; G runs under no_grad."""
        c = self.cfg
        with torch.no_grad():
            x_fake, info = self._fake(x_real.shape[0], x_real)
        r, r_aux = self.disc(x_real)
        f, f_aux = self.disc(x_fake)
        if c.loss == "wgan_gp":
            gp = L.gradient_penalty(lambda x: self.disc(x)[0], x_real, x_fake)
            return L.d_wgan_gp(r, f, gp, c.lam)
        if c.loss in ("supervised_mm", "acgan") and y_real is None:
            raise ValueError(f"model {c.name!r} is supervised: fit it with (x, y) data")
        return {
            "nonsaturating": lambda: L.d_nonsaturating(r, f),
            "relativistic": lambda: L.d_relativistic(r, f),
            "madgan": lambda: L.d_madgan(r, f, info["index"]),
            "mgan": lambda: L.d_mgan(r, f, f_aux, info["index"]),
            "supervised_mm": lambda: L.d_supervised_mm(r, y_real, f),
            "acgan": lambda: L.d_acgan(r, f, r_aux, y_real, f_aux, info["y"]),
        }[c.loss]()

    def g_loss(self, x_real, y_real=None, n=None):
        """Generator loss for a fake batch of n (default cfg.g_batch_size)."""
        c = self.cfg
        n = n or c.g_batch_size
        if c.name == "mmgan_encoder":
            return self._g_loss_encoder(x_real)
        x_fake, info = self._fake(n)
        f, f_aux = self.disc(x_fake)
        loss = {
            "nonsaturating": lambda: L.g_nonsaturating(f),
            "wgan_gp": lambda: L.g_wgan(f),
            "madgan": lambda: L.g_madgan(f),
            "mgan": lambda: L.g_mgan(f, f_aux, info["index"], c.beta),
            "supervised_mm": lambda: L.g_supervised_mm(f, info["k"], self.mapping),
            "acgan": lambda: L.g_acgan(f, f_aux, info["y"]),
        }[c.loss]()
        if c.head == "gated":              # MEGAN: the configured loss + decaying load balancing
            self.head.step += 1
            loss = loss + c.balance * self.head.tau / self.head.tau0 * self.head.balance_loss()
        return loss

    def _g_loss_encoder(self, x_real):
        """The MMGAN slides' Algorithm 1 l.11: relativistic G loss on x_f = G(z, E(x_r)) plus
        α·(−log p_E(y^p | x_f^p)) for x_f^p = G(z, y^p), y^p ~ Cat(K, 1/K)."""
        c = self.cfg
        x_fake, _ = self._fake(x_real.shape[0], x_real)
        r, f = self.disc(x_real)[0], self.disc(x_fake)[0]
        x_p, info = self._fake(x_real.shape[0])
        return L.g_relativistic(r, f) + L.encoder_term(self.encoder(x_p)[0], info["k"], c.alpha)

    # ---- persistence ------------------------------------------------------------------
    def config_dict(self):
        d = asdict(self.cfg)
        d["data_shape"], d["betas"] = list(d["data_shape"]), list(d["betas"])
        return d

    def save(self, path):
        """Atomically write {config, state} (temporary file, then rename)."""
        save_atomic({"config": self.config_dict(), "state": self.state_dict()}, path)


def save_atomic(obj, path):
    """Atomically ``torch.save`` `obj` to `path` (see ``mixgan.utils.atomic_write``)."""
    return save_torch(obj, path)


def build(name, data_shape, seed=0, **kw):
    """Build a model of ``MODELS`` by name.  data_shape: (2,) for toys, (C, H, W) for images.
    Any Config field may be overridden, e.g. build("hmog", (2,), depth=4, prior="gmm")."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {sorted(MODELS)}")
    if "sigma" in kw:
        raise TypeError("build(): `sigma=` was renamed `var=` (the variance of the GMM prior's Σ_k = var · I)")
    known = {f.name for f in fields(Config)}
    bad = set(kw) - known
    if bad:
        raise ValueError(f"unknown option(s) {sorted(bad)} for build(); valid: {sorted(known)}")
    opts = dict(MODELS[name])
    if len(tuple(data_shape)) == 1:
        opts.update(toy_defaults(name))
    opts.update(kw)
    cfg = Config(name=name, data_shape=tuple(data_shape), seed=seed, **opts)
    torch.manual_seed(seed)
    return GAN(cfg)


def from_config(config):
    """Rebuild an (untrained) model from a config dict."""
    cfg = dict(config)
    if "sigma" in cfg:                                   # configs saved before `sigma` became `var`
        cfg["var"] = cfg.pop("sigma")
    return build(cfg.pop("name"), cfg.pop("data_shape"), **cfg)


def load(path, map_location="cpu"):
    """Load a model saved by ``GAN.save`` or a training checkpoint (weights_only=True)."""
    ckpt = torch.load(path, map_location=map_location, weights_only=True)
    model = from_config(ckpt["config"])
    model.load_state_dict(ckpt["state"] if "state" in ckpt else ckpt["model"])
    return model
