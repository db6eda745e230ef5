"""Train one model on one image data set from the command line (or from a notebook).

    python -m mixgan.train --model hmog --data mnist --depth 4 --steps 20000 --out runs/hmog_mnist
    python -m mixgan.train --model mog --data fashion --K=32 --base=32 --amp --out runs/mog_fashion
    python -m mixgan.train --dry-run --out /tmp/dry        # fake data, a handful of steps (CI)
    python -m mixgan.train --out runs/hmog_mnist --steps 40000 --resume   # continue a run

Every option sets a field of ``TrainConfig`` or, for the fields of ``mixgan.models.Config``
(depth, K, base, z_dim, n_critic, lr, prior, ...), a model option; ``--key value`` and
``--key=value`` both work, '-' and '_' are interchangeable, ``--flag`` / ``--no-flag`` set
booleans and ``none`` gives None.  In Python: ``run(TrainConfig(...))``.

The run folder receives: config.json, ckpt.pt (model + optimisers + step + RNG states, with
its sha256), samples_{step:06d}.png grids from fixed noise and samples.png (the last one),
history.json (losses), loss_curves.png and metrics.json (final losses, steps/s, FID).  The
folder is locked while the run lives: a second run on it stops with an error naming the PID.

Exit status: 0 when the run finished; 2 for a user error (a bad option value, a busy or
foreign run folder, a damaged checkpoint, a full disk, a run that diverged), reported as one
line on stderr before any training starts where it can be known then.

One run over several processes (data parallel, ``distributed.py``): start it with torchrun;
``--batch`` stays the global batch (a multiple of the number of processes), split evenly.

    torchrun --nproc_per_node 8 -m mixgan.train --model hmog --data mnist --batch 1024 --out runs/big
    torchrun --nproc_per_node 2 -m mixgan.train --device cpu --model fc --batch 64 --out runs/cpu2

On GPUs each process takes cuda:LOCAL_RANK and they talk over NCCL; with ``--device cpu`` (or no
GPU) over gloo.  Add ``--resume`` to continue such a run (on any number of processes that divides
the batch).  Rank 0 alone logs, writes the run folder and computes the FID; config.json and
metrics.json record ``world_size``.  A user error that every process meets is rank 0's one line; an
error of one process alone is that process's line, ``error (rank r): …``, and rank 0 then says that
another process stopped.  Every process exits 2.
"""
import argparse
import ast
import difflib
import math
import os
import re
import shutil
import sys
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, fields, replace

import torch

from .. import data as mdata
from ..models import MODELS, Config, build
from ..utils import save_json
from . import distributed
from .checkpoint import read_checkpoint
from .checks import check_config, check_seed, check_writable, positive_int
from .evaluate import EXTRACTORS, FID, early_stopper
from .lock import RunFolderBusy, run_lock
from .loop import fit, grid_sampler, pick_device
from .rundir import load_run

__all__ = ["TrainConfig", "parse_args", "run", "main", "load_run", "UsageError"]

SIZES = (28, 32, 64)
_NOT_OPTIONS = {"name", "data_shape", "seed", "batch_size"}     # set through TrainConfig instead


@dataclass
class TrainConfig:
    """One training run.  None means: the model's / data set's default."""
    model: str = "hmog"              # a name of mixgan.models.MODELS
    data: str = "mnist"              # a name of mixgan.data.dataset_names()
    steps: int = 10_000              # generator iterations (each after n_critic critic steps)
    epochs: float = None             # if set: steps = epochs * n_train / (batch * n_critic)
    seed: int = 0
    out: str = "runs/default"        # the run folder
    size: int = None                 # image size 28 / 32 / 64 (default: 32 MNIST-like, else 64)
    limit: int = None                # train on the first `limit` images only (a subset)
    batch: int = None                # critic batch size (default: the paper's, 128 or 64)
    log_every: int = 10
    checkpoint_every: int = 1000
    sample_every: int = 500          # fixed-noise grid every N steps
    n_samples: int = 64              # images per grid
    fid: bool = True                 # FID vs the test set at the end
    fid_samples: int = 10_000        # fakes (and at most as many test images) for the final FID
    extractor: str = "domain"        # FID features: "domain" (classifier of the data set) | "inception" | "auto"
    eval_every: int = 0              # FID during training every N steps (0: off) ...
    eval_samples: int = 2000         # ... on this many samples ...
    patience: int = 0                # ... stopping after this many evals without improvement (0: never)
    device: str = None               # default: cuda when present, else cpu
    amp: bool = False                # bfloat16 autocast on CUDA
    dry_run: bool = False            # fake data of the data set's shape, 4 steps, base 8 (no download)
    resume: bool = False             # continue <out>/ckpt.pt
    progress: bool = True            # tqdm bar
    options: dict = field(default_factory=dict)   # model options for models.build (depth=4, K=32, base=64, ...)


# ----------------------------------------------------------------------------- parsing

class UsageError(ValueError):
    """A command line that does not parse."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):                      # a ValueError, not a SystemExit, so run() can be used
        raise UsageError(message)


def _value(kind):
    """An argparse `type` for a field of type `kind`: 'none' -> None, ints accept 1e4,
    booleans true/false/yes/no/1/0, sequences '0.5,0.9' or '[0, 1, 2]'."""
    def convert(text):
        if text.lower() == "none":
            return None
        if kind is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise argparse.ArgumentTypeError(f"takes true/false, got {text!r}")
            return text.lower() in ("true", "1", "yes")
        if kind in (tuple, list):
            try:
                return kind(ast.literal_eval(v.strip()) for v in text.strip("()[]").split(",") if v.strip())
            except (ValueError, SyntaxError):
                raise argparse.ArgumentTypeError(f"takes comma-separated numbers, got {text!r}") from None
        try:
            if kind is int:
                v = float(text)                    # accepts 1e4
                if not v.is_integer():
                    raise ValueError
                return int(v)
            return kind(text)
        except (ValueError, OverflowError):
            raise argparse.ArgumentTypeError(f"takes {'an' if kind is int else 'a'} {kind.__name__}, "
                                             f"got {text!r}") from None
    convert.__name__ = kind.__name__
    return convert


def _add(group, name, kind, help=None):
    flags = [f"--{name.replace('_', '-')}"] + ([f"--{name}"] if "_" in name else [])
    if kind is bool:
        group.add_argument(*flags, dest=name, nargs="?", const=True, type=_value(bool), default=argparse.SUPPRESS,
                           metavar="BOOL", help=help)
        group.add_argument(*[f"--no-{f[2:]}" for f in flags], dest=name, action="store_false",
                           default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    else:
        group.add_argument(*flags, dest=name, type=_value(kind), default=argparse.SUPPRESS,
                           metavar=kind.__name__.upper(), help=help)


def _run_fields():
    return [f for f in fields(TrainConfig) if f.name != "options"]


def _model_fields():
    return [f for f in fields(Config) if f.name not in _NOT_OPTIONS]


def make_parser():
    """The argparse parser of ``python -m mixgan.train``: run settings and model options."""
    p = _Parser(prog="python -m mixgan.train", description=__doc__.split("\n\n")[0],
                formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False,
                epilog=f"models: {' '.join(sorted(MODELS))}\ndata: {' '.join(mdata.dataset_names())}")
    g = p.add_argument_group("run settings (TrainConfig)")
    for f in _run_fields():
        _add(g, f.name, f.type, help=f"default {f.default!r}")
    g = p.add_argument_group("model options (mixgan.models.Config; default: the model's paper values)")
    for f in _model_fields():
        _add(g, f.name, f.type)
    return p


def parse_args(argv):
    """argv (list of str) -> TrainConfig; a bad command line is a UsageError (a ValueError)."""
    parser = make_parser()
    ns, rest = parser.parse_known_args(list(argv))
    if rest:
        tok = rest[0]
        if not tok.startswith("-"):
            raise UsageError(f"unexpected argument {tok!r}; options are --key value or --key=value (see --help)")
        key = tok.lstrip("-").partition("=")[0].replace("-", "_")
        names = [f.name for f in _run_fields()] + [f.name for f in _model_fields()]
        close = difflib.get_close_matches(key, names, n=3)
        hint = f"; did you mean {', '.join('--' + c.replace('_', '-') for c in close)}?" if close else "; see --help"
        raise UsageError(f"unknown option --{key}{hint}")
    kw = vars(ns)
    run_names = {f.name for f in _run_fields()}
    options = {k: v for k, v in kw.items() if k not in run_names}
    return TrainConfig(**{k: v for k, v in kw.items() if k in run_names}, options=options)


# ----------------------------------------------------------------------------- a run

def check_run(cfg):
    """Validate every run setting (names, sizes, counts, the extractor, the device) before
    any data is read or file written; returns the device."""
    if cfg.model not in MODELS:
        raise ValueError(f"unknown model {cfg.model!r}; choose from {sorted(MODELS)}")
    mdata.channels(cfg.data)                                   # raises on an unknown data set
    if cfg.size is not None and cfg.size not in SIZES:
        raise ValueError(f"unsupported image size {cfg.size}: the DCGAN body supports {SIZES}")
    positive_int("steps", cfg.steps, allow_zero=True)
    if cfg.epochs is not None and not (isinstance(cfg.epochs, (int, float)) and 0 < cfg.epochs < math.inf):
        raise ValueError(f"epochs must be a number > 0, got {cfg.epochs!r}")
    check_seed(cfg.seed)
    for name in ("limit", "batch"):
        positive_int(name, getattr(cfg, name), allow_none=True)
    for name in ("log_every", "n_samples", "fid_samples", "eval_samples"):
        positive_int(name, getattr(cfg, name))
    for name in ("checkpoint_every", "sample_every", "eval_every", "patience"):
        positive_int(name, getattr(cfg, name), allow_zero=True)
    if cfg.extractor not in EXTRACTORS:
        raise ValueError(f"unknown extractor {cfg.extractor!r}; choose from {list(EXTRACTORS)}")
    if not isinstance(cfg.out, (str, os.PathLike)) or not os.fspath(cfg.out):
        raise ValueError(f"out must be a folder path, got {cfg.out!r}")
    bad = {"batch_size", "data_shape", "name", "seed"} & set(cfg.options)
    if bad:
        raise ValueError(f"set {sorted(bad)} through --batch / --data / --model / --seed")
    return pick_device(cfg.device)


def canonical_data_name(name):
    """The data set's canonical name (aliases resolved); ValueError naming the valid ones."""
    from ..data.images import _key
    return _key(name)


def load_data(cfg):
    """(x, y) training tensors in [-1, 1]; fake ones of the data set's shape for a dry run."""
    size = cfg.size or mdata.default_size(cfg.data)
    if cfg.dry_run:
        g = torch.Generator().manual_seed(cfg.seed)
        x = torch.rand(64, mdata.channels(cfg.data), size, size, generator=g) * 2 - 1
        return x, torch.randint(10, (64,), generator=g)
    return mdata.load_tensors(cfg.data, train=True, size=size, limit=cfg.limit)


def _save_json(obj, path):
    """save_json, with an OSError (e.g. a full disk) that names the path."""
    try:
        save_json(obj, path)
    except OSError as e:
        raise OSError(e.errno, f"could not write {path}: {e.strerror or e} (the partial temporary file "
                               "was removed)") from None


def run(cfg):
    """Train as `cfg` says and write the run folder (see the module docstring).
    Returns the metrics dict (also in <out>/metrics.json); None on ranks other than 0 under torchrun."""
    if cfg.dry_run:                                    # tiny and fast, whatever else was asked
        cfg = replace(cfg, steps=min(cfg.steps, 4), epochs=None, batch=min(cfg.batch or 16, 16),
                      sample_every=2, checkpoint_every=2, fid_samples=min(cfg.fid_samples, 64),
                      eval_samples=min(cfg.eval_samples, 64), options={"base": 8, **cfg.options})
    with distributed.on_every_rank():                           # the same arguments give the same errors
        cfg = replace(cfg, data=canonical_data_name(cfg.data))  # "fashion" -> "fashionmnist"
        device = check_run(cfg)
        size = cfg.size or mdata.default_size(cfg.data)
        shape = (mdata.channels(cfg.data), size, size)
        opts = dict(cfg.options, **({"batch_size": cfg.batch} if cfg.batch else {}))
        model = build(cfg.model, shape, seed=cfg.seed, **opts)  # checks every model option
        dist = distributed.from_env(device)                     # torchrun's processes, or just this one
        dist.check_batch(batch=model.cfg.batch_size, g_batch_size=model.cfg.g_batch_size)
    ckpt = os.path.join(cfg.out, "ckpt.pt")
    meta = {"data": cfg.data, "size": size, "limit": cfg.limit, "seed": cfg.seed, "dry_run": cfg.dry_run}

    def resume():                                      # refuse a foreign checkpoint before touching the folder
        prev = read_checkpoint(ckpt)
        check_config(prev, model, ckpt, meta)
        return prev
    with dist, ExitStack() as stack:
        dist.on_main(lambda: _claim(cfg, ckpt, stack))         # rank 0 alone locks and writes the folder
        prev = dist.on_main(resume, then_all=True) if cfg.resume else None   # rank 0 checks, then the others read
        return _train(cfg, model, shape, ckpt, prev, meta, dist)


def _claim(cfg, ckpt, stack):
    """The run folder: writable, locked for the run (on `stack`), holding a checkpoint iff --resume."""
    check_writable(ckpt)
    stack.enter_context(run_lock(cfg.out))
    if cfg.resume and not os.path.exists(ckpt):
        raise FileNotFoundError(f"--resume: there is no checkpoint {ckpt} to continue; drop --resume to start")
    if not cfg.resume and os.path.exists(ckpt):
        raise FileExistsError(f"{cfg.out} already holds a run ({ckpt}); pass --resume to continue it "
                              "or choose another --out")


def _train(cfg, model, shape, ckpt, prev, meta, dist):
    """fit, then (rank 0) the folder's JSON files, plots and the final FID; None on other ranks."""
    import matplotlib.pyplot as plt

    from ..plots.figures import loss_curves
    x, y = dist.on_main(lambda: load_data(cfg), then_all=True)  # rank 0 may download; then the others read
    c, device, main = model.cfg, dist.device, dist.is_main
    steps = cfg.steps if cfg.epochs is None else math.ceil(cfg.epochs * len(x) / (c.batch_size * c.n_critic))
    start = prev["step"] if prev else 0
    # the FID during training needs its extractor: a missing one stops every rank before anything is written
    fid = dist.on_main(lambda: FID(cfg, shape, device)) if cfg.eval_every else None
    if main:
        _save_json({"train": asdict(cfg), "model": model.config_dict(), "steps": steps, "world_size": dist.world},
                   os.path.join(cfg.out, "config.json"))
    eval_fn = (early_stopper(fid, cfg.eval_samples, cfg.patience, prev["history"] if prev else {},
                             os.path.join(cfg.out, "best.pt")) if cfg.eval_every else None)
    t0 = time.perf_counter()
    history = fit(model, (x, y), steps, seed=cfg.seed, device=device, log_every=cfg.log_every,
                  checkpoint=ckpt, checkpoint_every=cfg.checkpoint_every, resume=prev or False,
                  sample_every=cfg.sample_every, sample_fn=grid_sampler(cfg.out, cfg.n_samples, cfg.seed),
                  eval_every=cfg.eval_every, eval_fn=eval_fn, amp=cfg.amp, progress=cfg.progress, meta=meta,
                  dist=dist)
    seconds = time.perf_counter() - t0
    if not main:
        return None
    done = history["step"][-1] if history["step"] else start

    _save_json(history, os.path.join(cfg.out, "history.json"))
    if history["step"]:
        fig = loss_curves(history, title=f"{cfg.model} on {cfg.data}")
        fig.savefig(os.path.join(cfg.out, "loss_curves.png"), dpi=100)
        plt.close(fig)
    last = os.path.join(cfg.out, f"samples_{done:06d}.png")
    if os.path.exists(last):
        shutil.copyfile(last, os.path.join(cfg.out, "samples.png"))
    metrics = {
        "model": cfg.model, "data": cfg.data, "data_shape": list(shape), "n_train": len(x),
        "steps": done, "steps_this_run": done - start, "seconds": round(seconds, 2),
        "steps_per_s": round((done - start) / seconds, 4) if done > start else None,
        "d_loss": history["d_loss"][-1] if history["d_loss"] else None,
        "g_loss": history["g_loss"][-1] if history["g_loss"] else None,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "amp": bool(cfg.amp and device.type == "cuda"), "num_params": model.num_params(),
        "dry_run": cfg.dry_run, "world_size": dist.world, "eval": history["eval"],
    }
    if cfg.fid:
        try:
            metrics["fid"] = (fid or FID(cfg, shape, device))(model, cfg.fid_samples)
        except (OSError, RuntimeError, ValueError) as e:   # e.g. no extractor weights offline: keep the run
            metrics["fid"] = {"skipped": f"{type(e).__name__}: {e}"}
            print(f"warning: final FID skipped ({metrics['fid']['skipped']})", file=sys.stderr)
    _save_json(metrics, os.path.join(cfg.out, "metrics.json"))
    return metrics


_USER_ERRORS = (ValueError, TypeError, OSError, FloatingPointError, RunFolderBusy)


def main(argv=None):
    """Entry point of ``python -m mixgan.train``: a user error is one line on stderr and
    exit status 2 (see the module docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        make_parser().print_help()
        raise SystemExit(0)
    rank = distributed.rank_from_env()                 # under torchrun: which process this is
    try:
        with distributed.on_every_rank():
            cfg = parse_args(argv)
        metrics = run(cfg)
    except _USER_ERRORS as e:
        msg = str(e) if not isinstance(e, OSError) or not e.strerror else f"{e.strerror}"
        if isinstance(e, OSError) and e.filename and e.filename not in msg:
            msg += f": {e.filename}"
        if rank == 0 or not distributed.met_by_every_rank(e):   # an error of every rank is said once
            print(f"mixgan.train: error{f' (rank {rank})' if rank else ''}: {msg}", file=sys.stderr)
            if isinstance(e, UsageError):
                print("(python -m mixgan.train --help lists the options)", file=sys.stderr)
        raise SystemExit(2) from None
    except Exception as e:
        if not distributed.peer_lost(e):
            raise
        if rank == 0:                                  # the process that stopped said why
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            first = re.sub(r"^\[[^\]]*\]\s*", "", first).split(". ")[0]    # without gloo's source path
            print(f"mixgan.train: error: another process of the job stopped, so this one stops too "
                  f"(its own error is above or in its log; here: {first[:120]})", file=sys.stderr)
        raise SystemExit(2) from None
    if metrics is None:                                # not rank 0 of a torchrun job
        return None
    fid = metrics.get("fid", {})
    print(f"done: {metrics['steps']} steps, {metrics['steps_per_s']} steps/s, d_loss {metrics['d_loss']}, "
          f"g_loss {metrics['g_loss']}" + (f", FID {fid['fid']:.2f} ({fid['extractor']})" if "fid" in fid else "")
          + f"; outputs in {cfg.out}")
    return metrics
