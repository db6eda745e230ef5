"""The random draws of training, splittable across data-parallel processes.

    z = noise.randn(n, d, device=dev)          # exactly torch.randn(n, d, device=dev)
    with noise.sharded(rank, world):           # data-parallel training (mixgan.train.distributed)
        z = noise.randn(n, d, device=dev)      # draws [n·world, d], returns rows rank·n : (rank+1)·n

Every draw of training (latents, mixture components, generator indices, Gumbel noise, the
gradient penalty's interpolation weights, data indices) goes through these functions, with n
the rows this process needs.  Inside ``sharded`` each of the `world` processes draws the
global batch's rows from the same identically seeded generator and keeps its own slice, so
N processes of n rows see exactly the numbers of one process with n·N rows, and their
generators stay in step.  Outside it each function is the torch call it names, bit for bit.
"""
from contextlib import contextmanager

import torch

__all__ = ["sharded", "shard", "randn", "rand", "randint", "gumbel_softmax_hard"]

_SHARD = [None]                  # (rank, world) while a `sharded` block runs, else None


@contextmanager
def sharded(rank, world):
    """Draws inside the block are the slice `rank` of a batch `world` times larger."""
    if not (0 <= rank < world):
        raise ValueError(f"rank must lie in [0, world), got rank={rank}, world={world}")
    before, _SHARD[0] = _SHARD[0], (int(rank), int(world))
    try:
        yield
    finally:
        _SHARD[0] = before


def shard():
    """(rank, world) of the current ``sharded`` block; (0, 1) outside one."""
    return _SHARD[0] or (0, 1)


def _rows(draw, n, rest):
    """draw((n, *rest)) in one process; the rank's n rows of draw((n·world, *rest)) when sharded."""
    rank, world = shard()
    if world == 1:
        return draw((n, *rest))
    return draw((n * world, *rest))[rank * n:(rank + 1) * n]


def randn(n, *rest, **kw):
    """torch.randn(n, *rest, **kw), [n, *rest]."""
    return _rows(lambda size: torch.randn(*size, **kw), n, rest)


def rand(n, *rest, **kw):
    """torch.rand(n, *rest, **kw), [n, *rest]."""
    return _rows(lambda size: torch.rand(*size, **kw), n, rest)


def randint(high, n, **kw):
    """torch.randint(high, (n,), **kw), [n]."""
    return _rows(lambda size: torch.randint(high, size, **kw), n, ())


def gumbel_softmax_hard(logits, tau):
    """``F.gumbel_softmax(logits, tau, hard=True)`` with its Gumbel noise drawn row-sharded.

    g = −log E, E ~ Exp(1) [B, K];  y_soft = softmax((logits + g) / τ);
    returns onehot(argmax y_soft) − sg(y_soft) + y_soft  (forward one-hot, gradient of y_soft).
    """
    gumbels = -_rows(lambda size: torch.empty(size, dtype=logits.dtype, device=logits.device).exponential_(),
                     logits.shape[0], logits.shape[1:]).log()
    y_soft = ((logits + gumbels) / tau).softmax(-1)
    index = y_soft.max(-1, keepdim=True)[1]
    y_hard = torch.zeros_like(logits).scatter_(-1, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
