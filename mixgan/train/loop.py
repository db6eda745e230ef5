"""The training loop: n_critic D steps, one G step, repeat (a flat loop, nanoGPT style).

    history = fit(model, x, steps=2000, seed=0)                    # toys: a tensor
    history = fit(model, (x, y), steps=..., checkpoint="runs/a/ckpt.pt", checkpoint_every=500,
                  sample_every=500, sample_fn=grid_sampler("runs/a"))

One *step* is one generator update (after ``n_critic`` critic updates).  A checkpoint is
one dict {config, model, opt_g, opt_d, step, rng, history, meta}: written atomically, read
with ``weights_only=True``; ``resume=True`` continues bit-identically on the CPU.
A non-finite loss stops training with a FloatingPointError naming the step; the last
checkpoint on disk is then the last good one (a step is only saved after its check).
"""
import math
import os
import tempfile

import torch
from tqdm.auto import tqdm

from ..models import from_config, save_atomic


def pick_device(device=None):
    """CUDA when present, else CPU (or what the caller asked for)."""
    if device is not None:
        device = torch.device(device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {str(device)!r} was asked for but no CUDA GPU is available; use 'cpu'")
        return device
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class _Batches:
    """Draws random minibatches (with replacement) from tensors or a Dataset, using its
    own torch.Generator so that the data order is part of the checkpointed RNG state."""

    def __init__(self, data, device, seed):
        if isinstance(data, (tuple, list)):
            x, y = data
        else:                                    # a Tensor, or a torch Dataset of (x, y)
            x, y = data, None
        self.x, self.y, self.device = x, y, device
        if isinstance(x, torch.Tensor):
            self.x = x.to(device)
            self.y = y.to(device) if y is not None else None
        self.n = len(x)
        if self.n < 1:
            raise ValueError("training data is empty")
        self.gen = torch.Generator().manual_seed(seed)

    def __call__(self, b):
        idx = torch.randint(self.n, (b,), generator=self.gen)
        if isinstance(self.x, torch.Tensor):
            idx = idx.to(self.device)
            return self.x[idx], (self.y[idx] if self.y is not None else None)
        items = [self.x[int(i)] for i in idx]
        x = torch.stack([it[0] for it in items]).to(self.device)
        y = torch.tensor([int(it[1]) for it in items], device=self.device)
        return x, y

    def shape(self):
        return tuple((self.x[0] if isinstance(self.x, torch.Tensor) else self.x[0][0]).shape)


def _rng_state(batches):
    s = {"torch": torch.get_rng_state(), "data": batches.gen.get_state()}
    if torch.cuda.is_available():
        s["cuda"] = torch.cuda.get_rng_state_all()
    return s


def _set_rng_state(state, batches):
    torch.set_rng_state(state["torch"])
    batches.gen.set_state(state["data"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


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
    """Create the folder of `path` and prove it is writable by writing a probe file there."""
    folder = os.path.dirname(os.path.abspath(path)) or "."
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as e:
        raise PermissionError(f"output folder {folder} is not writable ({e.strerror or e}); "
                              "choose another output folder (--out)") from None


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
    which matters for the 106 M leaf weights of a depth-8 HMoG) where torch supports it."""
    params = list(params)
    try:
        return torch.optim.Adam(params, fused=True, **kw)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, **kw)


def fit(model, data, steps, seed=0, device=None, *, batch_size=None, g_batch_size=None,
        n_critic=None, lr=None, betas=None, amsgrad=None, lr_decay=None, log_every=10,
        eval_every=None, eval_fn=None, checkpoint=None, checkpoint_every=None, resume=False,
        sample_every=None, sample_fn=None, amp=False, progress=True, meta=None):
    """Train `model` for `steps` generator iterations and return its history.

    data: Tensor [N, …], a pair (x, y) of tensors, or a Dataset of (x, y).
    Optimiser settings default to the model's config (the paper's values).
    lr_decay: a fraction f in (0, 1]: both learning rates fall linearly to 0 over the last
    f·steps steps (e.g. 0.5, as `benchmarks/toy_modes.py --sharp`; it sharpens toy samples);
    None keeps them constant.
    eval_fn(model) -> dict is called every eval_every steps (RNG-neutral) and logged; a
    returned ``stop=True`` ends training early (after a checkpoint);
    sample_fn(model, step) every sample_every steps (e.g. ``grid_sampler(out_dir)``).
    amp: bfloat16 autocast on CUDA (ignored on the CPU).  meta: a dict of plain values
    stored in the checkpoint; resuming with a different meta is an error.
    history = {"step", "d_loss", "g_loss": lists every log_every steps, "eval": [dict]}.
    """
    cfg = model.cfg
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    device = pick_device(device)
    amp_dtype = _amp_dtype(amp, device)
    model.to(device).train()
    batches = _Batches(data, device, seed)
    check_data(batches.shape(), model)
    bs, gbs = batch_size or cfg.batch_size, g_batch_size or cfg.g_batch_size
    n_critic = n_critic or cfg.n_critic
    opt_kw = dict(lr=lr or cfg.lr, betas=tuple(betas or cfg.betas),
                  amsgrad=cfg.amsgrad if amsgrad is None else amsgrad)
    opt_g, opt_d = _adam(model.g_parameters(), **opt_kw), _adam(model.disc.parameters(), **opt_kw)
    if lr_decay is not None and not 0 < lr_decay <= 1:
        raise ValueError(f"lr_decay must be a fraction in (0, 1], got {lr_decay}")
    history = {"step": [], "d_loss": [], "g_loss": [], "eval": []}
    start = 0
    if checkpoint is not None:
        check_writable(checkpoint)
    if resume and checkpoint is not None and os.path.exists(checkpoint):
        ckpt = torch.load(checkpoint, map_location=device, weights_only=True)
        check_config(ckpt, model, checkpoint, meta)
        model.load_state_dict(ckpt["model"])
        opt_g.load_state_dict(ckpt["opt_g"])
        opt_d.load_state_dict(ckpt["opt_d"])
        start, history = ckpt["step"], ckpt["history"]
        _set_rng_state(ckpt["rng"], batches)
    else:
        torch.manual_seed(seed)

    def save(step):
        save_atomic({"config": model.config_dict(), "model": model.state_dict(),
                     "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "step": step,
                     "rng": _rng_state(batches), "history": history, "meta": meta}, checkpoint)

    autocast = torch.autocast(device.type, dtype=amp_dtype or torch.bfloat16, enabled=amp_dtype is not None)
    fork = dict(devices=[device] if device.type == "cuda" else [])   # side jobs leave the RNG alone
    bar = tqdm(range(start, steps), initial=start, total=steps, disable=not progress,
               desc=f"{cfg.name}", dynamic_ncols=True)
    for step in bar:
        if lr_decay:                                                # linear decay to 0 at the end
            for opt in (opt_g, opt_d):
                for group in opt.param_groups:
                    group["lr"] = opt_kw["lr"] * min(1.0, (steps - step) / (lr_decay * steps))
        for _ in range(n_critic):                                   # critic / D steps
            x, y = batches(bs)
            with autocast:                                          # G runs under no_grad in d_loss
                d_loss = model.d_loss(x, y)
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        x, y = batches(bs)                                          # generator step
        with autocast:
            g_loss = model.g_loss(x, y, n=gbs)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()

        d, g = d_loss.item(), g_loss.item()
        done = step + 1
        if not (math.isfinite(d) and math.isfinite(g)):
            kept = (f"; the last good checkpoint is kept at {checkpoint}"
                    if checkpoint and os.path.exists(checkpoint) else "; no checkpoint was written yet")
            raise FloatingPointError(f"training stopped: non-finite loss at step {done} "
                                     f"(d_loss={d}, g_loss={g}){kept}")
        stop = False
        if eval_fn is not None and eval_every and (done % eval_every == 0 or done == steps):
            with torch.random.fork_rng(**fork):
                result = dict(eval_fn(model))
            stop = bool(result.pop("stop", False))                  # early stopping on request
            history["eval"].append({"step": done, **result})
            model.train()
        last = done == steps or stop
        if done % log_every == 0 or last:
            history["step"].append(done)
            history["d_loss"].append(d)
            history["g_loss"].append(g)
            bar.set_postfix(d=f"{d:.3f}", g=f"{g:.3f}")
        if sample_fn is not None and sample_every and (done % sample_every == 0 or last):
            with torch.random.fork_rng(**fork):
                sample_fn(model, done)
            model.train()
        if checkpoint is not None and ((checkpoint_every and done % checkpoint_every == 0) or last):
            save(done)
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
    """(model, checkpoint dict) from a training checkpoint."""
    ckpt = torch.load(path, map_location=map_location, weights_only=True)
    model = from_config(ckpt["config"])
    model.load_state_dict(ckpt["model"])
    return model, ckpt
