"""Tests for mixgan.data: 2-D toys and offline image loading."""
import math
import os
import pickle
import time
from pathlib import Path
from urllib.error import URLError

import numpy as np
import pytest
import torch

import mixgan.data as D

MNIST_TRAIN = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """No internet here: never let torchvision try to download."""
    monkeypatch.setenv("MIXGAN_OFFLINE", "1")
    monkeypatch.delenv("MIXGAN_DATA", raising=False)


# ----------------------------------------------------------------------------- toys

@pytest.mark.parametrize("name", D.toy_names())
def test_toy(name):
    rng = torch.random.get_rng_state()
    x, labels, spec = D.toy(name, n=20_000, seed=1)
    assert torch.equal(rng, torch.random.get_rng_state()), "global RNG touched"
    M = spec.means.shape[0]
    assert x.shape == (20_000, 2) and x.dtype == torch.float32
    assert labels.shape == (20_000,) and labels.dtype == torch.long
    assert 0 <= labels.min() and labels.max() < M
    assert torch.isclose(spec.weights.sum(), torch.tensor(1.0))
    # seeded: same seed same sample, other seed another one
    x2, l2, _ = D.toy(name, n=20_000, seed=1)
    assert torch.equal(x, x2) and torch.equal(labels, l2)
    assert not torch.equal(x, D.toy(name, n=20_000, seed=2)[0])
    # every mode is used and its empirical mean / std match the spec
    counts = torch.bincount(labels, minlength=M)
    assert (counts > 0).all()
    for k in range(M):
        xk = x[labels == k]
        assert torch.allclose(xk.mean(0), spec.means[k], atol=5 * spec.std / math.sqrt(len(xk)) + 1e-4)
        assert abs(xk.std(0).mean().item() - spec.std) < 0.15 * spec.std
    # log_prob: finite, matches torch.distributions, highest at the modes
    lp = spec.log_prob(x)
    assert lp.shape == (20_000,) and torch.isfinite(lp).all()
    ref = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(probs=spec.weights),
        torch.distributions.Independent(torch.distributions.Normal(spec.means, spec.std), 1))
    assert torch.allclose(lp[:100], ref.log_prob(x[:100]), atol=1e-3)
    at_modes = spec.log_prob(spec.means)
    off_modes = spec.log_prob(spec.means + torch.tensor([1.5 * spec.std, 0.0]))
    assert (at_modes > off_modes).all()
    assert (at_modes > spec.log_prob(torch.tensor([[10.0, 10.0]]))).all()


def test_toy_specs():
    _, labels, spec = D.toy("grid3x3")
    assert len(labels) == 5000 and spec.means.shape == (9, 2)
    assert spec.std == pytest.approx(math.sqrt(0.1))
    assert {tuple(m) for m in spec.means.tolist()} == {(a, b) for a in (-1.0, 0.0, 1.0) for b in (-1.0, 0.0, 1.0)}
    _, _, spec = D.toy("hmog5", n=10)
    assert spec.means.shape == (5, 2) and torch.allclose(spec.means[0], torch.tensor([0.0, 2.0]), atol=1e-6)
    assert torch.allclose(spec.means.norm(dim=1), torch.full((5,), 2.0))
    _, _, spec = D.toy("ring8", n=10)
    assert spec.std == 0.01 and torch.allclose(spec.means.norm(dim=1), torch.ones(8))
    _, _, spec = D.toy("grid25", n=10)
    assert spec.std == 0.05 and spec.means.shape == (25, 2) and spec.means.abs().max() == 4
    assert [len(D.toy(n)[0]) for n in ("hmog5", "ring8", "grid25")] == [10_000, 100_000, 100_000]


def test_toy_bad_input():
    with pytest.raises(ValueError, match="ring8"):
        D.toy("ring9")
    for n in (0, -5):
        with pytest.raises(ValueError):
            D.toy("ring8", n=n)


# ----------------------------------------------------------------------------- MNIST / Fashion-MNIST from the mirror

def _find_mirror():
    env = os.environ.get("MIXGAN_MIRROR")
    if env:
        return Path(env)
    fallback = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return fallback if (fallback / "MNIST" / "raw").is_dir() else None


def _snapshot(folder):
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(Path(folder).rglob("*"))}


@pytest.fixture(scope="module")
def mirror():
    m = _find_mirror()
    if m is None:
        pytest.skip("no dataset mirror: set MIXGAN_MIRROR (see ../shared/data/README.md)")
    before = _snapshot(m)
    yield m
    assert _snapshot(m) == before, "something was written into the mirror"


@pytest.fixture(scope="module")
def mirror_root(mirror, tmp_path_factory):
    """A data root shared by the MNIST tests (the .gz are extracted once)."""
    return tmp_path_factory.mktemp("data")


@pytest.mark.parametrize("name,train_counts,test_counts", [
    ("mnist", MNIST_TRAIN, MNIST_TEST),
    ("Fashion-MNIST", [6000] * 10, [1000] * 10),
])
def test_images_from_mirror(name, train_counts, test_counts, mirror, mirror_root, monkeypatch):
    monkeypatch.setenv("MIXGAN_MIRROR", str(mirror))
    for train, counts in ((True, train_counts), (False, test_counts)):
        ds = D.images(name, root=mirror_root, train=train)
        assert len(ds) == sum(counts)
        assert torch.as_tensor(ds.targets).bincount().tolist() == counts
        for i in (0, len(ds) - 1):
            x, y = ds[i]
            assert x.shape == (1, 32, 32) and x.dtype == torch.float32 and isinstance(y, int)
            assert x.min() >= -1 and x.max() <= 1 and x.min() == -1 and x.max() > 0.5
    cls = "MNIST" if name == "mnist" else "FashionMNIST"
    assert (mirror_root / cls / "raw" / "train-images-idx3-ubyte").is_file()
    x, _ = D.images(name, root=mirror_root, size=28)[0]
    assert x.shape == (1, 28, 28)


def test_load_tensors_mnist(mirror, mirror_root, monkeypatch):
    monkeypatch.setenv("MIXGAN_MIRROR", str(mirror))
    t = time.perf_counter()
    x, y = D.load_tensors("mnist", root=mirror_root)
    first = time.perf_counter() - t
    assert x.shape == (60_000, 1, 32, 32) and x.dtype == torch.float32
    assert y.shape == (60_000,) and y.dtype == torch.long and y.bincount().tolist() == MNIST_TRAIN
    assert x.min() == -1 and x.max() == 1
    assert (mirror_root / "cache" / "mnist-train-32.pt").is_file()
    assert first < 20, f"first load took {first:.1f}s"
    # second call comes from the cache: it must not even look at the dataset
    import sys
    monkeypatch.setattr(sys.modules["mixgan.data.images"], "_torchvision",
                        lambda *a, **k: pytest.fail("cache not used"))
    t = time.perf_counter()
    x2, y2 = D.load_tensors("mnist", root=mirror_root)
    second = time.perf_counter() - t
    assert torch.equal(x, x2) and torch.equal(y, y2)
    assert second < 5, f"cached load took {second:.1f}s"
    x3, y3 = D.load_tensors("mnist", root=mirror_root, limit=100)
    assert x3.shape == (100, 1, 32, 32) and torch.equal(x3, x[:100]) and torch.equal(y3, y[:100])


# ----------------------------------------------------------------------------- CIFAR-10 / STL-10 on tiny files

def _exists_only(fpath, md5=None):
    """Stand-in for torchvision's md5 check: the tiny test files cannot match the real checksums."""
    return os.path.isfile(fpath)


def _write_cifar10(root, per_batch=4):
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for b, fname in enumerate(names):
        img = np.zeros((per_batch, 3, 32, 32), np.uint8)
        img[:, 0] = 255                                       # red images: channel 0 full, the others 0
        img[:, 2, :16] = 10 * b                               # blue top half marks the batch
        labels = [(b + i) % 10 for i in range(per_batch)]
        with open(d / fname, "wb") as f:
            pickle.dump({"data": img.reshape(per_batch, -1), "labels": labels, "batch_label": fname}, f)
    with open(d / "batches.meta", "wb") as f:
        pickle.dump({"label_names": ["airplane", "automobile", "bird", "cat", "deer",
                                     "dog", "frog", "horse", "ship", "truck"]}, f)


def test_cifar10_tiny_files(tmp_path, monkeypatch):
    import torchvision.datasets.cifar as tv_cifar
    monkeypatch.setattr(tv_cifar, "check_integrity", _exists_only)
    _write_cifar10(tmp_path)
    ds = D.images("CIFAR10", root=tmp_path)
    assert len(ds) == 20 and ds.classes[0] == "airplane"
    x, y = ds[0]
    assert x.shape == (3, 32, 32) and y == 0
    assert torch.allclose(x[0], torch.ones(32, 32)) and torch.allclose(x[1], -torch.ones(32, 32))
    assert D.images("cifar10", root=tmp_path, train=False, size=64)[0][0].shape == (3, 64, 64)
    x, y = D.load_tensors("cifar10", root=tmp_path)
    assert x.shape == (20, 3, 32, 32) and y.tolist() == [(b + i) % 10 for b in range(5) for i in range(4)]
    assert (x[:, 0] == 1).all() and (x[:, 1] == -1).all()
    assert torch.allclose(x[4:8, 2, 0], torch.full((4, 32), 10 / 127.5 - 1))   # batch 2, top half
    x, y = D.load_tensors("cifar10", root=tmp_path, train=False, size=64)
    assert x.shape == (4, 3, 64, 64) and x.min() >= -1 and x.max() <= 1


def test_stl10_tiny_files(tmp_path, monkeypatch):
    import torchvision.datasets.stl10 as tv_stl
    monkeypatch.setattr(tv_stl, "check_integrity", _exists_only)
    d = tmp_path / "stl10_binary"
    d.mkdir()
    img = np.zeros((6, 3, 96, 96), np.uint8)
    img[:, :, :48] = 255                                       # bright top half (rows 0..47)
    for split, n in (("train", 6), ("test", 3)):
        img[:n].transpose(0, 1, 3, 2).tofile(d / f"{split}_X.bin")   # the files are column-major
        np.arange(1, n + 1, dtype=np.uint8).tofile(d / f"{split}_y.bin")  # labels 1..10 on disk
    img[:2].transpose(0, 1, 3, 2).tofile(d / "unlabeled_X.bin")
    (d / "class_names.txt").write_text("\n".join(["airplane", "bird", "car", "cat", "deer",
                                                  "dog", "horse", "monkey", "ship", "truck"]))
    ds = D.images("stl-10", root=tmp_path)
    assert len(ds) == 6 and ds.classes[2] == "car"
    x, y = ds[3]
    assert x.shape == (3, 64, 64) and y == 3
    assert x.min() >= -1 and x.max() <= 1
    assert x[:, :30].mean() > 0.9 and x[:, 34:].mean() < -0.9      # top stays on top
    x, y = D.load_tensors("stl10", root=tmp_path, train=False, size=32)
    assert x.shape == (3, 3, 32, 32) and y.tolist() == [0, 1, 2]


# ----------------------------------------------------------------------------- image folders, digits

def _write_pngs(folder, classes, n=2, size=(40, 30), ext="png"):
    from PIL import Image
    for c, cls in enumerate(classes):
        sub = folder / cls / "nested"
        sub.mkdir(parents=True)
        for i in range(n):
            arr = np.full((size[1], size[0], 3), 40 * c + i, np.uint8)
            Image.fromarray(arr).save(sub / f"{i}.{ext}")


@pytest.mark.parametrize("name,folder,ext", [("traffic", "traffic-signs", "png"), ("zappos", "ut-zap50k", "jpg")])
def test_image_folder(name, folder, ext, tmp_path):
    _write_pngs(tmp_path / folder, ["a_class", "b_class", "c_class"], ext=ext)
    ds = D.images(name, root=tmp_path)
    assert len(ds) == 6
    labels = []
    for x, y in ds:
        assert x.shape == (3, 64, 64) and x.min() >= -1 and x.max() <= 1
        labels.append(y)
    assert sorted(labels) == [0, 0, 1, 1, 2, 2]
    x, y = D.load_tensors(name, root=tmp_path, size=28)
    assert x.shape == (6, 3, 28, 28) and y.tolist() == [0, 0, 1, 1, 2, 2]
    assert abs(x[4].mean().item() - (80 / 127.5 - 1)) < 0.05     # class 2, image 0: value 80


def test_digits(tmp_path):
    ds = D.images("digits")
    assert len(ds) == 1797
    x, y = ds[0]
    assert x.shape == (1, 32, 32) and y == 0
    x, y = D.load_tensors("digits", root=tmp_path)
    assert x.shape == (1797, 1, 32, 32) and y.bincount().min() > 170
    assert x.min() == -1 and x.max() <= 1 and x.max() > 0.9
    assert D.images("digits", size=64)[5][0].shape == (1, 64, 64)


def test_helpers():
    assert set(D.dataset_names()) >= {"mnist", "fashionmnist", "cifar10", "stl10", "celeba",
                                       "flowers102", "digits", "zappos", "traffic"}
    assert [D.default_size(n) for n in ("mnist", "fashion", "cifar10", "digits", "stl10", "celeba")] == \
        [32, 32, 32, 32, 64, 64]
    assert [D.channels(n) for n in ("MNIST", "fashion_mnist", "digits", "cifar10", "zappos")] == [1, 1, 1, 3, 3]


# ----------------------------------------------------------------------------- bad input, missing files

def test_bad_input():
    with pytest.raises(ValueError, match="mnist"):
        D.images("imagenet")
    with pytest.raises(ValueError, match="28, 32, 64"):
        D.images("digits", size=48)
    with pytest.raises(ValueError):
        D.load_tensors("mnist", size=100)


def test_missing_files(tmp_path, monkeypatch):
    empty_mirror = tmp_path / "mirror"
    empty_mirror.mkdir()
    monkeypatch.setenv("MIXGAN_MIRROR", str(empty_mirror))
    root = tmp_path / "root"
    t = time.perf_counter()
    with pytest.raises(FileNotFoundError) as e:
        D.images("mnist", root=root)
    msg = str(e.value)
    assert "mnist" in msg and str(root / "MNIST" / "raw") in msg and str(empty_mirror / "MNIST" / "raw") in msg
    assert "MIXGAN_MIRROR" in msg
    # root from $MIXGAN_DATA; no mirror at all
    monkeypatch.setenv("MIXGAN_DATA", str(root))
    monkeypatch.delenv("MIXGAN_MIRROR")
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py"):
        D.images("cifar10")
    with pytest.raises(FileNotFoundError, match="traffic-signs"):
        D.images("traffic")
    assert time.perf_counter() - t < 5


def test_download_failure_is_caught(tmp_path, monkeypatch):
    """Online mode: torchvision's download error becomes the same FileNotFoundError."""
    import torchvision.datasets as tvd

    def fail(self):
        raise URLError("no network")

    monkeypatch.delenv("MIXGAN_OFFLINE")
    monkeypatch.delenv("MIXGAN_MIRROR", raising=False)
    monkeypatch.setattr(tvd.FashionMNIST, "download", fail)
    with pytest.raises(FileNotFoundError, match="(?s)fashionmnist.*URLError.*no network"):
        D.images("fashion", root=tmp_path)


@pytest.mark.parametrize("kw,err,msg", [
    (dict(n=2 ** 62), ValueError, r"n must be at most 100,000,000"),
    (dict(seed=None), TypeError, r"seed must be an integer, got None"),
    (dict(seed=1.5), TypeError, r"seed must be an integer, got 1.5"),
    (dict(seed=-1), ValueError, r"seed must be in \[0, 2\*\*63\)"),
    (dict(seed=True), TypeError, r"seed must be an integer"),
])
def test_toy_bad_arguments_are_clear_errors(kw, err, msg):
    from mixgan.data import toy
    with pytest.raises(err, match=msg):
        toy("ring8", **kw)


def test_images_refuses_an_empty_root(tmp_path, monkeypatch):
    """root='' used to mean the working directory; now it is an error, and nothing is written."""
    from mixgan.data import data_root, images, load_tensors
    monkeypatch.chdir(tmp_path)
    for call in (lambda: images("mnist", root=""), lambda: load_tensors("mnist", root=""),
                 lambda: images("digits", root=""), lambda: data_root("")):
        with pytest.raises(ValueError, match="root must be a non-empty folder path"):
            call()
    with pytest.raises(TypeError, match="train must be True or False"):
        images("digits", train="yes")
    assert list(tmp_path.iterdir()) == []


def test_mirror_extraction_is_safe_when_processes_race(tmp_path):
    """Several workers decompressing the same mirror at once (shards of a sweep starting together) all
    succeed and leave whole files: each writes its own temporary file and renames it into place."""
    import gzip
    import threading

    from torchvision.datasets import MNIST

    from mixgan.data.images import _from_mirror

    mirror, root = tmp_path / "mirror", tmp_path / "root"
    (mirror / "MNIST" / "raw").mkdir(parents=True)
    payload = bytes(range(256)) * 40_000                          # 10 MB, so the workers overlap
    with gzip.open(mirror / "MNIST" / "raw" / "t10k-labels-idx1-ubyte.gz", "wb", compresslevel=1) as f:
        f.write(payload)
    errors = []

    def work():
        try:
            _from_mirror(MNIST, mirror, root)
        except Exception as e:                                    # noqa: BLE001 - collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert (root / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").read_bytes() == payload
    assert not list((root / "MNIST" / "raw").glob("*.part"))
