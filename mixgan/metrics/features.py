"""Feature extractors for the metrics: a small domain classifier and the standard FID InceptionV3.

Both expose the same small interface, so every score can name what it was computed with:

    ext.name                  # e.g. "domain-mnist-32px-seed0" or "inception-v3-pool3"
    ext.features(x) -> [n, D] # penultimate layer (128-d) / pool3 (2048-d)
    ext.probs(x)    -> [n, C] # softmax class probabilities (10 / 1008 classes)

x is an image batch [n, C, H, W] in [-1, 1] (the range of `mixgan.data`); both methods run in
batches under `torch.no_grad()` and return CPU float32 tensors.

`DomainClassifier.pretrained(name)` looks for trained weights in `results/feature_nets/`
(shipped with the repository, read-only), then in the cache `<data root>/cache/` (data root =
$MIXGAN_DATA or `<repo>/data`), and otherwise trains on the dataset's labels and caches them.
`InceptionFeatures` (in `mixgan.metrics.inception`, re-exported here) needs the weights file on disk
(see `inception_weights`); it downloads it through torch-fidelity only when asked (download=True,
or the environment variable MIXGAN_DOWNLOAD_INCEPTION=1).
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..utils import progress_bar, save_torch, seeded
from .inception import (DOWNLOAD_ENV, INCEPTION_FILES, InceptionFeatures, _has_fidelity,  # noqa: F401
                        download_flag, download_inception, inception_weights)

REPO = Path(__file__).resolve().parents[2]
#: read-only weights shipped with the repository (looked at first)
SHIPPED_DIR = REPO / "results" / "feature_nets"


#: training epochs of `DomainClassifier.pretrained` (Fashion-MNIST's classes are closer: it gets more)
DEFAULT_EPOCHS = {"mnist": 3, "fashionmnist": 6}


def cache_dir() -> Path:
    """`$MIXGAN_DATA/cache`, else `<repo>/data/cache` (not created here)."""
    root = os.environ.get("MIXGAN_DATA")
    return (Path(root).expanduser() if root else REPO / "data") / "cache"


def _device(device=None) -> torch.device:
    return torch.device(device) if device is not None else torch.device("cpu")


def _batched(fn, x: Tensor, batch_size: int, device) -> Tensor:
    out = []
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            out.append(fn(x[s:s + batch_size].to(device)).float().cpu())
    return torch.cat(out) if out else torch.empty(0)


# ----------------------------------------------------------------------------- domain classifier


class DomainClassifier(nn.Module):
    """A small CNN trained on the GAN's own dataset, used as a feature extractor ("domain FID").

        [C, S, S] → conv3×3(w1)+BN+ReLU → maxpool2 → conv3×3(w2)+BN+ReLU → maxpool2
                  → conv3×3(w3)+BN+ReLU → avgpool to 4×4 → dropout → fc(16·w3 → 128)+ReLU
                  → dropout → fc(128 → N)                 widths (w1, w2, w3) = (16, 32, 64)

    `features(x)` is the 128-d penultimate activation (after ReLU), `probs(x)` the softmax.
    With the default widths: 0.16 M parameters (0.6 MB); the epochs of `DEFAULT_EPOCHS` reach ≥ 99 % test accuracy
    on MNIST and ≥ 90 % on Fashion-MNIST at 32×32.
    """

    def __init__(self, in_channels: int = 1, n_classes: int = 10, feat_dim: int = 128,
                 dropout: float = 0.3, widths: tuple = (16, 32, 64), name: str = "domain"):
        super().__init__()
        w1, w2, w3 = (int(w) for w in widths)
        self.config = dict(in_channels=in_channels, n_classes=n_classes, feat_dim=feat_dim, dropout=dropout,
                           widths=[w1, w2, w3])
        self.name = name

        def block(i, o):
            return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]

        self.conv = nn.Sequential(*block(in_channels, w1), nn.MaxPool2d(2), *block(w1, w2), nn.MaxPool2d(2),
                                  *block(w2, w3), nn.AdaptiveAvgPool2d(4), nn.Flatten())
        self.fc = nn.Sequential(nn.Dropout(dropout), nn.Linear(w3 * 16, feat_dim), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feat_dim, n_classes))

    def embed(self, x: Tensor) -> Tensor:
        """Penultimate features [n, feat_dim] (with gradients; for training or custom use)."""
        return self.fc(self.conv(x))

    def forward(self, x: Tensor) -> Tensor:
        """Logits [n, N]."""
        return self.head(self.embed(x))

    def _dev(self):
        return next(self.parameters()).device

    def features(self, x: Tensor, batch_size: int = 500) -> Tensor:
        """128-d penultimate features [n, 128] of images x [n, C, H, W] in [-1, 1] (eval, no_grad)."""
        self.eval()
        return _batched(self.embed, torch.as_tensor(x).float(), batch_size, self._dev())

    def probs(self, x: Tensor, batch_size: int = 500) -> Tensor:
        """Class probabilities softmax(logits) [n, N] (eval, no_grad)."""
        self.eval()
        return _batched(lambda b: F.softmax(self(b), 1), torch.as_tensor(x).float(), batch_size, self._dev())

    def predict(self, x: Tensor, batch_size: int = 500) -> Tensor:
        """Predicted class [n] (argmax of `probs`)."""
        return self.probs(x, batch_size).argmax(1)

    # -- persistence -----------------------------------------------------------------------

    def state(self, **meta) -> dict:
        """What is saved: weights, constructor config, name and free-form `meta` (plain types)."""
        return {"state_dict": {k: v.detach().cpu() for k, v in self.state_dict().items()},
                "config": dict(self.config), "name": self.name, "meta": meta}

    @classmethod
    def from_state(cls, state: dict) -> "DomainClassifier":
        model = cls(**state["config"], name=state.get("name", "domain"))
        model.load_state_dict(state["state_dict"])
        model.meta = dict(state.get("meta", {}))
        return model.eval()

    @staticmethod
    def key(name: str, size: int = 32, seed: int = 0) -> str:
        """File name of a trained classifier: keyed by dataset, image size and seed."""
        return f"domain-{name.lower().replace('-', '').replace('_', '')}-{size}px-seed{seed}.pt"

    @classmethod
    def pretrained(cls, name: str, seed: int = 0, size: int = 32, epochs: int | None = None,
                   device=None, progress: bool = True, root=None) -> "DomainClassifier":
        """Load the classifier for dataset `name` at `size` px trained with `seed`, or train it.

        Looks in `results/feature_nets/` (shipped), then `cache_dir()`; otherwise trains on
        `mixgan.data.load_tensors(name, root, train=True, size=size)` for `epochs` epochs
        (default `DEFAULT_EPOCHS`: 3, Fashion-MNIST 6; Adam, batch 128, tqdm progress),
        measures the test accuracy (kept in `.meta`), and saves it to the cache (atomic write).
        Files are loaded with `torch.load(weights_only=True)`.
        """
        if epochs is None:
            epochs = DEFAULT_EPOCHS.get(name.lower().replace("-", "").replace("_", ""), 3)
        fname = cls.key(name, size, seed)
        for folder in (SHIPPED_DIR, cache_dir()):
            f = folder / fname
            if f.is_file():
                return cls.from_state(torch.load(f, map_location="cpu", weights_only=True)).to(_device(device))
        from .. import data as mdata                      # the dataset is only needed to train

        x, y = mdata.load_tensors(name, root=root, train=True, size=size)
        t0 = time.perf_counter()
        model = train_domain_classifier(x, y, epochs=epochs, seed=seed, device=device, progress=progress,
                                        name=f"domain-{name}-{size}px-seed{seed}")
        seconds = time.perf_counter() - t0
        meta = {"dataset": name, "size": size, "seed": seed, "epochs": epochs, "n_train": len(x),
                "train_seconds": round(seconds, 1)}
        try:
            xt, yt = mdata.load_tensors(name, root=root, train=False, size=size)
            meta["test_acc"] = accuracy(model, xt, yt)
        except Exception as e:                               # e.g. a dataset without a test split
            meta["test_acc_error"] = str(e)
        model.meta = meta
        save_classifier(model, cache_dir() / fname, **meta)
        return model


def accuracy(model, x: Tensor, y: Tensor, batch_size: int = 1000) -> float:
    """Top-1 accuracy of `model.predict` on images x [n, C, H, W] with labels y [n]."""
    return float((model.predict(x, batch_size) == torch.as_tensor(y)).double().mean())


def save_classifier(model: DomainClassifier, path, **meta) -> Path:
    """Atomically save `model.state(**meta)` to `path` (temp file in the same folder + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_torch(model.state(**meta), path)
    return path


def train_domain_classifier(x: Tensor, y: Tensor, n_classes: int | None = None, epochs: float = 3,
                            batch_size: int = 128, lr: float = 2e-3, seed: int = 0, device=None,
                            progress: bool = True, name: str = "domain", augment: str = "shift",
                            **arch) -> DomainClassifier:
    """Train a `DomainClassifier` on images x [n, C, H, W] in [-1, 1] and labels y [n].

    Adam (lr `lr`, cosine-decayed to 0 over all steps), cross-entropy, batch `batch_size`,
    `epochs` passes in a seeded random order (a fraction is allowed: ⌈epochs · batches per epoch⌉
    steps). augment: "shift" (random ±2 px shifts, one per batch), "strong" (`affine_stroke`: per
    image rotation, scale, shift and stroke width; for classifiers trained on generated images and
    applied to real ones) or "none".
    Deterministic for a given seed on CPU. `arch` goes to `DomainClassifier` (e.g. widths=...).
    Returns the model in eval mode.
    """

    x, y = torch.as_tensor(x).float(), torch.as_tensor(y).long()
    augs = {"none": lambda b, g: b, "shift": lambda b, g: _shift(b, 2, g), "strong": affine_stroke}
    if augment not in augs:
        raise ValueError(f"augment must be one of {sorted(augs)}, got {augment!r}")
    if not epochs > 0:
        raise ValueError(f"epochs must be > 0, got {epochs}")
    if x.dim() != 4 or len(x) != len(y):
        raise ValueError(f"need x [n, C, H, W] and y [n], got {tuple(x.shape)} and {tuple(y.shape)}")
    n_classes = int(y.max()) + 1 if n_classes is None else n_classes
    dev = _device(device)
    with seeded(seed):
        model = DomainClassifier(x.shape[1], n_classes, name=name, **arch).to(dev, memory_format=torch.channels_last)
        g = torch.Generator().manual_seed(seed)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        steps = math.ceil(epochs * ((len(x) + batch_size - 1) // batch_size))
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
        bar = progress_bar(total=steps, desc=f"training {name}", disable=not progress, leave=False)
        model.train()
        done = 0
        for _ in range(math.ceil(epochs)):
            perm = torch.randperm(len(x), generator=g)
            for s in range(0, len(x), batch_size):
                if done == steps:                   # a fractional last epoch stops early
                    break
                done += 1
                i = perm[s:s + batch_size]
                xb = augs[augment](x[i].to(dev), g).to(memory_format=torch.channels_last)   # augmented on dev
                loss = F.cross_entropy(model(xb), y[i].to(dev))
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
        bar.close()
    return model.to(memory_format=torch.contiguous_format).eval()


def affine_stroke(x: Tensor, g: torch.Generator, rotate: float = 25.0, scale: float = 0.2,
                  shift: float = 0.15) -> Tensor:
    """Strong augmentation, drawn per image: rotation in ±`rotate` degrees, zoom 1 ± `scale`,
    translation ±`shift` (in units of half the image: 0.15 ≈ ±2.4 px at 32 px), then the stroke
    thinned (3×3 min filter), kept or thickened (3×3 max filter) with equal odds.
    x [n, C, H, W] in [-1, 1] (background −1) -> the same shape and range."""
    n = len(x)
    u = lambda *shape: torch.rand(*shape, generator=g) * 2 - 1          # noqa: E731  U[-1, 1]
    a, s, t = u(n) * rotate * math.pi / 180, 1 + u(n) * scale, u(n, 2) * shift
    cos, sin = a.cos() / s, a.sin() / s
    theta = torch.stack([torch.stack([cos, -sin, t[:, 0]], 1), torch.stack([sin, cos, t[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    x = F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1   # background stays −1
    width = torch.randint(0, 3, (n, 1, 1, 1), generator=g).to(x.device)          # 0 thin, 1 keep, 2 thick
    thin, thick = -F.max_pool2d(-x, 3, 1, 1), F.max_pool2d(x, 3, 1, 1)
    return torch.where(width == 0, thin, torch.where(width == 2, thick, x))


def _shift(x: Tensor, pixels: int, g: torch.Generator) -> Tensor:
    """Random integer translation by up to ±`pixels` (one shift per batch, background −1 filled)."""
    if pixels <= 0:
        return x
    dx, dy = (int(v) for v in torch.randint(-pixels, pixels + 1, (2,), generator=g))
    p = pixels
    padded = F.pad(x, (p, p, p, p), value=-1.0)
    h, w = x.shape[2:]
    return padded[:, :, p + dy:p + dy + h, p + dx:p + dx + w]


# ----------------------------------------------------------------------------- choosing / reporting


def get_extractor(kind: str = "auto", dataset: str = "mnist", device=None, weights=None, download=None, **kw):
    """A feature extractor by kind: "inception", "domain", or "auto" (inception when torch-fidelity
    is installed and its weights are on disk, or may be downloaded; else the domain classifier of
    `dataset`; `kw` go to `DomainClassifier.pretrained`, e.g. size=32).

    download: True lets torch-fidelity fetch missing Inception weights into the torch hub cache
    (needs internet); None (default) reads the environment variable MIXGAN_DOWNLOAD_INCEPTION
    (1 = yes); False never downloads (see `InceptionFeatures`)."""
    if kind not in ("auto", "inception", "domain"):
        raise ValueError(f"kind must be 'auto', 'inception' or 'domain', got {kind!r}")
    fetch = download_flag(download)
    if kind == "inception" or (kind == "auto" and _has_fidelity()
                               and (inception_weights(weights) is not None or (fetch and weights is None))):
        return InceptionFeatures(weights, device=device, download=fetch)
    return DomainClassifier.pretrained(dataset, device=device, **kw)


def extractor_name(extractor) -> str:
    """The extractor's `.name` (e.g. "inception-v3-pool3"), else its class name."""
    return getattr(extractor, "name", type(extractor).__name__)
