"""The training loop: n_critic D steps, one G step, repeat (a flat loop, nanoGPT style).

    history = fit(model, x, steps=2000, seed=0)                    # toys: a tensor
    history = fit(model, (x, y), steps=..., checkpoint="runs/a/ckpt.pt", checkpoint_every=500)

One *step* is one generator update (after ``n_critic`` critic updates).  A checkpoint is
one dict {config, model, opt_g, opt_d, step, rng, history}: written atomically, read with
``weights_only=True``; ``resume=True`` continues bit-identically on the CPU.
"""
import math
import os

import torch
from tqdm.auto import tqdm

from ..models import from_config, save_atomic


def pick_device(device=None):
    """CUDA when present, else CPU (or what the caller asked for)."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class _Batches:
    """Draws random minibatches (with replacement) from tensors or a Dataset, using its
    own torch.Generator so that the data order is part of the checkpointed RNG state."""

    def __init__(self, data, device, seed):
        if isinstance(data, (tuple, list)):
            x, y = data
        elif isinstance(data, torch.Tensor):
            x, y = data, None
        else:                                    # a torch Dataset of (x, y)
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


def check_config(ckpt, model, path):
    """A checkpoint may only resume the model (name and config) it was written for."""
    mine, theirs = model.config_dict(), ckpt["config"]
    if mine != theirs:
        diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        raise ValueError(f"checkpoint {path} was written for another model/config "
                         f"(differs in {diff}: checkpoint {[theirs.get(k) for k in diff]} vs "
                         f"model {[mine.get(k) for k in diff]}); start a new run folder instead")


def check_writable(path):
    folder = os.path.dirname(os.path.abspath(path)) or "."
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise PermissionError(f"output folder {folder} cannot be created: {e}") from None
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"output folder {folder} is not writable; choose another --out")


def fit(model, data, steps, seed=0, device=None, *, batch_size=None, g_batch_size=None,
        n_critic=None, lr=None, betas=None, amsgrad=None, log_every=10, eval_every=None,
        eval_fn=None, checkpoint=None, checkpoint_every=None, resume=False,
        sample_every=None, sample_fn=None, amp=False, progress=True):
    """Train `model` for `steps` generator iterations and return its history.

    data: Tensor [N, …], a pair (x, y) of tensors, or a Dataset of (x, y).
    Optimiser settings default to the model's config (the paper's values).
    eval_fn(model) -> dict is called every eval_every steps (RNG-neutral) and logged;
    sample_fn(model, step) every sample_every steps (e.g. save a fixed-noise grid).
    history = {"step", "d_loss", "g_loss": lists every log_every steps, "eval": [dict]}.
    """
    cfg = model.cfg
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    device = pick_device(device)
    model.to(device).train()
    batches = _Batches(data, device, seed)
    if batches.shape() != tuple(cfg.data_shape):
        raise ValueError(f"data of shape {batches.shape()} does not match the model's data_shape "
                         f"{tuple(cfg.data_shape)} (channels / size / dimension)")
    bs, gbs = batch_size or cfg.batch_size, g_batch_size or cfg.g_batch_size
    n_critic = n_critic or cfg.n_critic
    opt_kw = dict(lr=lr or cfg.lr, betas=tuple(betas or cfg.betas),
                  amsgrad=cfg.amsgrad if amsgrad is None else amsgrad)
    opt_g = torch.optim.Adam(model.g_parameters(), **opt_kw)
    opt_d = torch.optim.Adam(model.disc.parameters(), **opt_kw)
    history = {"step": [], "d_loss": [], "g_loss": [], "eval": []}
    start = 0
    if checkpoint is not None:
        check_writable(checkpoint)
    if resume and checkpoint is not None and os.path.exists(checkpoint):
        ckpt = torch.load(checkpoint, map_location=device, weights_only=True)
        check_config(ckpt, model, checkpoint)
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
                     "rng": _rng_state(batches), "history": history}, checkpoint)

    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda")
    bar = tqdm(range(start, steps), initial=start, total=steps, disable=not progress,
               desc=f"{cfg.name}", dynamic_ncols=True)
    for step in bar:
        for _ in range(n_critic):                                   # critic / D steps
            x, y = batches(bs)
            with autocast:
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
        if not (math.isfinite(d) and math.isfinite(g)):
            kept = f"; the last good checkpoint is {checkpoint}" if checkpoint and os.path.exists(checkpoint) else ""
            raise FloatingPointError(f"non-finite loss at step {step + 1} (d_loss={d}, g_loss={g}){kept}")
        done = step + 1
        if done % log_every == 0 or done == steps:
            history["step"].append(done)
            history["d_loss"].append(d)
            history["g_loss"].append(g)
            bar.set_postfix(d=f"{d:.3f}", g=f"{g:.3f}")
        if eval_fn is not None and eval_every and (done % eval_every == 0 or done == steps):
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                history["eval"].append({"step": done, **eval_fn(model)})
            model.train()
        if sample_fn is not None and sample_every and (done % sample_every == 0 or done == steps):
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                sample_fn(model, done)
            model.train()
        if checkpoint is not None and ((checkpoint_every and done % checkpoint_every == 0) or done == steps):
            save(done)
    model.eval()
    return history


def load_checkpoint(path, map_location="cpu"):
    """(model, checkpoint dict) from a training checkpoint."""
    ckpt = torch.load(path, map_location=map_location, weights_only=True)
    model = from_config(ckpt["config"])
    model.load_state_dict(ckpt["model"])
    return model, ckpt
