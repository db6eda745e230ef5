"""Verified checkpoints: written only when every tensor is finite, read back only when intact.

    write_checkpoint(state, "runs/a/ckpt.pt")     # state: a dict of tensors / plain values
    state = read_checkpoint("runs/a/ckpt.pt")     # the same dict, checksum and finiteness checked

A checkpoint is one ``torch.save`` dict.  Next to its entries it stores ``sha256``: the
SHA-256 digest of the payload (every other entry), computed over a canonical walk of the
nested dicts / lists (keys, dtypes, shapes and the raw bytes of every tensor), so a flipped
byte anywhere in the weights, the optimiser state or the history is caught on load.  Files
are read with ``torch.load(weights_only=True)``: no pickled code ever runs.

Writing goes through ``mixgan.utils.save_torch`` (a temporary file with a unique name beside
the target, then an atomic rename), so a crash, a SIGKILL or a full disk leaves the previous
checkpoint in place; the temporary file is removed and the error names the path.
"""
import contextlib
import errno
import hashlib
import math
import os
import struct
import warnings

import torch

from ..utils import save_torch


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: unreadable, tampered with, or holding non-finite values."""


def digest(obj):
    """SHA-256 hex digest of a nested structure of dicts, lists / tuples, tensors and plain
    values (str, int, float, bool, None).  Equal structures give equal digests; dict keys are
    taken in sorted order, tensors by dtype, shape and bytes."""
    h = hashlib.sha256()

    def feed(o):
        if isinstance(o, torch.Tensor):
            t = o.detach().cpu().contiguous()
            h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
            if t.numel():
                h.update(t.reshape(-1).view(torch.uint8).numpy())      # the raw bytes, no copy
        elif isinstance(o, dict):
            h.update(f"D{len(o)}".encode())
            for k in sorted(o, key=repr):
                feed(k)
                feed(o[k])
        elif isinstance(o, (list, tuple)):
            h.update(f"{'L' if isinstance(o, list) else 'U'}{len(o)}".encode())
            for v in o:
                feed(v)
        elif isinstance(o, float):
            h.update(b"F" + struct.pack("<d", o))
        else:                                            # str, int, bool, None, torch.Size, ...
            h.update(f"{type(o).__name__}:{o!r}".encode())

    feed(obj)
    return h.hexdigest()


def non_finite(obj, prefix=""):
    """Names (dotted paths) of the floating-point tensors and floats in `obj` that hold NaN or ±inf."""
    bad = []
    if isinstance(obj, torch.Tensor):
        if obj.is_floating_point() or obj.is_complex():
            if not bool(torch.isfinite(obj).all()):
                bad.append(prefix or "<tensor>")
    elif isinstance(obj, float):
        if not math.isfinite(obj):
            bad.append(prefix or "<float>")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            bad += non_finite(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            bad += non_finite(v, f"{prefix}[{i}]")
    return bad


def all_finite(obj):
    """True when no floating-point tensor or float in `obj` is NaN or ±inf: one device
    synchronisation for all tensors (``non_finite`` names the bad ones)."""
    flags = []

    def walk(o):
        if isinstance(o, torch.Tensor):
            if o.is_floating_point() or o.is_complex():
                flags.append(torch.isfinite(o).all() if o.numel() else None)
        elif isinstance(o, float):
            flags.append(torch.tensor(math.isfinite(o)))
        elif isinstance(o, dict):
            for v in o.values():
                walk(v)
        elif isinstance(o, (list, tuple)):
            for v in o:
                walk(v)

    walk(obj)
    flags = [f for f in flags if f is not None]
    return not flags or bool(torch.stack([f.to(flags[0].device) for f in flags]).all())


def _finite_part(state):
    """What must be finite in a training state: weights, optimiser states and losses (the
    RNG states are byte tensors, the history's losses are plain floats)."""
    return {k: state[k] for k in ("model", "state", "opt_g", "opt_d", "history") if k in state}


def write_checkpoint(state, path):
    """Atomically save `state` (a dict) with its sha256 to `path`.  Refuses (FloatingPointError,
    nothing written) when a weight, optimiser state or logged loss is non-finite.  On an OSError
    (e.g. a full disk) the temporary file is removed and the error names `path`."""
    bad = non_finite(_finite_part(state))
    if bad:
        shown = ", ".join(bad[:4]) + (f" and {len(bad) - 4} more" if len(bad) > 4 else "")
        raise FloatingPointError(f"not writing checkpoint {path}: non-finite values in {shown}")
    payload = {k: v for k, v in state.items() if k != "sha256"}
    try:
        save_torch({**payload, "sha256": digest(payload)}, path)
    except OSError as e:
        what = "the disk is full" if e.errno == errno.ENOSPC else (e.strerror or str(e))
        raise OSError(e.errno, f"could not write checkpoint {path}: {what} (the partial temporary file "
                               "was removed; the previous checkpoint, if any, is unchanged)") from None
    return path


def remove_stale_temporaries(checkpoint):
    """Temporary files of `checkpoint` left by a killed writer (``.ckpt.pt.*.tmp``); safe to
    delete while this process holds the folder's lock, as no one else writes there."""
    folder, name = os.path.split(os.path.abspath(checkpoint))
    for f in os.listdir(folder):
        if f.startswith(f".{name}.") and f.endswith(".tmp"):
            with contextlib.suppress(OSError):
                os.remove(os.path.join(folder, f))


def read_checkpoint(path, map_location="cpu", require_checksum=True):
    """The dict saved by ``write_checkpoint``, after checking that it loads with
    ``weights_only=True``, that its sha256 matches the payload and that every weight and
    optimiser state is finite.  Any failure is one CheckpointError naming `path`.
    require_checksum=False also accepts files without a checksum (e.g. ``GAN.save`` files)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise CheckpointError(f"checkpoint {path} is a folder, not a file")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"there is no checkpoint {path}")
    try:
        with warnings.catch_warnings():             # a foreign pickle's protocol warning: the error says it all
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:                               # truncated, corrupt, or a pickle with code
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"checkpoint {path} is unreadable ({type(e).__name__}: {reason[:200]}); "
                              "it is damaged or not a mixgan checkpoint") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(state).__name__}, not a checkpoint dict")
    stored = state.pop("sha256", None)
    if stored is None:
        if require_checksum:
            raise CheckpointError(f"checkpoint {path} has no checksum, so it cannot be verified; "
                                  "it was not written by mixgan.train")
    elif stored != digest(state):
        raise CheckpointError(f"checkpoint {path} is corrupt: its sha256 does not match its contents")
    bad = non_finite(_finite_part(state))
    if bad:
        raise CheckpointError(f"checkpoint {path} holds non-finite values in {', '.join(bad[:4])}")
    return state
