"""mixgan's FID and Inception Score equal torch-fidelity's on the same images.

The real FID Inception weights cannot be fetched here (no network), so a randomly initialised
network of torch-fidelity's own architecture (fixed seed, rescaled so that its features and
logits vary between images) is saved under the file name torch-fidelity expects, in a temporary
torch hub cache. Both libraries then find it there the same way, and every download function is
replaced by one that fails the test. Images in [-1, 1] reach torch-fidelity as PNG files written
by `torchvision.utils.save_image(x * 0.5 + 0.5)`, the usual way generated images are saved.
"""
import math
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch
from torch import nn

import mixgan.metrics as M
from mixgan.metrics import inception as inc

torch_fidelity = pytest.importorskip("torch_fidelity")
from torch_fidelity import feature_extractor_inceptionv3 as tf_inception  # noqa: E402

WEIGHTS = inc.INCEPTION_FILES[0]          # weights-inception-2015-12-05-6726825d.pth
RTOL = 1e-4


def smooth_images(n, c, seed, low=4):
    """Random smooth images [n, c, 32, 32] in [-1, 1] (bilinear upsampling of low×low noise)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, c, low, low, generator=g) * 2 - 1
    return torch.nn.functional.interpolate(x, size=32, mode="bilinear", align_corners=False).clamp(-1, 1)


def random_inception_state(seed=0):
    """A state dict for torch-fidelity's InceptionV3: He-normal convolutions, BatchNorm scales
    around 1 with small shifts, and an fc layer whose logits differ between images: pool3 features
    (averages after a ReLU) share a large positive component, so the fc weight is a random matrix
    with the mean pool3 feature of a few reference images projected out."""
    with pytest.MonkeyPatch.context() as mp:                  # build the module without loading anything
        mp.setattr(tf_inception, "load_state_dict_from_url", lambda *a, **k: {})
        mp.setattr(tf_inception.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd, **k: None)
        net = tf_inception.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * math.sqrt(2.0 / m.weight[0].numel()))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
        ref = torch.cat([smooth_images(2, 3, seed=100), smooth_images(2, 1, seed=101).expand(-1, 3, -1, -1)])
        mean = net(M.InceptionFeatures.to_uint8(ref))[0].mean(0)
        u = mean / mean.norm()
        w = torch.randn(net.fc.weight.shape, generator=g)
        net.fc.weight.copy_(5 * (w - torch.outer(w @ u, u)))
        net.fc.bias.copy_(torch.randn(net.fc.bias.shape, generator=g))
    return net.state_dict()


@pytest.fixture(scope="module")
def weights_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / WEIGHTS
    torch.save(random_inception_state(), path)
    return path


def _offline(monkeypatch, home):
    """A torch hub cache in `home` (restored afterwards) and no way to download anything."""
    def no_network(*a, **k):
        raise AssertionError("a download was attempted")

    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setattr(torch.hub, "_hub_dir", str(home / "hub"))
    monkeypatch.delenv(inc.DOWNLOAD_ENV, raising=False)
    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    return home / "hub" / "checkpoints"


@pytest.fixture
def hub(tmp_path, monkeypatch, weights_file):
    """The torch hub cache holds the stand-in weights; nothing can be downloaded."""
    ckpt = _offline(monkeypatch, tmp_path / "torch_home")
    ckpt.mkdir(parents=True)
    (ckpt / WEIGHTS).symlink_to(weights_file)
    return ckpt


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    """An empty torch hub cache; nothing can be downloaded."""
    return _offline(monkeypatch, tmp_path / "torch_home")


def save_pngs(x, folder):
    """Images [n, C, H, W] in [-1, 1] → folder/000.png, ... as save_image writes them."""
    from torchvision.utils import save_image
    folder.mkdir()
    for i, img in enumerate(x):
        save_image(img * 0.5 + 0.5, folder / f"{i:03d}.png")
    return str(folder)


def rel(a, b):
    return abs(a - b) / abs(b)


def test_fid_and_is_equal_torch_fidelity(hub, tmp_path):
    """FID(real, fake) and IS of both sets, grey (real digits) and RGB (smooth noise) images."""
    from PIL import Image
    from torchvision.transforms.functional import pil_to_tensor

    from mixgan.data import load_tensors
    real = load_tensors("digits")[0][:20]                      # 1 channel: uint8 pixels v stored as v / 127.5 − 1
    fake = smooth_images(20, 3, seed=2)                        # 3 channels
    fake[0] = torch.linspace(-1, 1, 3 * 32 * 32).reshape(3, 32, 32)       # every level, both ends exact
    dirs = {name: save_pngs(x, tmp_path / name) for name, x in (("real", real), ("fake", fake))}
    ext = M.InceptionFeatures()
    for name, x in (("real", real), ("fake", fake)):            # the pixels torch-fidelity reads
        png = [pil_to_tensor(Image.open(f).convert("RGB")) for f in sorted((tmp_path / name).iterdir())]
        assert torch.equal(ext.to_uint8(x), torch.stack(png))
    assert torch.equal(ext.to_uint8(real)[:, 0], ((real[:, 0] + 1) * 127.5).round().byte())

    kw = dict(cuda=False, batch_size=10, verbose=False, save_cpu_ram=True, cache_root=str(tmp_path / "cache"))
    tf = torch_fidelity.calculate_metrics(input1=dirs["fake"], input1_cache_name="fake", input2=dirs["real"],
                                          input2_cache_name="real", fid=True, isc=True, isc_splits=10, **kw)
    # the real set's features again (torch-fidelity's cache), IS without its default shuffling
    tf_real = torch_fidelity.calculate_metrics(input1=dirs["real"], input1_cache_name="real", isc=True,
                                               isc_splits=4, samples_shuffle=False, **kw)
    f_real, p_real = ext.features_and_probs(real, batch_size=10)
    f_fake, p_fake = ext.features_and_probs(fake, batch_size=10)
    cached, = (tmp_path / "cache").glob("fake-*-features-2048.pt")    # torch-fidelity's pool3 features
    assert torch.allclose(f_fake, torch.load(cached), rtol=1e-5, atol=1e-6)

    fid = M.fid_report(f_real, f_fake, ext, features=True)
    ours = {"fid": fid["fid"], "is_fake": M.inception_score(p_fake, splits=10, shuffle_seed=2020),
            "is_real": M.inception_score(p_real, splits=4)}
    theirs = {"fid": tf["frechet_inception_distance"],
              "is_fake": (tf["inception_score_mean"], tf["inception_score_std"]),
              "is_real": (tf_real["inception_score_mean"], tf_real["inception_score_std"])}
    diffs = {"fid": rel(ours["fid"], theirs["fid"])}
    for k in ("is_fake", "is_real"):
        diffs[k + "_mean"] = rel(ours[k][0], theirs[k][0])
        diffs[k + "_std"] = rel(ours[k][1], theirs[k][1])
    print(f"\ntorch-fidelity {theirs}\nmixgan         {ours}\nrelative differences {diffs}")
    assert all(d < RTOL for d in diffs.values()), diffs
    # non-trivial values: a clear FID, IS above its minimum 1 with splits that differ
    assert math.isfinite(theirs["fid"]) and theirs["fid"] > 1.0 and fid["n_real"] == 20
    assert all(theirs[k][0] > 1.05 and theirs[k][1] > 0.01 for k in ("is_fake", "is_real"))
    assert M.inception_score(p_fake, splits=10) != ours["is_fake"]        # the shuffle changes the splits


# ----------------------------------------------------------------------------- getting the weights


def fake_download(weights_file, calls):
    """Stands in for torch-fidelity's `load_state_dict_from_url`: records the call and puts the
    stand-in weights where torch.hub would (`<hub>/checkpoints/<file name of the URL>`)."""
    def load_state_dict_from_url(url, model_dir=None, map_location=None, progress=True, check_hash=False,
                                 file_name=None, weights_only=False):
        calls.append(url)
        dst = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[1]
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(weights_file, dst)
        return torch.load(dst, map_location=map_location, weights_only=True)
    return load_state_dict_from_url


@pytest.mark.parametrize("how", ["get_extractor", "InceptionFeatures", "environment", "auto"])
def test_download_goes_through_torch_fidelity(empty_hub, weights_file, monkeypatch, how):
    calls = []
    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", fake_download(weights_file, calls))
    if how == "get_extractor":
        ext = M.get_extractor("inception", download=True)
    elif how == "InceptionFeatures":
        ext = M.InceptionFeatures(download=True)
    elif how == "environment":
        monkeypatch.setenv("MIXGAN_DOWNLOAD_INCEPTION", "1")
        ext = M.get_extractor("inception")
    else:
        ext = M.get_extractor("auto", "digits", download=True)
    assert isinstance(ext, M.InceptionFeatures)
    assert calls == [tf_inception.URL_INCEPTION_V3] and ext.weights == empty_hub / WEIGHTS
    assert M.inception_weights() == empty_hub / WEIGHTS
    if how == "get_extractor":
        M.InceptionFeatures(download=True)                      # on disk now: no second download
        assert len(calls) == 1


def test_missing_weights_say_how_to_get_them(empty_hub, monkeypatch):
    def never(*a, **k):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", never)
    for make in (M.InceptionFeatures, lambda: M.get_extractor("inception", download=False)):
        with pytest.raises(FileNotFoundError) as e:
            make()
        msg = str(e.value)
        assert tf_inception.URL_INCEPTION_V3 in msg and f"{empty_hub}/" in msg and WEIGHTS in msg
        assert "download=True" in msg and "MIXGAN_DOWNLOAD_INCEPTION=1" in msg and "\n" not in msg
    monkeypatch.setenv("MIXGAN_DOWNLOAD_INCEPTION", "1")
    with pytest.raises(FileNotFoundError):                      # an explicit False wins over the variable
        M.InceptionFeatures(download=False)
    with pytest.raises(FileNotFoundError, match="does not exist"):   # a given path is never downloaded to
        M.InceptionFeatures(weights=empty_hub / "nope.pth", download=True)
    monkeypatch.delenv("MIXGAN_DOWNLOAD_INCEPTION")
    assert isinstance(M.get_extractor("auto", "mnist"), M.DomainClassifier)    # auto without weights
    assert M.inception_weights() is None


def test_bad_download_values(empty_hub, monkeypatch):
    for bad in ("yes", 1, 0.0):
        with pytest.raises(TypeError, match="download must be True, False or None"):
            M.InceptionFeatures(download=bad)
        with pytest.raises(TypeError, match="download"):
            M.get_extractor("inception", download=bad)
    monkeypatch.setenv("MIXGAN_DOWNLOAD_INCEPTION", "maybe")
    with pytest.raises(ValueError, match="MIXGAN_DOWNLOAD_INCEPTION must be 1 or 0"):
        M.get_extractor("inception")


def test_failed_download_is_one_clear_oserror(empty_hub, monkeypatch):
    def offline(url, **k):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", offline)
    with pytest.raises(OSError, match="downloading the FID InceptionV3 weights from https://.* failed"):
        M.InceptionFeatures(download=True)


def test_cli_without_weights_is_one_line(empty_hub, tmp_path, capsys, monkeypatch):
    """python -m mixgan.train --extractor inception without the weights: exit 2 before training,
    one line saying how to get them."""
    from mixgan.train import cli
    monkeypatch.setattr(cli, "fit", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(SystemExit) as e:
        cli.main(["--data", "digits", "--extractor", "inception", "--eval-every", "1", "--steps", "1",
                  "--no-progress", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.startswith("mixgan.train: error:") and len(err.strip().splitlines()) == 1
    assert "MIXGAN_DOWNLOAD_INCEPTION=1" in err and str(empty_hub) in err and "Traceback" not in err
    assert [f for f in os.listdir(tmp_path / "run") if not f.startswith(".")] == []    # nothing written
