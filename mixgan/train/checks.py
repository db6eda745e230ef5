"""Checks on what enters training: option values, data, the output path and a resumed checkpoint.
Each failure is one ValueError / TypeError / PermissionError naming the value and what is allowed."""
import math
import numbers
import os
import tempfile

import torch


def positive_int(name, value, allow_none=False, allow_zero=False, most=None):
    """`value` as an int >= 1 (>= 0 with allow_zero, <= most if given); None passes through
    when allow_none."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be an integer, got {value!r}")
    lo = 0 if allow_zero else 1
    if value < lo:
        raise ValueError(f"{name} must be >= {lo}, got {value}")
    if most is not None and value > most:
        raise ValueError(f"{name} must be <= {most}, got {value}")
    return int(value)


def positive_float(name, value, allow_none=False, allow_zero=False):
    """`value` as a finite float > 0 (>= 0 with allow_zero)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {value}")
    return value


def check_betas(betas):
    """Adam's (beta1, beta2), each in [0, 1)."""
    try:
        b = tuple(float(v) for v in betas)
    except (TypeError, ValueError):
        raise TypeError(f"betas must be a pair of numbers, got {betas!r}") from None
    if len(b) != 2 or not all(0 <= v < 1 for v in b):
        raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
    return b


def check_seed(seed):
    """An integer seed (0 <= seed < 2**63)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    if not 0 <= seed < 2 ** 63:
        raise ValueError(f"seed must be in [0, 2**63), got {seed}")
    return int(seed)


def check_tensors(x, y, model):
    """Training tensors: x floating point (cast to float32) and finite; y (if given) integer
    labels, one per row of x, in range for a model that reads them.  Returns (x, y)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"data must be a Tensor, a pair (x, y) of Tensors or a Dataset, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"data must be floating point (images scaled to [-1, 1]), got dtype {x.dtype}; "
                        "for uint8 images use x.float() / 127.5 - 1")
    x = x.float()
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"data must be [N, ...] with N >= 1, got shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError("data holds NaN or inf values")
    if y is not None:
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"labels y must be a Tensor, got {type(y).__name__}")
        if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
            raise TypeError(f"labels y must be an integer tensor, got dtype {y.dtype}")
        if y.ndim != 1 or len(y) != len(x):
            raise ValueError(f"labels y must be [N] with one label per data row: x has {len(x)} rows, "
                             f"y has shape {tuple(y.shape)}")
        y = y.long()
        c = model.cfg
        if c.conditional or c.loss in ("supervised_mm", "acgan"):
            lo, hi = int(y.min()), int(y.max())
            if lo < 0 or hi >= c.n_classes:
                raise ValueError(f"labels must lie in [0, {c.n_classes}) for model {c.name!r} "
                                 f"(n_classes={c.n_classes}), got [{lo}, {hi}]")
    return x, y


def check_config(ckpt, model, path, meta=None):
    """A checkpoint may only resume the model (name and config) it was written for, and,
    when ``meta`` is given, the run settings (e.g. data set, batch size) it was written with."""
    for what, mine, theirs in (("model/config", model.config_dict(), ckpt["config"]),
                               ("run settings", meta, ckpt.get("meta"))):
        if what == "run settings" and meta is None:
            continue
        theirs = theirs or {}
        if mine != theirs:
            diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            raise ValueError(f"checkpoint {path} was written for another {what} (differs in {diff}: "
                             f"checkpoint {[theirs.get(k) for k in diff]} vs now {[mine.get(k) for k in diff]}); "
                             "start a new run folder instead")


def check_data(shape, model):
    """Data items of `shape` must match the model's data_shape; names what differs."""
    want = tuple(model.cfg.data_shape)
    if tuple(shape) == want:
        return
    if len(shape) == 3 and len(want) == 3 and shape[0] != want[0]:
        raise ValueError(f"the data has {shape[0]} channel(s) but model {model.cfg.name!r} was built for "
                         f"{want[0]} (data {tuple(shape)} vs model {want}); rebuild the model with "
                         f"data_shape={tuple(shape)} or convert the images")
    raise ValueError(f"data of shape {tuple(shape)} does not match the model's data_shape {want} "
                     "(size / dimension)")


def check_writable(path):
    """`path` must not be a folder; create the folder of `path` and prove it is writable by
    writing a probe file there."""
    if os.path.isdir(path):
        raise ValueError(f"checkpoint {path} is a folder; give a file path such as {os.path.join(path, 'ckpt.pt')}")
    folder = os.path.dirname(os.path.abspath(path)) or "."
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as e:
        raise PermissionError(f"output folder {folder} is not writable ({e.strerror or e}); "
                              "choose another output folder (--out)") from None
