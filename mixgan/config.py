"""Model configuration: the table of models, the ``Config`` dataclass and its checks.

    MODELS["hmog"]          # prior, head, loss and the paper's optimiser defaults of a model
    Config(name="hmog", data_shape=(2,), head="tree", depth=3)   # every value checked on entry

A ``Config`` holds plain values only, so a checkpoint stores it as a dict and rebuilds the model
(``mixgan.models.from_config``).  Toy defaults (``toy_defaults``) are applied by ``models.build``.
"""
from dataclasses import dataclass, field, fields

from . import losses as L
from .nets import bodies

# name -> (prior, head, loss) and the paper's optimiser defaults.
_HMOG_OPT = dict(lr=1e-4, betas=(0.5, 0.999), amsgrad=True, batch_size=128)
_MM_OPT = dict(lr=2e-4, betas=(0.5, 0.999), amsgrad=False, batch_size=64, g_batch_size=128)
MODELS = {
    "gan": dict(prior="normal", head="linear", loss="nonsaturating", **_MM_OPT),
    "fc": dict(prior="normal", head="linear", loss="wgan_gp", **_HMOG_OPT),
    "hmog": dict(prior="normal", head="tree", loss="wgan_gp", **_HMOG_OPT),
    "mog": dict(prior="normal", head="mixture", loss="wgan_gp", **_HMOG_OPT),
    "madgan": dict(prior="normal", head="multi", loss="madgan", **dict(_HMOG_OPT, amsgrad=False)),
    "mgan": dict(prior="normal", head="multi", loss="mgan", **_HMOG_OPT),
    "megan": dict(prior="normal", head="gated", loss="nonsaturating", **_HMOG_OPT),
    "mmgan_static": dict(prior="gmm", learn="none", head="linear", loss="nonsaturating", **_MM_OPT),
    "mmgan_dynamic": dict(prior="gmm", learn="diag", head="linear", loss="nonsaturating", **_MM_OPT),
    "mmgan_supervised": dict(prior="gmm", learn="none", head="linear", loss="supervised_mm", K=None, **_MM_OPT),
    "acgan": dict(prior="normal", head="linear", loss="acgan", conditional=True, **_MM_OPT),
    "mmgan_encoder": dict(prior="gmm", learn="none", head="linear", loss="relativistic", **_MM_OPT),
}
LOSSES = ("nonsaturating", "wgan_gp", "relativistic", "madgan", "mgan", "supervised_mm", "acgan")
HEADS = ("linear", "tree", "mixture", "multi", "gated")


@dataclass
class Config:
    """Everything needed to rebuild a model (and its paper's optimiser defaults)."""
    name: str
    data_shape: tuple
    prior: str = "normal"          # "normal" | "gmm"
    head: str = "linear"           # one of HEADS
    loss: str = "wgan_gp"          # one of LOSSES
    z_dim: int = 100
    K: int = 8                     # generators (mixture / multi / gated) or Gaussians (gmm); None: n_classes
    depth: int = 3                 # SoftTree depth (K = arity ** depth)
    arity: int = 2
    c: float = 0.1                 # GMM means ~ U[-c, c]^d
    var: float = 0.15              # GMM covariance Σ_k = var · I (a variance)
    learn: str = "none"            # GMM: "none" (static) | "diag" | "full" (dynamic)
    n_classes: int = 10            # N for supervised MM-GAN / AC-GAN
    mapping: list = None           # f: [K] -> [N], default k mod N; must reach every class
    conditional: bool = False      # AC-GAN: the head also sees one-hot(y)
    hidden: int = 128              # toy MLP width (= |h| on toys)
    base: int = 64                 # DCGAN channel base
    disc_norm: str = None          # "layer" | "batch" | "none"; default layer for wgan_gp
    pack: int = 1                  # PacGAN: D sees packs of this many samples (non-saturating / relativistic)
    body_norm: str = "none"        # toy MLP body: "batch" = BatchNorm1d before each ReLU
    beta: float = 0.01             # MGAN diversity weight
    alpha: float = 1.0             # MMGAN encoder weight
    lam: float = 10.0              # WGAN-GP λ
    balance: float = 0.1           # MEGAN load-balancing weight (decays with τ)
    lr: float = 1e-4
    betas: tuple = (0.5, 0.999)
    amsgrad: bool = True
    batch_size: int = 128
    g_batch_size: int = None       # MM-GAN uses b_G = 128 > b_D = 64
    n_critic: int = None           # default 5 for wgan_gp, else 1
    seed: int = 0
    allow_unmapped: bool = False   # supervised MM-GAN: allow classes that no Gaussian maps to
    gen_norm: str = None           # image body BatchNorm: "batch" (default) | "none" | "per_generator"
    multi_share: str = "body"      # multi head: "body" (K first layers) | "all_but_last" (K last layers)

    def __post_init__(self):
        _check_values(self)
        self.data_shape = tuple(self.data_shape)
        self.betas = tuple(self.betas)
        if self.n_critic is None:
            self.n_critic = 5 if self.loss == "wgan_gp" else 1
        if self.g_batch_size is None:
            self.g_batch_size = self.batch_size
        if self.disc_norm is None:
            self.disc_norm = "layer" if self.loss == "wgan_gp" else "batch"
        if self.K is None:                                  # supervised MM-GAN: one Gaussian per class
            self.K = self.n_classes
        if self.head == "tree":
            self.K = self.arity ** self.depth
        if self.loss == "supervised_mm" and self.mapping is None:
            self.mapping = [k % self.n_classes for k in range(self.K)]
        if self.mapping is not None:
            self.mapping = L.check_mapping(self.mapping, self.K, self.n_classes, self.allow_unmapped).tolist()
        self._check_layout()
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose from {LOSSES}")
        if self.head not in HEADS:
            raise ValueError(f"unknown head {self.head!r}; choose from {HEADS}")
        if self.prior not in ("normal", "gmm"):
            raise ValueError(f"unknown prior {self.prior!r}; choose 'normal' or 'gmm'")
        if self.pack < 1 or (self.pack > 1 and self.loss not in ("nonsaturating", "relativistic")):
            raise ValueError(f"pack must be >= 1, and > 1 only with the non-saturating or relativistic loss "
                             f"(got pack={self.pack}, loss={self.loss!r})")
        if self.K < 1:
            raise ValueError(f"K must be >= 1, got {self.K}")
        if len(self.data_shape) not in (1, 3):
            raise ValueError(f"data_shape must be (D,) for toys or (C, H, W) for images, got {self.data_shape}")

    def _check_layout(self):
        """gen_norm (image bodies only; default "batch") and multi_share (multi heads only)."""
        if len(self.data_shape) == 3 and self.gen_norm is None:
            self.gen_norm = "batch"
        if len(self.data_shape) == 1 and self.gen_norm is not None:
            raise ValueError(f"gen_norm={self.gen_norm!r} applies to image bodies; toy bodies take body_norm")
        if self.gen_norm not in (None,) + bodies.DCGANBody.NORMS:
            raise ValueError(f"gen_norm must be one of {bodies.DCGANBody.NORMS}, got {self.gen_norm!r}")
        if self.gen_norm == "per_generator" and self.head != "multi":
            raise ValueError(f"gen_norm='per_generator' needs the multi head (madgan / mgan), got head={self.head!r}")
        if self.multi_share not in ("body", "all_but_last"):
            raise ValueError(f"multi_share must be 'body' or 'all_but_last', got {self.multi_share!r}")
        if self.multi_share != "body" and self.head != "multi":
            raise ValueError(f"multi_share={self.multi_share!r} needs the multi head (madgan, mgan), got {self.head!r}")
        if self.multi_share == "all_but_last" and self.gen_norm == "per_generator":
            raise ValueError("gen_norm='per_generator' normalises the K first layers; multi_share='all_but_last' "
                             "has one shared first layer")


_BOUNDS = dict(z_dim=(1, 2 ** 14), K=(1, 4096), depth=(1, 8), arity=(2, 64), n_classes=(1, 2 ** 16),
               hidden=(1, 2 ** 16), base=(1, 2 ** 11), pack=(1, 256), batch_size=(1, 2 ** 20),
               g_batch_size=(1, 2 ** 20), n_critic=(1, 10 ** 4), seed=(0, 2 ** 63 - 1))
_POSITIVE = ("lr", "var")                      # > 0; every other float field >= 0
_CHOICES = dict(learn=("none", "diag", "full"), disc_norm=("layer", "batch", "none"), body_norm=("none", "batch"))
_MAX_K = 4096


def _check_values(cfg):
    """Check every Config value on entry, by the field's type: whole numbers for int fields
    (within _BOUNDS: sizes that fit in memory), finite numbers for float fields (> 0 for _POSITIVE,
    else >= 0), True / False for bool fields, known names for choice fields, betas in [0, 1),
    a positive data_shape and at most _MAX_K generators.  One TypeError / ValueError naming
    the field; None is allowed where the default is None."""
    import math
    import numbers
    for f in fields(cfg):
        v, kind = getattr(cfg, f.name), f.type
        if v is None and (f.default is None or f.name == "K"):    # K=None: one Gaussian per class
            continue
        if kind is bool:
            if not isinstance(v, bool):
                raise TypeError(f"{f.name} must be True or False, got {v!r}")
        elif kind is int:
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"{f.name} must be an integer, got {v!r}")
            if not isinstance(v, numbers.Integral) and not (math.isfinite(v) and float(v).is_integer()):
                raise ValueError(f"{f.name} must be a whole number, got {v!r}")
            lo, hi = _BOUNDS.get(f.name, (-math.inf, math.inf))
            if v < lo:
                raise ValueError(f"{f.name} must be >= {lo}, got {v!r}")
            if v > hi:
                raise ValueError(f"{f.name} must be <= {hi}, got {v!r}")
            setattr(cfg, f.name, int(v))
        elif kind is float:
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"{f.name} must be a number, got {v!r}")
            if not math.isfinite(v) or v < 0 or (v == 0 and f.name in _POSITIVE):
                raise ValueError(f"{f.name} must be a finite number {'>' if f.name in _POSITIVE else '>='} 0, got {v!r}")
        elif kind is str and not isinstance(v, str):
            raise TypeError(f"{f.name} must be a string, got {v!r}")
        if f.name in _CHOICES and v not in _CHOICES[f.name]:
            raise ValueError(f"unknown {f.name} {v!r}; choose from {_CHOICES[f.name]}")
    try:
        b = tuple(cfg.betas)
        ok = len(b) == 2 and all(isinstance(x, numbers.Real) and not isinstance(x, bool) and 0 <= x < 1 for x in b)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"betas must be two numbers in [0, 1), got {cfg.betas!r}")
    try:
        shape = tuple(cfg.data_shape)
    except TypeError:
        shape = ()
    if not shape or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 1 for d in shape):
        raise ValueError(f"data_shape must be a tuple of positive integers, got {cfg.data_shape!r}")
    if cfg.mapping is not None and not (isinstance(cfg.mapping, (list, tuple)) and all(
            isinstance(m, numbers.Integral) and not isinstance(m, bool) for m in cfg.mapping)):
        raise ValueError(f"mapping must be a list of class indices (integers), got {cfg.mapping!r}")
    k = cfg.arity ** min(cfg.depth, 64) if cfg.head == "tree" else (cfg.n_classes if cfg.K is None else cfg.K)
    if k > _MAX_K:
        raise ValueError(f"{'arity ** depth' if cfg.head == 'tree' else 'K'} = {k} generators is more than "
                         f"{_MAX_K}; use fewer")


def toy_defaults(name):
    """Settings for 2-D toys, applied before the caller's keywords (each one overridable).

    HMoG toy (HMoG paper §IV-A): z 2-D, 8 generators; the MM-GAN models keep d = 100.
    Every toy model: Adam lr 1e-3, betas (0.5, 0.9) as in Gulrajani et al.'s toy code,
    and WGAN-GP λ = 1 (their toys use 0.1; with the image value 10 the samples stay
    spread between the modes for long, and with the image lr 1e-4 HMoG misses modes).
    Losses are the models' own: with the non-saturating loss HMoG covers one mode of hmog5.
    GMM priors on toys: c = 1 instead of 0.1.  With d = 100, σ = 0.15 and c = 0.1 the
    Gaussians overlap (means ~0.8 apart, noise 0.39 per axis), so z barely tells its
    Gaussian and supervised MM-GAN puts few samples on class f(k); c = 1 separates them.
    Measurements: BENCHMARKS.md.
    """
    toy = dict(lr=1e-3, betas=(0.5, 0.9), lam=1.0)
    if name in ("fc", "hmog", "mog", "madgan", "mgan", "megan"):
        return dict(toy, z_dim=2)
    return dict(toy, c=1.0) if MODELS[name]["prior"] == "gmm" else toy
