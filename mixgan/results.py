"""Stored results: the one module that reads and writes what lives under results/.

Every stored file (or run folder) has a logical key and an entry in ``results/MANIFEST.json``:

    {"entries": {"tree/mnist/gpu": {"file": "tree_mnist_gpu.json", "kind": "json",
                 "what": "…", "command": "python benchmarks/…", "commit": "…", "machine": "…", "date": "…"}}}

    from mixgan import results
    results.keys("cluster/")                      # the stored keys under a prefix
    res = results.load("tree/mnist/gpu")          # by kind: json -> dict, csv -> rows, npy -> array,
                                                  # model -> GAN, tree_summary -> dict, figure/weights/run -> Path
    results.path("runs/hmog_d4_mnist_cpu", "model.pt")
    results.save("sigma/mnist/cpu", rows_dict, what="…", command="…")   # writes the file and its entry

Readers ask by key, never by file-name patterns; `root=` points every function at another folder
(benchmarks' ``--out``, tests).
"""
from __future__ import annotations

import csv
import datetime
import json
import os
import platform
import subprocess
from pathlib import Path

import numpy as np
import torch

from .utils import atomic_write, save_json

ROOT = Path(__file__).resolve().parents[1] / "results"
MANIFEST = "MANIFEST.json"
KINDS = ("json", "csv", "npy", "figure", "model", "tree_summary", "weights", "run")
EXT = {"json": ".json", "csv": ".csv", "npy": ".npy", "figure": ".png", "model": ".pt", "tree_summary": ".pt",
       "weights": ".pt", "run": ""}


def _root(root):
    return Path(root) if root is not None else ROOT


def manifest(root=None):
    """The manifest's entries {key: entry} ({} when the folder has no manifest yet)."""
    f = _root(root) / MANIFEST
    return json.loads(f.read_text())["entries"] if f.is_file() else {}


def keys(prefix="", root=None):
    """The stored keys that start with `prefix`, sorted."""
    return sorted(k for k in manifest(root) if k.startswith(prefix))


def has(key, root=None):
    """True when `key` has an entry and its file exists."""
    e = manifest(root).get(key)
    return e is not None and (_root(root) / e["file"]).exists()


def entry(key, root=None):
    """The manifest entry of `key` (file, kind, what, command, commit, machine, date)."""
    entries = manifest(root)
    if key not in entries:
        head = key.split("/")[0]
        near = [k for k in entries if k.split("/")[0] == head] or sorted(entries)
        raise KeyError(f"no stored result {key!r} in {_root(root) / MANIFEST}; stored keys like it: {near[:12]}")
    return entries[key]


def path(key, member=None, root=None):
    """The file (or run folder) of `key`; `member`: a file inside a run folder."""
    p = _root(root) / entry(key, root)["file"]
    p = p / member if member is not None else p
    if not p.exists():
        raise FileNotFoundError(f"{key!r} is in the manifest but {p} is missing")
    return p


def load(key, root=None):
    """Read `key` by its kind: json -> dict, csv -> list of row dicts (numbers converted), npy -> array,
    model -> `models.load`, tree_summary -> dict of float32 tensors; figure, weights, run -> the Path."""
    kind, p = entry(key, root)["kind"], path(key, root=root)
    if kind == "json":
        return json.loads(p.read_text())
    if kind == "csv":
        return read_rows(p)
    if kind == "npy":
        return np.load(p)
    if kind == "model":
        from . import models
        return models.load(p)
    if kind == "tree_summary":
        s = torch.load(p, map_location="cpu", weights_only=True)
        return {k: (v.float() if torch.is_tensor(v) else [t.float() for t in v] if isinstance(v, list) else v)
                for k, v in s.items()}
    return p


def _kind(obj):
    import matplotlib.figure
    if isinstance(obj, matplotlib.figure.Figure):
        return "figure"
    if isinstance(obj, np.ndarray):
        return "npy"
    if isinstance(obj, torch.nn.Module):
        return "model"
    if isinstance(obj, (dict, list)):
        return "json"
    raise TypeError(f"cannot tell how to store a {type(obj).__name__}: pass kind= (one of {KINDS})")


def _write(obj, kind, p):
    if kind == "json":
        save_json(obj, p)
    elif kind == "csv":
        def write(tmp):
            with open(tmp, "w", newline="") as f:
                w = csv.DictWriter(f, fieldnames=list(obj[0]))
                w.writeheader()
                w.writerows(obj)
        atomic_write(p, write)
    elif kind == "npy":
        def write(tmp):
            with open(tmp, "wb") as f:             # a file object: np.save would append ".npy" to a name
                np.save(f, obj)
        atomic_write(p, write)
    elif kind == "figure":
        atomic_write(p, lambda tmp: obj.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
    elif kind == "model":
        obj.save(p)
    elif kind == "tree_summary":                    # float16 tensors: a few hundred kB
        half = {k: (v.half() if torch.is_tensor(v) else [t.half() for t in v] if isinstance(v, list) else v)
                for k, v in obj.items()}
        atomic_write(p, lambda tmp: torch.save(half, tmp))
    else:
        raise ValueError(f"save() writes json, csv, npy, figure, model or tree_summary, not {kind!r}; "
                         "use record() for files written elsewhere")


def save(key, obj, what, command, kind=None, file=None, machine=None, root=None):
    """Write `obj` as `key` and record its manifest entry; returns the file's Path.

    kind: one of KINDS (guessed from obj: Figure -> figure, ndarray -> npy, Module -> model,
    dict / list -> json); file: the name under the root (default: the key's stored file, else the
    key with "/" -> "_" and the kind's extension); machine: where it ran (default: this machine, `describe_machine`).
    """
    kind = kind or _kind(obj)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    old = manifest(root).get(key)
    file = file or (old["file"] if old else key.replace("/", "_") + EXT[kind])
    p = _root(root) / file
    p.parent.mkdir(parents=True, exist_ok=True)
    _write(obj, kind, p)
    record(key, file, what, command, kind=kind, machine=machine, root=root)
    return p


def record(key, file, what, command, kind, machine=None, commit=None, date=None, root=None):
    """Add or replace the manifest entry of a file (or run folder) already under the root."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    r = _root(root)
    if not (r / file).exists():
        raise FileNotFoundError(f"cannot record {key!r}: {r / file} does not exist")
    entries = manifest(root)
    entries[key] = dict(file=str(file), kind=kind, what=what, command=command, commit=commit or git_commit(),
                        machine=machine or describe_machine(),
                        date=date or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"))
    r.mkdir(parents=True, exist_ok=True)
    save_json({"entries": dict(sorted(entries.items()))}, r / MANIFEST)


def unlisted(root=None):
    """Files under the root that no entry covers (a run folder covers its files) -> sorted names."""
    r = _root(root)
    covered = {e["file"].rstrip("/") for e in manifest(root).values()}
    out = []
    for f in r.rglob("*"):
        rel = f.relative_to(r).as_posix()
        if f.is_file() and rel != MANIFEST and not any(rel == c or rel.startswith(c + "/") for c in covered):
            out.append(rel)
    return sorted(out)


def git_commit():
    """The repository's HEAD commit (short), or "unknown" outside a git checkout."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT.parent, capture_output=True,
                              text=True, timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def describe_machine(device=None):
    """"<n>-core <arch> CPU", plus the GPU's name when `device` is a CUDA device."""
    s = f"{os.cpu_count()}-core {platform.machine()} CPU"
    if device is not None and str(device).startswith("cuda") and torch.cuda.is_available():
        s += f", {torch.cuda.get_device_name(torch.device(device))}"
    return s


def read_rows(p):
    """Rows of a CSV file as dicts, numbers converted back (int, then float, else the string)."""
    def num(v):
        for t in (int, float):
            try:
                return t(v)
            except ValueError:
                pass
        return v
    with open(p) as f:
        return [{k: num(v) for k, v in r.items()} for r in csv.DictReader(f)]
