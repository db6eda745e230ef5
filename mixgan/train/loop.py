"""The training loop: n_critic D steps, one G step, repeat (a flat loop, nanoGPT style).

    history = fit(model, x, steps=2000, seed=0)                    # toys: a tensor
    history = fit(model, (x, y), steps=..., checkpoint="runs/a/ckpt.pt", checkpoint_every=500,
                  sample_every=500, sample_fn=grid_sampler("runs/a"))

One *step* is one generator update (after ``n_critic`` critic updates).  A checkpoint is
one dict {config, model, opt_g, opt_d, step, rng, history, meta, sha256}, written atomically
and verified on every read (see ``checkpoint.py``); ``resume=True`` continues bit-identically
on the CPU.  While a run writes a checkpoint it holds the lock of its folder (``lock.py``):
a second run on the same folder is refused.  ``dist=`` trains one run over several processes
(torchrun; see ``distributed.py``).

Divergence rule: training stops with a FloatingPointError, naming the step and the last
verified checkpoint, as soon as
  * a loss (critic or generator) is NaN or ±inf (checked at every step), or
  * a weight or an optimiser state (Adam's moments) is NaN or ±inf (checked every
    ``log_every`` steps and before every checkpoint).
A checkpoint is only written when every tensor in it is finite, so the last verified
checkpoint on disk always loads and holds finite weights and optimiser state.
"""
import contextlib
import math
import os
from contextlib import ExitStack

import torch

from ..models import from_config
from ..nets import noise
from ..utils import progress_bar
from .checkpoint import all_finite, non_finite, read_checkpoint, remove_stale_temporaries, write_checkpoint
from .checks import (check_betas, check_config, check_data, check_seed, check_tensors, check_writable,
                     positive_float, positive_int)
from .distributed import Single, on_every_rank
from .lock import run_lock

__all__ = ["fit", "Update", "pick_device", "fixed_latents", "grid_sampler", "load_checkpoint", "check_config",
           "check_data", "check_writable"]


def pick_device(device=None):
    """CUDA when present, else CPU (or what the caller asked for: a torch.device or a name)."""
    if device is not None:
        try:
            device = torch.device(device)
        except (RuntimeError, TypeError, ValueError):
            raise ValueError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N'") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {str(device)!r} was asked for but no CUDA GPU is available; use 'cpu'")
        if device.type not in ("cpu", "cuda"):
            raise ValueError(f"unsupported device {str(device)!r}; use 'cpu', 'cuda' or 'cuda:N'")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class _Batches:
    """Draws random minibatches (with replacement) from tensors or a Dataset, using its
    own torch.Generator so that the data order is part of the checkpointed RNG state.
    In a ``noise.sharded`` block, b rows of a batch `world` times larger (see ``noise``)."""

    def __init__(self, data, device, seed, model):
        if isinstance(data, (tuple, list)):
            if len(data) != 2:
                raise ValueError(f"data as a pair must be (x, y), got {len(data)} items")
            x, y = data
        else:                                    # a Tensor, or a torch Dataset of (x, y)
            x, y = data, None
        if isinstance(x, torch.Tensor) or y is not None:
            x, y = check_tensors(x, y, model)
            x, y = x.to(device), (y.to(device) if y is not None else None)
        else:                                    # a Dataset: its first item must be (Tensor, label)
            try:
                first = x[0] if len(x) else None
                ok = first is None or (isinstance(first, (tuple, list)) and isinstance(first[0], torch.Tensor)
                                       and first[0].is_floating_point())
            except Exception:                    # not indexable, or a broken Dataset
                ok = False
            if not ok:
                raise TypeError("data must be a Tensor, a pair (x, y) of Tensors or a Dataset of "
                                f"(float Tensor, label) items, got {type(x).__name__}")
        self.x, self.y, self.device = x, y, device
        self.n = len(x)
        if self.n < 1:
            raise ValueError("training data is empty")
        self.gen = torch.Generator().manual_seed(seed)

    def __call__(self, b):
        idx = noise.randint(self.n, b, generator=self.gen)
        if isinstance(self.x, torch.Tensor):
            idx = idx.to(self.device)
            return self.x[idx], (self.y[idx] if self.y is not None else None)
        items = [self.x[int(i)] for i in idx]
        x = torch.stack([it[0] for it in items]).float().to(self.device)
        y = torch.tensor([int(it[1]) for it in items], device=self.device)
        return x, y

    def shape(self):
        return tuple((self.x[0] if isinstance(self.x, torch.Tensor) else self.x[0][0]).shape)


def _rng_state(batches, dist):
    s = {"torch": torch.get_rng_state(), "data": batches.gen.get_state()}
    if torch.cuda.is_available():
        s["cuda"] = dist.cuda_rng_state()
    return s


def _set_rng_state(state, batches, dist):
    torch.set_rng_state(state["torch"])
    batches.gen.set_state(state["data"])
    if "cuda" in state and torch.cuda.is_available():
        dist.set_cuda_rng_state(state["cuda"])


def _amp_dtype(amp, device):
    """Mixed precision is bfloat16 autocast on CUDA (same exponent range as fp32, so no
    GradScaler is needed, also for the gradient penalty); it is a no-op on the CPU."""
    if not (amp and device.type == "cuda"):
        return None
    if not torch.cuda.is_bf16_supported():
        raise ValueError("amp=True needs a GPU with bfloat16 support (Ampere or newer); pass amp=False")
    return torch.bfloat16


def _adam(params, **kw):
    """Adam, fused (one kernel per step: ~3x faster on the CPU and no full-size temporaries,
    which matters for the large leaf layers of a deep HMoG) where torch supports it."""
    params = list(params)
    try:
        return torch.optim.Adam(params, fused=True, **kw)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, **kw)


def _options(cfg, batch_size, g_batch_size, n_critic, lr, betas, amsgrad, log_every, eval_every, eval_fn,
             checkpoint_every, sample_every, sample_fn, lr_decay, amp, meta, resume):
    """fit's keyword arguments checked, with None meaning the model's config value."""
    o = dict(bs=cfg.batch_size if batch_size is None else positive_int("batch_size", batch_size, most=2 ** 20),
             n_critic=cfg.n_critic if n_critic is None else positive_int("n_critic", n_critic, most=10 ** 4),
             lr=cfg.lr if lr is None else positive_float("lr", lr),
             betas=check_betas(cfg.betas if betas is None else betas),
             amsgrad=cfg.amsgrad if amsgrad is None else amsgrad,
             log_every=positive_int("log_every", log_every))
    o["gbs"] = cfg.g_batch_size if g_batch_size is None else positive_int("g_batch_size", g_batch_size, most=2 ** 20)
    o["checkpoint_every"] = positive_int("checkpoint_every", checkpoint_every, allow_none=True, allow_zero=True)
    for name, every, fn in (("eval_every", eval_every, eval_fn), ("sample_every", sample_every, sample_fn)):
        o[name] = positive_int(name, every, allow_none=True, allow_zero=True)     # None / 0: off
        if o[name] and not callable(fn):
            raise TypeError(f"{name}={every} needs a callable {name.split('_')[0]}_fn, got {fn!r}")
    if lr_decay is not None and (isinstance(lr_decay, bool) or not isinstance(lr_decay, (int, float))
                                 or not 0 < lr_decay <= 1):
        raise ValueError(f"lr_decay must be a fraction in (0, 1], got {lr_decay!r}")
    for name, v in (("amsgrad", o["amsgrad"]), ("amp", amp)):
        if not isinstance(v, bool):
            raise TypeError(f"{name} must be True or False, got {v!r}")
    if meta is not None and not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict of plain values or None, got {type(meta).__name__}")
    if not (isinstance(resume, (bool, dict))):
        raise TypeError(f"resume must be True / False or a checkpoint dict, got {type(resume).__name__}")
    return o


class Update:
    """The inner step of training, shared by ``fit`` and the interactive lab (``mixgan.lab``).

    critic():    x ~ data [bs]; minimise model.d_loss(x, y) by one step of opt_d   (G under no_grad)
    generator(): x ~ data [bs]; minimise model.g_loss(x, y, n=gbs) by one step of opt_g
    update(n_critic) = n_critic critic() calls, then one generator() call -> (d_loss, g_loss)
    Each returns its loss as a 0-d tensor (no device sync).  batches(b) -> (x [b, ...], y or None).
    losses: what computes d_loss / g_loss (default: the model; under torchrun its DDP front, with
    bs and gbs this process's share of the batch, see ``distributed.py``).
    """

    def __init__(self, model, batches, opt_g, opt_d, bs, gbs, autocast=None, losses=None):
        self.model, self.batches, self.opt_g, self.opt_d = model, batches, opt_g, opt_d
        self.bs, self.gbs, self.losses = bs, gbs, losses if losses is not None else model
        self.autocast = autocast if autocast is not None else contextlib.nullcontext()

    def critic(self):
        x, y = self.batches(self.bs)
        with self.autocast:                                         # G runs under no_grad in d_loss
            d_loss = self.losses.d_loss(x, y)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        return d_loss

    def generator(self):
        x, y = self.batches(self.bs)
        with self.autocast:
            g_loss = self.losses.g_loss(x, y, n=self.gbs)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        return g_loss

    def __call__(self, n_critic):
        d_loss = None
        for _ in range(n_critic):
            d_loss = self.critic()
        return d_loss, self.generator()


def fit(model, data, steps, seed=0, device=None, *, batch_size=None, g_batch_size=None,
        n_critic=None, lr=None, betas=None, amsgrad=None, lr_decay=None, log_every=10,
        eval_every=None, eval_fn=None, checkpoint=None, checkpoint_every=None, resume=False,
        sample_every=None, sample_fn=None, amp=False, progress=True, meta=None, dist=None):
    """Train `model` for `steps` generator iterations and return its history.

    data: Tensor [N, …] (floating point, cast to float32), a pair (x, y) with integer labels
    y [N], or a Dataset of (x, y).
    batch_size, g_batch_size, n_critic, lr, betas, amsgrad: None takes the model's config
    (the paper's values); given values must be valid (positive sizes and rates, betas in
    [0, 1)), else ValueError / TypeError before any training.
    lr_decay: a fraction f in (0, 1]: both learning rates fall linearly to 0 over the last
    f·steps steps; None keeps them constant.
    eval_fn(model) -> dict is called every eval_every steps (RNG-neutral) and logged; a
    returned ``stop=True`` ends training early (after a checkpoint);
    sample_fn(model, step) every sample_every steps (e.g. ``grid_sampler(out_dir)``).
    eval_every / checkpoint_every / sample_every: None or 0 turns them off.
    checkpoint: a file path; its folder is locked for the run (``lock.RunFolderBusy`` if
    another process trains there) and checked writable before training.
    resume: True continues `checkpoint` when it exists (verified on read), or pass the dict
    ``checkpoint.read_checkpoint`` returned to skip reading it again.
    amp: bfloat16 autocast on CUDA (ignored on the CPU).  meta: a dict of plain values
    stored in the checkpoint; resuming with a different meta is an error.
    Divergence (a non-finite loss, weight or optimiser state): FloatingPointError naming the
    last verified checkpoint (see the module docstring).
    dist: ``distributed.from_env(device)`` entered (its process group formed) to train over the
    processes torchrun started: batch sizes stay global, rank 0 alone locks, writes, samples and
    evaluates; None: one process.
    history = {"step", "d_loss", "g_loss": lists every log_every steps, "eval": [dict]}.
    """
    if not all(hasattr(model, a) for a in ("cfg", "d_loss", "g_loss", "g_parameters")):
        raise TypeError(f"model must be a mixgan model (models.build), got {type(model).__name__}")
    cfg = model.cfg
    steps = positive_int("steps", steps, allow_zero=True)
    seed = check_seed(seed)
    o = _options(cfg, batch_size, g_batch_size, n_critic, lr, betas, amsgrad, log_every, eval_every, eval_fn,
                 checkpoint_every, sample_every, sample_fn, lr_decay, amp, meta, resume)
    dist = Single() if dist is None else dist
    if not isinstance(dist, Single):
        raise TypeError(f"dist must be None or a mixgan.train.distributed context, got {type(dist).__name__}")
    dist.check_batch(batch_size=o["bs"], g_batch_size=o["gbs"])
    device = pick_device(device if device is not None else dist.device)
    amp_dtype = _amp_dtype(amp, device)
    batches = _Batches(data, device, seed, model)
    check_data(batches.shape(), model)
    with ExitStack() as stack:
        if checkpoint is not None:
            checkpoint = os.fspath(checkpoint)

            def claim():                                        # rank 0 alone writes there
                check_writable(checkpoint)
                stack.enter_context(run_lock(os.path.dirname(os.path.abspath(checkpoint))))
                remove_stale_temporaries(checkpoint)
            dist.on_main(claim)
        ckpt = None
        if isinstance(resume, dict):
            ckpt = resume
        elif resume and checkpoint is not None and os.path.exists(checkpoint):
            ckpt = read_checkpoint(checkpoint, map_location=device)
        if ckpt is not None:
            check_config(ckpt, model, checkpoint, meta)
        return _train(model, batches, steps, seed, device, amp_dtype, o, checkpoint, ckpt, eval_fn,
                      sample_fn, lr_decay, progress, meta, dist)


def _train(model, batches, steps, seed, device, amp_dtype, o, checkpoint, ckpt, eval_fn, sample_fn,
           lr_decay, progress, meta, dist):
    """The loop itself, on checked arguments (see ``fit``)."""
    model.to(device).train()
    losses = dist.wrap(model)                       # the model itself in one process
    opt_kw = dict(lr=o["lr"], betas=o["betas"], amsgrad=o["amsgrad"])
    opt_g, opt_d = _adam(model.g_parameters(), **opt_kw), _adam(model.disc.parameters(), **opt_kw)
    history = {"step": [], "d_loss": [], "g_loss": [], "eval": []}
    start = 0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt_g.load_state_dict(ckpt["opt_g"])
        opt_d.load_state_dict(ckpt["opt_d"])
        start, history = ckpt["step"], ckpt["history"]
        _set_rng_state(ckpt["rng"], batches, dist)
    else:
        torch.manual_seed(seed)
    verified = (checkpoint, start) if ckpt is not None and checkpoint is not None else None

    def diverged(step, what):
        kept = (f"the last verified checkpoint is {verified[0]} (step {verified[1]})" if verified
                else "no checkpoint was written")
        with on_every_rank():                                       # the state is the same on every rank
            raise FloatingPointError(f"training diverged at step {step}: {what}; {kept}. "
                                     "Lower the learning rate or change the settings and start a new run")

    def check_state(step):
        state = {"model": model.state_dict(), "opt_g": opt_g.state_dict()["state"],
                 "opt_d": opt_d.state_dict()["state"]}
        if not all_finite(state):
            bad = non_finite(state)
            diverged(step, f"non-finite weights / optimiser state in {', '.join(bad[:3])}")

    def save(step):
        check_state(step)
        if dist.is_main:
            write_checkpoint({"config": model.config_dict(), "model": model.state_dict(),
                              "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "step": step,
                              "rng": _rng_state(batches, dist), "history": history, "meta": meta}, checkpoint)
        return checkpoint, step

    bs, gbs, n_critic = o["bs"] // dist.world, o["gbs"] // dist.world, o["n_critic"]   # this process's share
    autocast = torch.autocast(device.type, dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None)
    update = Update(model, batches, opt_g, opt_d, bs, gbs, autocast, losses)
    fork = dict(devices=[device] if device.type == "cuda" else [])   # side jobs leave the RNG alone
    bar = progress_bar(range(start, steps), initial=start, total=steps, disable=not (progress and dist.is_main),
               desc=f"{model.cfg.name}", dynamic_ncols=True)
    for step in bar:
        if lr_decay:                                                # linear decay to 0 at the end
            for opt in (opt_g, opt_d):
                for group in opt.param_groups:
                    group["lr"] = o["lr"] * min(1.0, (steps - step) / (lr_decay * steps))
        with dist.sharded():
            d_loss, g_loss = update(n_critic)                       # n_critic D steps, one G step
        d, g = dist.mean(d_loss, g_loss)                            # the global batch's losses
        done = step + 1
        if not (math.isfinite(d) and math.isfinite(g)):
            diverged(done, f"non-finite loss (d_loss={d}, g_loss={g})")
        stop = False
        if eval_fn is not None and o["eval_every"] and (done % o["eval_every"] == 0 or done == steps):
            if dist.is_main:
                with torch.random.fork_rng(**fork):
                    result = dict(eval_fn(model))
                stop = bool(result.pop("stop", False))              # early stopping on request
                history["eval"].append({"step": done, **result})
                model.train()
            stop = dist.agree(stop)
        last = done == steps or stop
        if done % o["log_every"] == 0 or last:
            check_state(done)
            history["step"].append(done)
            history["d_loss"].append(d)
            history["g_loss"].append(g)
            bar.set_postfix(d=f"{d:.3f}", g=f"{g:.3f}", refresh=False)
        if dist.is_main and sample_fn is not None and o["sample_every"] and (done % o["sample_every"] == 0 or last):
            with torch.random.fork_rng(**fork):
                sample_fn(model, done)
            model.train()
        if checkpoint is not None and ((o["checkpoint_every"] and done % o["checkpoint_every"] == 0) or last):
            verified = save(done)
        if stop:
            break
    model.eval()
    return history


def fixed_latents(model, n=64, seed=0):
    """The same n latents (and labels / generator indices) on every call: z from the
    model's prior with a dedicated torch.Generator, so the global RNG is untouched.
    Returns (z [n, d], y [n] or None, index [n] or None) for ``model.generate``."""
    dev = model.device
    g = torch.Generator(device=dev).manual_seed(seed)
    z, k = model.prior.sample(n, generator=g)
    c = model.cfg
    y = torch.arange(n, device=dev) % c.n_classes if c.conditional else None
    index = torch.arange(n, device=dev) % c.K if c.head == "multi" else None
    return z, y, index


def grid_sampler(out_dir, n=64, seed=0, nrow=None):
    """A ``sample_fn(model, step)`` for ``fit`` that saves a grid of n samples from FIXED
    noise (the same z at every call) to <out_dir>/samples_{step:06d}.png and returns the
    path.  Conditional models get labels 0..N-1 in turn, multi-head models generators 0..K-1."""
    from torchvision.utils import save_image

    nrow = nrow or int(math.ceil(math.sqrt(n)))

    @torch.no_grad()
    def sample_fn(model, step):
        was = model.training
        model.eval()
        try:
            z, y, index = fixed_latents(model, n, seed)
            x, _ = model.generate(z, y, index)
        finally:
            model.train(was)
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, f"samples_{step:06d}.png")
        save_image(x.float().cpu(), path, nrow=nrow, normalize=True, value_range=(-1, 1))
        return path

    return sample_fn


def load_checkpoint(path, map_location="cpu"):
    """(model, checkpoint dict) from a training checkpoint, verified (checksum, finite values)
    by ``checkpoint.read_checkpoint``; a damaged file is one CheckpointError naming it."""
    ckpt = read_checkpoint(path, map_location=map_location)
    model = from_config(ckpt["config"])
    model.load_state_dict(ckpt["model"])
    return model, ckpt
