"""Image datasets scaled to [-1, 1], offline-first.

    ds = images("mnist")                 # Dataset of (x [C, S, S] in [-1, 1], label int)
    x, y = load_tensors("mnist")         # x [60000, 1, 32, 32] in [-1, 1], y [60000], cached

Datasets (names are case-insensitive, '-' and '_' are ignored):

    name          C  size  source / on-disk layout under the data root
    mnist         1   32   torchvision MNIST         <root>/MNIST/raw/
    fashionmnist  1   32   torchvision FashionMNIST  <root>/FashionMNIST/raw/      (alias: fashion)
    cifar10       3   32   torchvision CIFAR10       <root>/cifar-10-batches-py/
    stl10         3   64   torchvision STL10         <root>/stl10_binary/          (train = the 5k labelled split)
    celeba        3   64   torchvision CelebA        <root>/celeba/                (label = identity; 178 px centre crop)
    flowers102    3   64   torchvision Flowers102    <root>/flowers-102/           (alias: flowers)
    digits        1   32   sklearn load_digits       no files (1,797 8x8 digits; `train` is ignored)
    zappos        3   64   ImageFolder               <root>/ut-zap50k/<class>/**/*.jpg   (UT-Zappos50K, e.g. the
                                                     contents of ut-zap50k-images-square: Boots/ Sandals/ Shoes/ Slippers/)
    traffic       3   64   ImageFolder               <root>/traffic-signs/<class>/**/*.png (synthetic traffic signs)

Sizes: 28, 32 or 64 (square). Pixels p in [0, 1] become 2p - 1.

Data root: the `root` argument, else $MIXGAN_DATA, else the repo's data/ folder.
Offline resolution for the torchvision datasets:
  1. files already in the root, in torchvision's layout;
  2. the mirror $MIXGAN_MIRROR laid out like torchvision's root: <Class>/raw/*.gz are
     decompressed into <root>/<Class>/raw/ (and a torchvision archive such as
     cifar-10-python.tar.gz at the mirror's top is extracted into the root); the mirror is only read;
  3. torchvision's download=True (skipped when $MIXGAN_OFFLINE=1).
If all fail, one FileNotFoundError names the dataset, the folders tried and how to supply the files.
"""
from __future__ import annotations

import gzip
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

SIZES = (28, 32, 64)
_GREY = {"mnist", "fashionmnist", "digits"}
_SMALL = {"mnist", "fashionmnist", "cifar10", "digits"}  # default size 32; the others 64
_ALIASES = {"fashion": "fashionmnist", "flowers": "flowers102", "utzap50k": "zappos", "utzappos50k": "zappos",
            "trafficsigns": "traffic"}
# torchvision datasets: key -> (class name, folder under root that holds its files)
_TORCHVISION = {
    "mnist": ("MNIST", "MNIST/raw"),
    "fashionmnist": ("FashionMNIST", "FashionMNIST/raw"),
    "cifar10": ("CIFAR10", "cifar-10-batches-py"),
    "stl10": ("STL10", "stl10_binary"),
    "celeba": ("CelebA", "celeba"),
    "flowers102": ("Flowers102", "flowers-102"),
}
# image-folder datasets: key -> folder under root
_FOLDERS = {"zappos": "ut-zap50k", "traffic": "traffic-signs"}
_NAMES = list(_TORCHVISION) + ["digits"] + list(_FOLDERS)


def dataset_names() -> list[str]:
    """Canonical names accepted by `images` and `load_tensors`."""
    return list(_NAMES)


def _key(name: str) -> str:
    k = str(name).lower().replace("-", "").replace("_", "")
    k = _ALIASES.get(k, k)
    if k not in _NAMES:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(_NAMES)} (aliases: {', '.join(_ALIASES)})")
    return k


def channels(name: str) -> int:
    """1 for the grey datasets (mnist, fashionmnist, digits), else 3."""
    return 1 if _key(name) in _GREY else 3


def default_size(name: str) -> int:
    """32 for mnist, fashionmnist, cifar10, digits; 64 for the others."""
    return 32 if _key(name) in _SMALL else 64


def _size(name: str, size: int | None) -> int:
    if size is None:
        return default_size(name)
    if size not in SIZES:
        raise ValueError(f"unsupported size {size!r}; supported sizes: {', '.join(map(str, SIZES))}")
    return int(size)


def data_root(root: str | os.PathLike | None = None) -> Path:
    """`root`, else $MIXGAN_DATA, else <repo>/data; created if needed."""
    if root is None:
        root = os.environ.get("MIXGAN_DATA") or Path(__file__).resolve().parents[2] / "data"
    elif not isinstance(root, (str, os.PathLike)) or not os.fspath(root):
        raise ValueError(f"root must be a non-empty folder path or None (the default data root), got {root!r}")
    root = Path(root).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


# ----------------------------------------------------------------------------- transforms

def _to_int(t) -> int:
    return int(t)


def _transform(key: str, size: int):
    from torchvision import transforms as T

    c = channels(key)
    steps = [T.CenterCrop(178)] if key == "celeba" else []  # the usual DCGAN crop of the 178x218 faces
    steps += [T.Resize(size), T.CenterCrop(size), T.ToTensor(), T.Normalize([0.5] * c, [0.5] * c)]
    return T.Compose(steps)


# ----------------------------------------------------------------------------- offline resolution

def _mirror_paths(cls, mirror: Path) -> list[Path]:
    """Where the mirror may hold a dataset: <mirror>/<Class>/raw/*.gz, <mirror>/<torchvision archive>."""
    archive = getattr(cls, "filename", None)
    return [mirror / cls.__name__ / "raw"] + ([mirror / archive] if isinstance(archive, str) else [])


def _from_mirror(cls, mirror: Path, root: Path) -> None:
    """Decompress <mirror>/<Class>/raw/*.gz into <root>/<Class>/raw/ and extract a top-level
    torchvision archive (e.g. cifar-10-python.tar.gz) into root. Reads the mirror only."""
    from torchvision.datasets.utils import extract_archive

    raw = mirror / cls.__name__ / "raw"
    if raw.is_dir():
        dst = root / cls.__name__ / "raw"
        dst.mkdir(parents=True, exist_ok=True)
        for src in sorted(raw.glob("*.gz")):
            out = dst / src.name[:-3]
            if out.exists():
                continue
            # a temporary file of this process and thread, renamed into place: workers that start
            # together (shards of a sweep) each write their own copy and never see a partial file
            tmp = out.with_name(f"{out.name}.{os.getpid()}.{threading.get_ident()}.part")
            try:
                with gzip.open(src, "rb") as fi, open(tmp, "wb") as fo:
                    shutil.copyfileobj(fi, fo, length=1 << 20)
                tmp.replace(out)
            finally:
                tmp.unlink(missing_ok=True)
    archive = getattr(cls, "filename", None)
    if isinstance(archive, str) and (mirror / archive).is_file():
        extract_archive(str(mirror / archive), str(root))


def _offline() -> bool:
    return os.environ.get("MIXGAN_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")


def _torchvision(key: str, root: Path, train: bool, transform=None) -> Dataset:
    """Build the torchvision dataset through the three steps of the module docstring."""
    import torchvision.datasets as tvd

    cls_name, folder = _TORCHVISION[key]
    cls = getattr(tvd, cls_name)
    kw = dict(transform=transform)
    if key in ("mnist", "fashionmnist", "cifar10"):
        kw["train"] = train
    elif key == "celeba":
        kw.update(split="train" if train else "test", target_type="identity", target_transform=_to_int)
    else:  # stl10, flowers102
        kw["split"] = "train" if train else "test"

    def make(download: bool):
        return cls(str(root), download=download, **kw)

    tried, errors = [root / folder], []
    try:                                                        # 1. already in root
        return make(False)
    except (RuntimeError, OSError) as e:
        errors.append(f"{root / folder}: {e}")
    mirror = os.environ.get("MIXGAN_MIRROR")
    if mirror:                                                  # 2. the mirror
        tried += _mirror_paths(cls, Path(mirror).expanduser())
        try:
            _from_mirror(cls, Path(mirror).expanduser(), root)
            return make(False)
        except (RuntimeError, OSError, EOFError) as e:
            errors.append(f"mirror {mirror}: {e}")
    else:
        errors.append("mirror: $MIXGAN_MIRROR is not set")
    if _offline():                                              # 3. download
        errors.append("download: skipped because MIXGAN_OFFLINE is set")
    else:
        try:
            return make(True)
        except Exception as e:  # URLError, RuntimeError, OSError, gdown errors...: reported below
            errors.append(f"download: {type(e).__name__}: {str(e).strip()[:300]}")
    archive = getattr(cls, "filename", None)
    mirror_hint = f"<mirror>/{cls_name}/raw/*.gz" + (f" or <mirror>/{archive}" if isinstance(archive, str) else "")
    raise FileNotFoundError(
        f"dataset {key!r} (torchvision {cls_name}) not found.\nFolders tried:\n"
        + "".join(f"  - {p}\n" for p in tried)
        + "Details:\n" + "".join(f"  - {e}\n" for e in errors)
        + f"To supply the files: set MIXGAN_MIRROR to a folder laid out like torchvision's root ({mirror_hint}), "
        f"or place the files in {root / folder} in torchvision's layout (for MNIST-style sets: the decompressed "
        "archives in <root>/<Class>/raw/), or go online (unset MIXGAN_OFFLINE) so torchvision downloads them."
    )


def _image_folder(key: str, root: Path, transform) -> Dataset:
    from torchvision.datasets import ImageFolder

    folder = root / _FOLDERS[key]
    try:
        return ImageFolder(str(folder), transform=transform)
    except (FileNotFoundError, OSError) as e:
        raise FileNotFoundError(
            f"dataset {key!r} not found.\nFolders tried:\n  - {folder}\nDetails: {e}\n"
            f"To supply the files: put the images in {folder}/<class>/... (one sub-folder per class, "
            "any depth below it), or pass root= / set MIXGAN_DATA to a data root holding the "
            f"'{_FOLDERS[key]}' folder. There is no automatic download for this dataset."
        ) from None


class Digits(Dataset):
    """sklearn's 1,797 8x8 digits: values v in 0..16 -> v / 8 - 1 in [-1, 1], bilinear resize to size."""

    def __init__(self, size: int = 32):
        from sklearn.datasets import load_digits

        d = load_digits()
        x = torch.from_numpy(d.images).float().unsqueeze(1) / 8.0 - 1.0           # [1797, 1, 8, 8]
        self.data = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp(-1, 1)
        self.targets = torch.from_numpy(d.target).long()
        self.classes = [str(i) for i in range(10)]

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int) -> tuple[Tensor, int]:
        return self.data[i], int(self.targets[i])


def images(name: str, root=None, train: bool = True, size: int | None = None) -> Dataset:
    """A Dataset of (x FloatTensor [C, size, size] in [-1, 1], label int); see the module docstring."""
    key = _key(name)
    size = _size(key, size)
    if root is not None and (not isinstance(root, (str, os.PathLike)) or not os.fspath(root)):
        raise ValueError(f"root must be a non-empty folder path or None (the default data root), got {root!r}")
    if not isinstance(train, bool):
        raise TypeError(f"train must be True or False, got {train!r}")
    if key == "digits":
        return Digits(size)
    root = data_root(root)
    t = _transform(key, size)
    if key in _FOLDERS:
        return _image_folder(key, root, t)
    return _torchvision(key, root, train, t)


# ----------------------------------------------------------------------------- fast tensors

def _resize_u8(x: Tensor, size: int, chunk: int = 8192) -> Tensor:
    """uint8 [n, C, H, W] -> uint8 [n, C, size, size] by antialiased bilinear interpolation."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x.contiguous()
    out = torch.empty(x.shape[0], x.shape[1], size, size, dtype=torch.uint8)
    for i in range(0, x.shape[0], chunk):
        xi = x[i:i + chunk].float()
        yi = F.interpolate(xi, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[i:i + chunk] = yi.round_().clamp_(0, 255).to(torch.uint8)
    return out


def _stack(ds: Dataset, limit: int | None) -> tuple[Tensor, Tensor]:
    n = len(ds) if limit is None else min(limit, len(ds))
    sub = torch.utils.data.Subset(ds, range(n))
    xs, ys = [], []
    for x, y in DataLoader(sub, batch_size=256, shuffle=False, num_workers=0):
        xs.append(x)
        ys.append(torch.as_tensor(y).long())
    return torch.cat(xs), torch.cat(ys)


def load_tensors(name: str, root=None, train: bool = True, size: int | None = None,
                 limit: int | None = None) -> tuple[Tensor, Tensor]:
    """The whole dataset as tensors: x FloatTensor [n, C, size, size] in [-1, 1], y LongTensor [n].

    MNIST / Fashion-MNIST / CIFAR-10 read torchvision's `.data`/`.targets` and resize the whole
    batch with antialiased bilinear interpolation; the others stack `images(...)`. The result is
    cached under <root>/cache/ (as uint8) so a second call is instant.
    `limit` keeps the first `limit` items.
    """
    key = _key(name)
    size = _size(key, size)
    if limit is not None and limit <= 0:
        raise ValueError(f"limit must be positive, got {limit!r}")
    root = data_root(root)
    cache = root / "cache"
    split = "train" if train else "test"
    full = cache / f"{key}-{split}-{size}.pt"
    part = cache / f"{key}-{split}-{size}-n{limit}.pt"
    for f in (full, part) if limit is not None else (full,):
        if f.is_file():
            d = torch.load(f, weights_only=True)
            return _unit(d["x"][:limit]), d["y"][:limit]

    if key in ("mnist", "fashionmnist", "cifar10"):
        ds = _torchvision(key, root, train)
        data = torch.as_tensor(np.asarray(ds.data))
        data = data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2)   # [n, C, H, W] uint8
        x, y = _resize_u8(data, size), torch.as_tensor(np.asarray(ds.targets)).long()
        target = full
    else:
        ds = images(key, root, train, size)
        x, y = _stack(ds, limit)
        x = ((x + 1) * 127.5).round_().clamp_(0, 255).to(torch.uint8)            # cache as uint8
        target = full if len(y) == len(ds) else part
    cache.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.part")
    torch.save({"x": x, "y": y}, tmp)
    tmp.replace(target)
    return _unit(x[:limit]), y[:limit]


def _unit(x: Tensor) -> Tensor:
    """uint8 in 0..255 -> float in [-1, 1]: x / 127.5 - 1."""
    return x.float().div_(127.5).sub_(1.0)
