"""Data-parallel training: one run over N processes (torchrun), as if one process took the whole batch.

    torchrun --nproc_per_node 4 -m mixgan.train --model hmog --data mnist --batch 512 --out runs/big  # NCCL, a GPU each
    torchrun --nproc_per_node 2 -m mixgan.train --device cpu --dry-run --no-fid --out /tmp/ddp        # gloo, CPU

``--batch`` (and the model's g_batch_size) stay the GLOBAL batch b: each of the N processes (ranks)
takes b/N rows, and N must divide both (an error before training otherwise).  N processes
reproduce one process with batch b, because

  * noise and data: every rank draws the global batch's latents, mixture components, generator
    indices, Gumbel noise, gradient-penalty weights and data indices from the same seeded
    generators and keeps rows r·b/N : (r+1)·b/N (``mixgan.nets.noise.sharded``);
  * gradients: ``DistributedDataParallel`` averages them over ranks before each optimiser step.
    Two DDP modules (``_Loss``): ``model.d_loss`` over D's parameters, ``model.g_loss`` over G's,
    each one forward per backward, so the critic's several forwards and the gradient penalty's
    ``autograd.grad(create_graph=True)`` lie inside one DDP forward, and a step averages only
    the parameters its optimiser updates.  The mean over ranks of per-rank mean losses is the
    global batch's mean loss, so the averaged gradient is the single process's gradient;
  * BatchNorm: statistics over the global batch (``torch.nn.SyncBatchNorm`` on CUDA, which
    refuses CPU tensors; ``GlobalBatchNorm`` below under gloo), running statistics included;
  * logged losses: the mean over ranks of the local means, the global batch's loss.

Exact up to float rounding (the order of summation) for every model whose losses are means
over samples: fc, hmog, mog (tested), gan, madgan, mgan, acgan and the four MM-GANs.  In float64
two processes give one process's weights to ~1e-9 after a few steps.  In float32, Adam's step
g / (√v + eps) turns rounding into moves of up to lr where a gradient is ~0 (e.g. a bias right
before a BatchNorm, whose gradient is exactly 0 in theory), as between any two summation orders.
Not exact: MEGAN (its load-balancing term is a function of the batch's mean gate usage, here
per rank) and per-generator BatchNorm (``gen_norm="per_generator"``: statistics per rank).

Rank 0 alone takes the run folder's lock and writes files (checkpoints, samples, history,
metrics, FID); an error it meets there is sent to every rank, so no rank waits for a failed
one.  To resume, rank 0 reads and checks the checkpoint, then every other rank reads it, and all
hold the same RNG states.  An error only one rank meets (its data or checkpoint unreadable there)
stops that rank; the collectives of the others then fail (``peer_lost``), and they stop too.
"""
import contextlib
import os
import pickle
from types import SimpleNamespace

import torch
import torch.distributed as dist
import torch.nn as nn

from ..nets import noise

__all__ = ["Single", "Distributed", "from_env", "GlobalBatchNorm", "on_every_rank", "met_by_every_rank",
           "peer_lost"]


class Single:
    """One process: every method is the plain single-process behaviour (the default of ``fit``)."""

    rank, world = 0, 1

    def __init__(self, device=None):
        self.device = device

    @property
    def is_main(self):
        """True on the rank that logs and writes files (rank 0)."""
        return self.rank == 0

    def __enter__(self):                         # the process group's life: none here
        return self

    def __exit__(self, *exc):
        return False

    def check_batch(self, **sizes):
        """Each batch size (name=value) must split into `world` equal parts: ValueError naming it."""
        for name, b in sizes.items():
            if b % self.world:
                raise ValueError(f"{name}={b} does not split over {self.world} processes: the batch is global, "
                                 f"each process takes {name}/{self.world} rows; choose a multiple of {self.world}")

    def wrap(self, model):
        """What ``Update`` calls for its losses: an object with d_loss / g_loss (here the model)."""
        return model

    def sharded(self):
        """The context in which a training step draws its noise and data (see ``mixgan.nets.noise``)."""
        return contextlib.nullcontext()

    def mean(self, *losses):
        """Python floats of 0-d losses, averaged over ranks."""
        return [loss.item() for loss in losses]

    def agree(self, flag):
        """Rank 0's boolean, on every rank."""
        return flag

    def on_main(self, fn, then_all=False):
        """fn() on rank 0; an exception it raises is raised on every rank.  then_all: the other
        ranks call fn() afterwards (e.g. read data rank 0 may have downloaded).  Returns fn()'s value
        where it ran, else None."""
        return fn()

    def cuda_rng_state(self):
        return torch.cuda.get_rng_state_all()

    def set_cuda_rng_state(self, states):
        torch.cuda.set_rng_state_all(states)


class Distributed(Single):
    """Rank `rank` of `world` processes on `device` (cuda:LOCAL_RANK with NCCL, or the CPU with gloo).
    ``with ctx:`` forms the process group (from torchrun's MASTER_ADDR / MASTER_PORT) and ends it."""

    def __init__(self, rank, world, device):
        super().__init__(device)
        self.rank, self.world = rank, world

    def __enter__(self):
        cuda = self.device.type == "cuda"
        if cuda:
            torch.cuda.set_device(self.device)
        dist.init_process_group("nccl" if cuda else "gloo", rank=self.rank, world_size=self.world,
                                device_id=self.device if cuda else None)
        return self

    def __exit__(self, *exc):
        dist.destroy_process_group()
        return False

    def wrap(self, model):
        """Synchronise `model`'s BatchNorm layers (in place, same parameters and buffers) and wrap
        its two losses in DistributedDataParallel: d_loss averages D's gradients, g_loss G's."""
        sync_batchnorms(model, self.device)
        g_parts = [model.prior, model.head, model.body] + ([model.encoder] if model.encoder is not None else [])

        def ddp(name, parts):
            return nn.parallel.DistributedDataParallel(
                _Loss(getattr(model, name), parts), device_ids=[self.device.index] if self.device.type == "cuda"
                else None, forward_sync_buffers=False)   # buffers stay equal: same steps, synchronised BatchNorm
        return SimpleNamespace(d_loss=ddp("d_loss", [model.disc]), g_loss=ddp("g_loss", g_parts))

    def sharded(self):
        return noise.sharded(self.rank, self.world)

    def mean(self, *losses):
        t = torch.stack([loss.detach().double() for loss in losses])
        dist.all_reduce(t)
        return (t / self.world).tolist()

    def agree(self, flag):
        t = torch.tensor([float(bool(flag))], device=self.device)
        dist.broadcast(t, src=0)
        return bool(t.item())

    def on_main(self, fn, then_all=False):
        out, err = None, None
        if self.is_main:
            try:
                out = fn()
            except Exception as e:                    # sent to the other ranks, then raised here too
                err = e
        box = [_picklable(err)]
        dist.broadcast_object_list(box, src=0)
        if box[0] is not None:
            raise _mark(err if self.is_main else box[0])
        if then_all and not self.is_main:
            out = fn()
        return out

    def cuda_rng_state(self):
        """The generator of this rank's GPU only (every rank's holds the same state)."""
        return [torch.cuda.get_rng_state(self.device)] if self.device.type == "cuda" else super().cuda_rng_state()

    def set_cuda_rng_state(self, states):
        if self.device.type == "cuda":
            torch.cuda.set_rng_state(states[0], self.device)
        else:
            super().set_cuda_rng_state(states)


def _picklable(err):
    """`err` if it survives pickling (to be sent to the other ranks), else a RuntimeError of its text."""
    if err is None:
        return None
    try:
        pickle.loads(pickle.dumps(err))
        return err
    except Exception:
        return RuntimeError(f"{type(err).__name__}: {err}")


def from_env(device):
    """The context torchrun's environment (WORLD_SIZE, RANK, LOCAL_RANK) asks for: ``Single(device)``
    when WORLD_SIZE is unset or 1, else ``Distributed`` on cuda:LOCAL_RANK (a CUDA `device`) or the CPU.
    The process group forms on ``with ctx:``; nothing is started here."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError:
        raise ValueError("WORLD_SIZE, RANK and LOCAL_RANK must be integers (as torchrun sets them)") from None
    if world <= 1:
        return Single(device)
    if not 0 <= rank < world:
        raise ValueError(f"RANK={rank} must lie in [0, WORLD_SIZE={world})")
    if device.type == "cuda":
        if local >= torch.cuda.device_count():
            raise ValueError(f"LOCAL_RANK={local} but this machine has {torch.cuda.device_count()} GPU(s); "
                             "start at most one process per GPU (torchrun --nproc_per_node)")
        device = torch.device("cuda", local)
    return Distributed(rank, world, device)


def _mark(err):
    try:
        err.mixgan_every_rank = True
    except AttributeError:                            # an exception type without attributes: unmarked
        pass
    return err


@contextlib.contextmanager
def on_every_rank():
    """Errors raised inside are met alike by every rank (the same arguments, the same synchronised
    state, or rank 0's error sent by ``on_main``), so rank 0 alone reports them."""
    try:
        yield
    except Exception as e:
        raise _mark(e)


def met_by_every_rank(err):
    """True for an error raised inside ``on_every_rank`` or sent by ``on_main``."""
    return getattr(err, "mixgan_every_rank", False)


def peer_lost(err):
    """True for the error a collective raises when another rank of the job has stopped."""
    text = str(err).lower()
    return isinstance(err, dist.DistError) or (isinstance(err, RuntimeError) and any(
        w in text for w in ("connection closed by peer", "connection reset by peer", "broken pipe")))


def rank_from_env():
    """This process's rank under torchrun (0 when not distributed): who reports errors."""
    try:
        return int(os.environ.get("RANK", "0")) if int(os.environ.get("WORLD_SIZE", "1")) > 1 else 0
    except ValueError:
        return 0


class _Loss(nn.Module):
    """A loss of the model (e.g. ``model.d_loss``) as the forward of a module holding `parts`, the
    submodules whose gradients DDP averages (each must get a gradient from every backward):
    ``_Loss(model.d_loss, [model.disc])(x, y)`` is ``model.d_loss(x, y)``."""

    def __init__(self, loss, parts):
        super().__init__()
        self.parts, self.loss = nn.ModuleList(parts), loss

    def forward(self, *args, **kw):
        return self.loss(*args, **kw)


class _AllReduceSum(torch.autograd.Function):
    """y = Σ_ranks x (every rank gets y); its gradient is Σ_ranks of the ranks' gradients of y,
    itself differentiable (so the gradient penalty's double backward passes through it)."""

    @staticmethod
    def forward(ctx, x):
        y = x.clone()
        dist.all_reduce(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        return _AllReduceSum.apply(grad)


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm with statistics over every rank's rows, for CPU tensors under gloo (torch's
    SyncBatchNorm takes GPU tensors only).  x [B, C, *S] with B rows on this rank, S positions
    per channel, n = world·B·|S| values per channel over all ranks:

        mean_c = Σ x / n,   var_c = Σ (x − mean_c)² / n        (sums all-reduced, differentiably)
        y = (x − mean_c) / √(var_c + eps) · γ_c + β_c
        running_mean ← (1 − m)·running_mean + m·mean_c
        running_var  ← (1 − m)·running_var + m·var_c·n/(n − 1)

    i.e. ``nn.BatchNorm`` on the concatenated global batch.  In eval mode: the running statistics.
    """

    def _check_input_dim(self, x):
        if x.dim() < 2:
            raise ValueError(f"BatchNorm expects [B, C, ...] input, got shape {tuple(x.shape)}")

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        all_reduce = _AllReduceSum.apply
        self._check_input_dim(x)
        dims, shape = [0, *range(2, x.dim())], [1, -1] + [1] * (x.dim() - 2)
        n = x.numel() // x.shape[1] * dist.get_world_size()
        mean = all_reduce(x.sum(dims)) / n
        var = all_reduce((x - mean.view(shape)).pow(2).sum(dims)) / n
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked += 1
                m = self.momentum if self.momentum is not None else 1.0 / int(self.num_batches_tracked)
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(var.detach(), alpha=m * n / max(n - 1, 1))
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        return y * self.weight.view(shape) + self.bias.view(shape) if self.affine else y


def sync_batchnorms(model, device):
    """Every BatchNorm layer of `model` computes its statistics over all ranks, in place and with
    the same parameter and buffer tensors (so optimisers and state dicts are unchanged):
    ``torch.nn.SyncBatchNorm`` on CUDA, ``GlobalBatchNorm`` on the CPU."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(model)
    for name, child in model.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm) and not isinstance(child, GlobalBatchNorm):
            new = GlobalBatchNorm(child.num_features, child.eps, child.momentum, child.affine,
                                  child.track_running_stats)
            for key in list(new._parameters) + list(new._buffers):
                setattr(new, key, getattr(child, key))
            model._modules[name] = new.train(child.training)
        else:
            sync_batchnorms(child, device)
    return model
