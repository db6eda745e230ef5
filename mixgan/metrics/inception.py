"""The standard FID InceptionV3 through torch-fidelity: where its weights are, how to get them.

    inception_weights()            # the weights file in the torch hub cache, or None
    download_inception()           # fetch it through torch-fidelity (needs internet)
    ext = InceptionFeatures()      # ext.features(x) [n, 2048] pool3, ext.probs(x) [n, 1008]

Nothing is downloaded unless asked: download=True, or the environment variable
MIXGAN_DOWNLOAD_INCEPTION=1 when download is left at None.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

#: the FID Inception weights, as torch-fidelity and pytorch-fid name them in the torch hub cache
INCEPTION_FILES = ("weights-inception-2015-12-05-6726825d.pth", "pt_inception-2015-12-05-6726825d.pth")


def _has_fidelity() -> bool:
    return importlib.util.find_spec("torch_fidelity") is not None


def inception_weights(path=None) -> Path | None:
    """Where the FID InceptionV3 weights are, or None: `path` if given, else the torch hub cache.

    Looks for `<torch.hub.get_dir()>/checkpoints/` + one of INCEPTION_FILES (the file torch-fidelity
    downloads as weights-inception-2015-12-05-6726825d.pth, or pytorch-fid's
    pt_inception-2015-12-05-6726825d.pth: same tensors, same names). Never downloads.
    """
    if path is not None:
        p = Path(path).expanduser()
        return p if p.is_file() else None
    ckpt = Path(torch.hub.get_dir()) / "checkpoints"
    for f in INCEPTION_FILES:
        if (ckpt / f).is_file():
            return ckpt / f
    return None


#: set to 1 to let `get_extractor` / `InceptionFeatures` (and so `python -m mixgan.train`) download
#: the Inception weights when they are missing, as `download=True` does
DOWNLOAD_ENV = "MIXGAN_DOWNLOAD_INCEPTION"


def _inception_url() -> str:
    """The address torch-fidelity downloads its Inception weights from."""
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
    return URL_INCEPTION_V3


def download_flag(download=None) -> bool:
    """Whether a missing Inception file may be downloaded: `download` (True / False), or for None
    the environment variable MIXGAN_DOWNLOAD_INCEPTION ("1" / "true" / "yes" → True; unset, "",
    "0", "false", "no" → False). Anything else is a TypeError (argument) or ValueError (variable)."""
    if download is None:
        raw = os.environ.get(DOWNLOAD_ENV, "")
        value = raw.strip().lower()
        if value in ("1", "true", "yes"):
            return True
        if value in ("", "0", "false", "no"):
            return False
        raise ValueError(f"{DOWNLOAD_ENV} must be 1 or 0 (or true/false, yes/no), got {raw!r}")
    if not isinstance(download, bool):
        raise TypeError(f"download must be True, False or None, got {download!r} ({type(download).__name__})")
    return download


def download_inception(progress: bool = True) -> Path:
    """Fetch the FID Inception weights through torch-fidelity's own download → their path.

    torch-fidelity's `load_state_dict_from_url(URL_INCEPTION_V3)` (torch.hub) stores the file
    weights-inception-2015-12-05-6726825d.pth (~92 MB) in `<torch.hub.get_dir()>/checkpoints/`, where
    `inception_weights()` finds it from then on. Needs internet; raises OSError when it fails.
    """
    from torch_fidelity import feature_extractor_inceptionv3 as tf_inception

    url = tf_inception.URL_INCEPTION_V3
    try:
        tf_inception.load_state_dict_from_url(url, progress=progress)
    except OSError as e:                                  # URLError, HTTPError, a full disk ...
        raise OSError(f"downloading the FID InceptionV3 weights from {url} failed ({e})") from e
    path = inception_weights()
    if path is None:
        raise OSError(f"downloaded {url}, but no file {INCEPTION_FILES[0]} appeared in "
                      f"{Path(torch.hub.get_dir()) / 'checkpoints'}")
    return path


def _missing_inception_message(path=None) -> str:
    ckpt = Path(torch.hub.get_dir()) / "checkpoints"
    where = f"{path} does not exist. " if path is not None else ""
    try:
        url = _inception_url()
    except ImportError:                                    # pragma: no cover
        url = "torch-fidelity's release v0.2.0"
    return (f"{where}The FID InceptionV3 weights are not on this machine, and mixgan downloads them only "
            f"when asked: pass download=True (InceptionFeatures(download=True), get_extractor('inception', "
            f"download=True)) or set {DOWNLOAD_ENV}=1 (also for python -m mixgan.train), or fetch {url} "
            f"(~92 MB) yourself into {ckpt}/ (pytorch-fid's {INCEPTION_FILES[1]} works too) or pass its "
            "path as InceptionFeatures(weights=...). Without them use the domain classifier: "
            "get_extractor('domain', dataset).")


class InceptionFeatures:
    """The standard FID InceptionV3 (TF 2015-12-05 weights) through torch-fidelity.

    `features(x)` = pool3 [n, 2048] (the FID features), `probs(x)` = softmax of the 1008 logits
    (torch-fidelity's "logits_unbiased", as its Inception Score uses). Images [n, C, H, W] in
    [-1, 1] are turned into the uint8 RGB images torch-fidelity works on by `to_uint8` (what
    `torchvision.utils.save_image(x * 0.5 + 0.5, "a.png")` writes, grey repeated to RGB), then
    torch-fidelity's network resizes them to 299×299 itself. So `fid_report(real, fake, ext)` and
    `inception_score(ext.probs(fake), splits=10, shuffle_seed=2020)` give the numbers of
    `torch_fidelity.calculate_metrics(fid=True, isc=True)` on those images saved as PNG files.

    The weights: `weights` (a path), else the torch hub cache (`inception_weights`). When they
    are absent: with download=True (or MIXGAN_DOWNLOAD_INCEPTION=1 and download=None) torch-fidelity
    downloads them into the torch hub cache (`download_inception`); otherwise FileNotFoundError
    saying where to put the file and how to get it.
    """

    name = "inception-v3-pool3"

    def __init__(self, weights=None, device=None, download=None):
        fetch = download_flag(download)
        path = inception_weights(weights)
        if path is None:
            if weights is not None or not fetch:
                raise FileNotFoundError(_missing_inception_message(weights))
            path = download_inception()
        try:
            from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
        except ImportError as e:                                # pragma: no cover
            raise ImportError("InceptionFeatures needs torch-fidelity: pip install torch-fidelity") from e
        # torch-fidelity loads the file with weights_only=False; check first that it holds only tensors
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or "fc.weight" not in state:
            raise ValueError(f"{path} is not an InceptionV3 state dict (no 'fc.weight')")
        del state
        self.weights = path
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        self.net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                               feature_extractor_weights_path=str(path)).to(self.device)

    @staticmethod
    def to_uint8(x: Tensor) -> Tensor:
        """[-1, 1] float images [n, 1|3, H, W] → uint8 RGB [n, 3, H, W], as torch-fidelity receives them.

            u = ⌊255 · (clamp(x, −1, 1) · 0.5 + 0.5) + 0.5⌋     (float32; grey repeated to 3 channels)

        the same float32 operations as `torchvision.utils.save_image(x * 0.5 + 0.5, ...)`, so the
        result equals the PNG files torch-fidelity reads from a folder, bit for bit. Rounding (not
        truncation) maps a dataset's own uint8 pixels v, loaded as v / 127.5 − 1, back to v.
        """
        x = torch.as_tensor(x)
        if x.dim() != 4 or x.shape[1] not in (1, 3):
            raise ValueError(f"images must be [n, 1 or 3, H, W], got {tuple(x.shape)}")
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        return x.float().clamp(-1, 1).mul(0.5).add(0.5).mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)

    def _both(self, x: Tensor, batch_size: int) -> tuple[Tensor, Tensor]:
        feats, logits = [], []
        with torch.no_grad():
            for s in range(0, len(x), batch_size):
                f, l = self.net(self.to_uint8(x[s:s + batch_size]).to(self.device))
                feats.append(f.float().cpu())
                logits.append(l.float().cpu())
        return torch.cat(feats), torch.cat(logits)

    def features(self, x: Tensor, batch_size: int = 100) -> Tensor:
        """pool3 features [n, 2048]."""
        return self._both(x, batch_size)[0]

    def probs(self, x: Tensor, batch_size: int = 100) -> Tensor:
        """softmax over the 1008 Inception logits [n, 1008], float64 (as torch-fidelity takes it)."""
        return F.softmax(self._both(x, batch_size)[1].double(), 1)

    def features_and_probs(self, x: Tensor, batch_size: int = 100) -> tuple[Tensor, Tensor]:
        """(`features(x)`, `probs(x)`) from one pass through the network (half the time of both)."""
        f, logits = self._both(x, batch_size)
        return f, F.softmax(logits.double(), 1)
