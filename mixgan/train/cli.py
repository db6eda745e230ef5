"""Train one model on one image data set from the command line (or from a notebook).

    python -m mixgan.train --model hmog --data mnist --depth 4 --steps 20000 --out runs/hmog_mnist
    python -m mixgan.train --model mog --data fashion --K=32 --base=32 --amp --out runs/mog_fashion
    python -m mixgan.train --dry-run --out /tmp/dry        # fake data, a handful of steps (CI)
    python -m mixgan.train --out runs/hmog_mnist --steps 40000 --resume   # continue a run

Every ``--key=value`` (or ``--key value``; ``--flag`` / ``--no-flag`` for booleans) sets a
field of ``TrainConfig`` or, for the fields of ``mixgan.models.Config`` (depth, K, base,
z_dim, n_critic, lr, prior, ...), a model option.  In Python: ``run(TrainConfig(...))``.

The run folder receives: config.json, ckpt.pt (model + optimisers + step + RNG states),
samples_{step:06d}.png grids from fixed noise and samples.png (the last one),
history.json (losses), loss_curves.png and metrics.json (final losses, steps/s, FID).
"""
import ast
import difflib
import json
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, fields, replace

import torch

from .. import data as mdata
from ..models import MODELS, Config, build
from ..utils import save_json
from .loop import check_config, check_writable, fit, grid_sampler, pick_device

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

def _convert(key, value, typ):
    """Parse a command-line string into the field's type (None / none -> None)."""
    if value is None:                                          # bare --flag
        if typ is not bool:
            raise ValueError(f"--{key} needs a value (--{key}=VALUE)")
        return True
    if value.lower() == "none":
        return None
    if typ is bool:
        if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError(f"--{key} takes true/false, got {value!r}")
        return value.lower() in ("true", "1", "yes")
    if typ in (tuple, list):
        return typ(ast.literal_eval(v.strip()) for v in value.strip("()[]").split(",") if v.strip())
    try:
        if typ is int:
            v = float(value)                                   # accepts 1e4
            if v != int(v):
                raise ValueError
            return int(v)
        return typ(value)
    except ValueError:
        raise ValueError(f"--{key} takes a {typ.__name__}, got {value!r}") from None


def _help():
    lines = [__doc__, "Run settings (TrainConfig):"]
    for f in fields(TrainConfig):
        if f.name != "options":
            lines.append(f"  --{f.name.replace('_', '-'):18s} default {f.default!r}")
    opts = [f.name for f in fields(Config) if f.name not in _NOT_OPTIONS]
    lines.append("Model options (mixgan.models.Config; default: the model's paper values):\n  "
                 + " ".join(f"--{o}" for o in opts))
    lines.append(f"Models: {' '.join(sorted(MODELS))}\nData: {' '.join(mdata.dataset_names())}")
    return "\n".join(lines)


def parse_args(argv):
    """argv (list of str) -> TrainConfig; see the module docstring for the syntax."""
    run_fields = {f.name: f.type for f in fields(TrainConfig) if f.name != "options"}
    model_fields = {f.name: f.type for f in fields(Config) if f.name not in _NOT_OPTIONS}
    kw, options, i = {}, {}, 0
    while i < len(argv):
        tok = argv[i]
        if tok in ("-h", "--help"):
            print(_help())
            raise SystemExit(0)
        if not tok.startswith("--"):
            raise ValueError(f"expected --key=value, got {tok!r} (see --help)")
        key, eq, value = tok[2:].partition("=")
        key = key.replace("-", "_")
        if not eq:
            nxt = argv[i + 1] if i + 1 < len(argv) else None
            if nxt is not None and not nxt.startswith("--"):
                value, i = nxt, i + 1
            else:
                value = None
        if value is None and key.startswith("no_") and run_fields.get(key[3:]) is bool:
            key, value = key[3:], "false"
        i += 1
        if key in run_fields:
            kw[key] = _convert(key, value, run_fields[key])
        elif key in model_fields:
            options[key] = _convert(key, value, model_fields[key])
        else:
            close = difflib.get_close_matches(key, list(run_fields) + list(model_fields), n=3)
            hint = f"; did you mean {', '.join('--' + c for c in close)}?" if close else "; see --help"
            raise ValueError(f"unknown option --{key}{hint}")
    return TrainConfig(**kw, options=options)


# ----------------------------------------------------------------------------- a run

def check_run(cfg):
    """Validate names, size and the output folder before any data is read."""
    if cfg.model not in MODELS:
        raise ValueError(f"unknown model {cfg.model!r}; choose from {sorted(MODELS)}")
    mdata.channels(cfg.data)                                   # raises on an unknown data set
    if cfg.size is not None and cfg.size not in SIZES:
        raise ValueError(f"unsupported image size {cfg.size}: the DCGAN body supports {SIZES}")
    if cfg.steps < 0 or (cfg.epochs is not None and cfg.epochs <= 0):
        raise ValueError("steps must be >= 0 and epochs > 0")
    bad = {"batch_size", "data_shape", "name"} & set(cfg.options)
    if bad:
        raise ValueError(f"set {sorted(bad)} through --batch / --data / --model")
    ckpt = os.path.join(cfg.out, "ckpt.pt")
    check_writable(ckpt)
    if cfg.resume and not os.path.exists(ckpt):
        raise FileNotFoundError(f"--resume: there is no checkpoint {ckpt} to continue; drop --resume to start")
    if not cfg.resume and os.path.exists(ckpt):
        raise FileExistsError(f"{cfg.out} already holds a run ({ckpt}); pass --resume to continue it "
                              "or choose another --out")
    return ckpt


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


def _fakes(model, n, seed, batch=500):
    """n samples [n, C, H, W] in batches (seeded, RNG-neutral)."""
    with torch.random.fork_rng(devices=[model.device] if model.device.type == "cuda" else []):
        torch.manual_seed(seed)
        return torch.cat([model.sample(min(batch, n - i)).float().cpu() for i in range(0, n, batch)])


class FID:
    """FID of a model's samples against the test set in the features of `cfg.extractor`.
    The extractor and the real features are made once; every result names the extractor
    and the sample counts (SPEC §5).  In a dry run: an untrained classifier, fake 'reals'."""

    def __init__(self, cfg, shape, device):
        from .. import metrics
        n = max(cfg.fid_samples, cfg.eval_samples)
        if cfg.dry_run:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(cfg.seed)
                self.ext = metrics.DomainClassifier(in_channels=shape[0], name="domain-untrained (dry run)")
                real = torch.rand(n, *shape) * 2 - 1
        else:
            self.ext = metrics.get_extractor(cfg.extractor, dataset=cfg.data, size=shape[-1], device=device)
            real = mdata.load_tensors(cfg.data, train=False, size=shape[-1], limit=n)[0]
        self.real = self.ext.features(real)
        self.metrics, self.seed = metrics, cfg.seed

    def __call__(self, model, n):
        fake = self.ext.features(_fakes(model, n, self.seed + 1))
        real = self.real[:n]
        return {"fid": float(self.metrics.frechet_distance(real, fake)),
                "extractor": getattr(self.ext, "name", type(self.ext).__name__),
                "n_real": len(real), "n_fake": len(fake)}


def _early_stopper(cfg, fid, history, best_path):
    """eval_fn for fit: FID on eval_samples, best weights to best.pt, stop after
    `patience` evals without improvement (counted from the resumed history too)."""
    scores = [e["fid"] for e in history.get("eval", []) if "fid" in e]

    def eval_fn(model):
        r = fid(model, cfg.eval_samples)
        scores.append(r["fid"])
        if r["fid"] <= min(scores):
            model.save(best_path)
        best_at = scores.index(min(scores))
        r["stop"] = bool(cfg.patience) and len(scores) - 1 - best_at >= cfg.patience
        return r

    return eval_fn


def _json(obj, path):
    save_json(obj, path)


def run(cfg):
    """Train as `cfg` says and write the run folder (see the module docstring).
    Returns the metrics dict (also in <out>/metrics.json)."""
    import matplotlib.pyplot as plt

    from ..plots.figures import loss_curves
    if cfg.dry_run:                                    # tiny and fast, whatever else was asked
        cfg = replace(cfg, steps=min(cfg.steps, 4), epochs=None, batch=min(cfg.batch or 16, 16),
                      sample_every=2, checkpoint_every=2, fid_samples=min(cfg.fid_samples, 64),
                      eval_samples=min(cfg.eval_samples, 64), options={"base": 8, **cfg.options})
    cfg = replace(cfg, data=canonical_data_name(cfg.data))      # "fashion" -> "fashionmnist"
    device = pick_device(cfg.device)
    ckpt = check_run(cfg)
    x, y = load_data(cfg)
    shape = tuple(x.shape[1:])
    opts = dict(cfg.options, **({"batch_size": cfg.batch} if cfg.batch else {}))
    model = build(cfg.model, shape, seed=cfg.seed, **opts)
    c = model.cfg
    steps = cfg.steps if cfg.epochs is None else math.ceil(cfg.epochs * len(x) / (c.batch_size * c.n_critic))
    meta = {"data": cfg.data, "size": shape[-1], "limit": cfg.limit, "seed": cfg.seed, "dry_run": cfg.dry_run}
    prev = {"step": 0, "history": {}}
    if cfg.resume:                                     # refuse a foreign checkpoint before touching the folder
        prev = torch.load(ckpt, map_location="cpu", weights_only=True)
        check_config(prev, model, ckpt, meta)
    start, prev = prev["step"], prev["history"]
    _json({"train": asdict(cfg), "model": model.config_dict(), "steps": steps}, os.path.join(cfg.out, "config.json"))

    fid = FID(cfg, shape, device) if cfg.eval_every else None
    eval_fn = _early_stopper(cfg, fid, prev, os.path.join(cfg.out, "best.pt")) if cfg.eval_every else None
    t0 = time.perf_counter()
    history = fit(model, (x, y), steps, seed=cfg.seed, device=device, log_every=cfg.log_every,
                  checkpoint=ckpt, checkpoint_every=cfg.checkpoint_every, resume=cfg.resume,
                  sample_every=cfg.sample_every, sample_fn=grid_sampler(cfg.out, cfg.n_samples, cfg.seed),
                  eval_every=cfg.eval_every, eval_fn=eval_fn, amp=cfg.amp, progress=cfg.progress, meta=meta)
    seconds = time.perf_counter() - t0
    done = history["step"][-1] if history["step"] else start

    _json(history, os.path.join(cfg.out, "history.json"))
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
        "dry_run": cfg.dry_run, "eval": history["eval"],
    }
    if cfg.fid:
        try:
            metrics["fid"] = (fid or FID(cfg, shape, device))(model, cfg.fid_samples)
        except Exception as e:                         # the run itself is done: record, don't lose it
            metrics["fid"] = {"skipped": f"{type(e).__name__}: {e}"}
            print(f"warning: final FID skipped ({metrics['fid']['skipped']})", file=sys.stderr)
    _json(metrics, os.path.join(cfg.out, "metrics.json"))
    return metrics


def main(argv=None):
    """Entry point of ``python -m mixgan.train``: errors become one line and exit status 2."""
    try:
        cfg = parse_args(sys.argv[1:] if argv is None else argv)
        metrics = run(cfg)
    except (ValueError, PermissionError, FileNotFoundError, FileExistsError, FloatingPointError) as e:
        print(f"mixgan.train: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    fid = metrics.get("fid", {})
    print(f"done: {metrics['steps']} steps, {metrics['steps_per_s']} steps/s, d_loss {metrics['d_loss']}, "
          f"g_loss {metrics['g_loss']}" + (f", FID {fid['fid']:.2f} ({fid['extractor']})" if "fid" in fid else "")
          + f"; outputs in {cfg.out}")
    return metrics


def load_run(folder):
    """A run folder as a dict: metrics, history, config (each None when its file is missing),
    grids (the samples_*.png paths, in step order) and folder.  None if `folder` holds no
    metrics.json (no finished run there)."""
    from pathlib import Path
    folder = Path(folder)
    if not (folder / "metrics.json").is_file():
        return None

    def read(name):
        p = folder / name
        return json.loads(p.read_text()) if p.is_file() else None

    return {"folder": folder, "metrics": read("metrics.json"), "history": read("history.json"),
            "config": read("config.json"), "grids": sorted(folder.glob("samples_*.png"))}
