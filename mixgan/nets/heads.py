"""Generator heads z [B, d] -> h [B, |h|].

All mixture heads share one trick: the leaves are linear, so

    Σ_k π_k (W_k z + b_k) = (π ⊗ [z, 1]) · [W_1; b_1; …; W_K; b_K]

is ONE matrix product of (B × K(d+1)) by (K(d+1) × |h|), whatever π is (soft tree
probabilities, a softmax, a one-hot choice). ``mix_linear`` implements it.
Heads with gates expose ``gates(z) -> [B, K]`` whose rows sum to 1.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import noise


def mix_linear(pi, z, weight):
    """h = Σ_k π_k (W_k z + b_k).  pi [B,K], z [B,d], weight [K(d+1), |h|] -> [B, |h|]."""
    z1 = F.pad(z, (0, 1), value=1.0)                      # [B, d+1]
    return (pi[:, :, None] * z1[:, None, :]).flatten(1) @ weight


def _leaf_weight(K, d, h):
    """K stacked linear leaves [K(d+1), |h|]; W ~ N(0, 0.02) as DCGAN, b = 0."""
    w = torch.randn(K, d + 1, h) * 0.02
    w[:, -1] = 0
    return nn.Parameter(w.reshape(K * (d + 1), h))


class Linear(nn.Module):
    """FC baseline head: h = W z + b (one global generator)."""

    def __init__(self, d, h):
        super().__init__()
        self.fc = nn.Linear(d, h)
        nn.init.normal_(self.fc.weight, 0, 0.02)
        nn.init.zeros_(self.fc.bias)
        self.K = 1

    def forward(self, z):
        return self.fc(z)


class SoftTree(nn.Module):
    """HMoG head: a complete soft tree of `depth` levels and `arity` children (eq. 5–7).

    Internal node m: P(child j | m, z) = σ(v_m·z + v_m0) for j = left (1 − σ for right)
    when arity == 2, softmax_j(v_mj·z + v_mj0) when arity > 2.  A leaf's probability is
    the product of the gates on its path; h = Σ_leaves P(leaf|z) (W_leaf z + b_leaf).
    Nodes are numbered breadth-first; all gate logits come from one matmul, and the
    path products are formed one level at a time (depth ≤ 8 steps, no loop over nodes).
    """

    def __init__(self, d, h, depth=3, arity=2):
        super().__init__()
        if not 1 <= int(depth) <= 8:
            raise ValueError(f"tree depth must be between 1 and 8, got {depth}")
        if int(arity) < 2:
            raise ValueError(f"tree arity must be >= 2, got {arity}")
        self.depth, self.arity = int(depth), int(arity)
        self.K = self.arity ** self.depth
        self.n_internal = (self.K - 1) // (self.arity - 1)
        out = 1 if self.arity == 2 else self.arity        # logits per internal node
        self.gate = nn.Linear(d, self.n_internal * out)
        nn.init.normal_(self.gate.weight, 0, 1.0 / math.sqrt(d))   # gates start localised, not all 1/2
        nn.init.zeros_(self.gate.bias)
        self.leaves = _leaf_weight(self.K, d, h)

    def child_probs(self, z):
        """P(child | node, z) for every internal node: [B, n_internal, arity]."""
        logits = self.gate(z).view(z.shape[0], self.n_internal, -1)
        if self.arity == 2:
            left = torch.sigmoid(logits)
            return torch.cat([left, 1 - left], 2)
        return logits.softmax(2)

    def node_probs(self, z):
        """Path probability of every node, level by level: list of [B, arity**l], l=0..depth."""
        cp = self.child_probs(z)
        levels, start = [torch.ones(z.shape[0], 1, device=z.device, dtype=z.dtype)], 0
        for l in range(self.depth):
            n = self.arity ** l
            p = levels[-1][:, :, None] * cp[:, start:start + n]   # [B, n, arity]
            levels.append(p.flatten(1))
            start += n
        return levels

    def gates(self, z):
        """Leaf probabilities P(leaf | z): [B, K], rows sum to 1."""
        return self.node_probs(z)[-1]

    def forward(self, z):
        return mix_linear(self.gates(z), z, self.leaves)


class SoftMixture(SoftTree):
    """MoG head: a softmax gate over K linear leaves from z alone (a depth-1 tree)."""

    def __init__(self, d, h, K=8):
        if int(K) < 2:
            raise ValueError(f"number of generators K must be >= 2, got {K}")
        super().__init__(d, h, depth=1, arity=K)


class PerGeneratorBatchNorm(nn.Module):
    """BatchNorm with its own statistics and affine parameters for each of K generators.

    x [B, C] or [B, C·S] (S positions per channel, e.g. S = 4·4 for DCGAN's h), index [B]:
    sample b is normalised with the batch statistics of the samples of its generator k = index[b]

        y = (x − mean_k) / √(var_k + eps) · γ_k + β_k,   mean_k, var_k over {b : index_b = k} × S

    and, in eval mode, with generator k's running statistics.  Equal to K separate
    ``nn.BatchNorm1d/2d`` layers applied to the K sub-batches, computed in one pass.
    """

    def __init__(self, K, channels, eps=1e-5, momentum=0.1):
        super().__init__()
        self.K, self.C, self.eps, self.momentum = int(K), int(channels), eps, momentum
        self.weight = nn.Parameter(1.0 + 0.02 * torch.randn(self.K, self.C))   # DCGAN init N(1, 0.02)
        self.bias = nn.Parameter(torch.zeros(self.K, self.C))
        self.register_buffer("running_mean", torch.zeros(self.K, self.C))
        self.register_buffer("running_var", torch.ones(self.K, self.C))

    def forward(self, x, index):
        x3 = x.reshape(x.shape[0], self.C, -1)                             # [B, C, S]
        if self.training:
            onehot = F.one_hot(index, self.K).to(x.dtype)                  # [B, K]
            count = onehot.sum(0) * x3.shape[2]                            # values per generator [K]
            mean = torch.einsum("bk,bcs->kc", onehot, x3) / count.clamp_min(1)[:, None]
            var = torch.einsum("bk,bcs->kc", onehot, (x3 - mean[index][:, :, None]) ** 2) / count.clamp_min(1)[:, None]
            with torch.no_grad():                                           # generators present in the batch
                seen = count > 0
                unbiased = var * (count / (count - 1).clamp_min(1))[:, None]
                m = self.momentum
                self.running_mean[seen] = (1 - m) * self.running_mean[seen] + m * mean[seen]
                self.running_var[seen] = (1 - m) * self.running_var[seen] + m * unbiased[seen]
        else:
            mean, var = self.running_mean, self.running_var
        scale = self.weight[index] * torch.rsqrt(var[index] + self.eps)     # [B, C]
        y = (x3 - mean[index][:, :, None]) * scale[:, :, None] + self.bias[index][:, :, None]
        return y.reshape(x.shape)


class MultiHead(nn.Module):
    """MADGAN / MGAN head: K linear generators sharing the body; each sample is made by
    one generator drawn uniformly (or the given `index`). Returns h and the index.

    norm="per_generator" follows the MGAN reference code (Hoang et al.): each generator's
    first layer has its own BatchNorm (``PerGeneratorBatchNorm`` over `channels` channels of
    h), and the body after it has no BatchNorm on h.  norm=None: h is returned as is.
    shared=True: one linear layer for all K generators (MADGAN's layout, where the generators
    differ only in their last layers, inside the body); the head still draws the index.
    """

    def __init__(self, d, h, K=8, norm=None, channels=None, shared=False):
        super().__init__()
        if int(K) < 1:
            raise ValueError(f"number of generators K must be >= 1, got {K}")
        if norm not in (None, "per_generator"):
            raise ValueError(f"MultiHead norm must be None or 'per_generator', got {norm!r}")
        if norm and shared:
            raise ValueError("per-generator BatchNorm needs K first layers, not one shared layer")
        self.K, self.shared = int(K), bool(shared)
        self.leaves = _leaf_weight(1 if shared else self.K, d, h)
        self.norm = PerGeneratorBatchNorm(self.K, channels or h) if norm else None

    def forward(self, z, index=None):
        if index is None:
            index = noise.randint(self.K, z.shape[0], device=z.device)
        if self.shared:
            h = mix_linear(torch.ones(z.shape[0], 1, dtype=z.dtype, device=z.device), z, self.leaves)
            return h, index
        onehot = F.one_hot(index, self.K).to(z.dtype)
        h = mix_linear(onehot, z, self.leaves)
        return (self.norm(h, index) if self.norm is not None else h), index


class GatedHead(nn.Module):
    """MEGAN head (Park et al. 2018): K generators all run for every sample; a gating
    network sees [z, f_1..f_K], f_k = P(relu(h_k)) a shared projection of generator k's
    features, and picks ONE generator by straight-through Gumbel-softmax:

        g = onehot(argmax(logits + Gumbel)/τ)  forward,  ∇ of softmax((logits+G)/τ) backward
        τ = max(τ0 · exp(−rate · step), τ_min)

    The forward choice argmax(logits + Gumbel) is a draw from Cat(softmax(logits)) whatever τ.
    ``balance_loss()`` is the load-balancing term: MSE of the batch's mean gate usage
    to uniform 1/K.

    In eval mode the choice follows ``eval_gate``: "sample" (default) draws the generator
    from Cat(softmax(logits)), the distribution training used; "argmax" takes the most
    probable generator, without noise (a deterministic map z -> generator, but not the
    distribution the model was trained on).  ``forward(z, gate=...)`` overrides it per call.
    """

    GATES = ("sample", "argmax")

    def __init__(self, d, h, K=8, proj=16, tau0=1.0, rate=1e-4, tau_min=0.01, eval_gate="sample"):
        super().__init__()
        if int(K) < 1:
            raise ValueError(f"number of generators K must be >= 1, got {K}")
        self.K, self.tau0, self.rate, self.tau_min = int(K), tau0, rate, tau_min
        self.eval_gate = eval_gate
        self.leaves = _leaf_weight(self.K, d, h)
        self.proj = nn.Linear(h, proj)
        self.gate = nn.Sequential(nn.Linear(d + K * proj, 64), nn.ReLU(), nn.Linear(64, K))
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self._usage = None

    @property
    def eval_gate(self):
        return self._eval_gate

    @eval_gate.setter
    def eval_gate(self, value):
        self._eval_gate = self._check_gate(value)

    def _check_gate(self, gate):
        if gate not in self.GATES:
            raise ValueError(f"gate must be one of {self.GATES}, got {gate!r}")
        return gate

    @property
    def tau(self):
        return max(self.tau0 * math.exp(-self.rate * int(self.step)), self.tau_min)

    def logits(self, z):
        """Gate logits [B, K] and every generator's output h_k [B, K, |h|]."""
        W = self.leaves.view(self.K, -1, self.leaves.shape[1])          # [K, d+1, h]
        hk = torch.einsum("bd,kdh->bkh", F.pad(z, (0, 1), value=1.0), W)
        f = self.proj(F.relu(hk)).flatten(1)                             # [B, K*proj]
        return self.gate(torch.cat([z, f], 1)), hk

    def gates(self, z):
        return self.logits(z)[0].softmax(1)

    def forward(self, z, gate=None):
        """h [B, |h|] and the generator index [B].  gate: "sample" | "argmax" in eval mode
        (default ``self.eval_gate``); training always uses the Gumbel-softmax draw."""
        logits, hk = self.logits(z)
        if self.training:
            g = noise.gumbel_softmax_hard(logits, self.tau)
            self._usage = logits.softmax(1).mean(0)
            index = g.argmax(1)
        else:
            if self._check_gate(gate or self.eval_gate) == "argmax":
                index = logits.argmax(1)
            else:
                index = torch.multinomial(logits.softmax(1), 1).squeeze(1)
            g = F.one_hot(index, self.K).to(z.dtype)
        return torch.einsum("bk,bkh->bh", g, hk), index

    def balance_loss(self):
        """(1/K) Σ_k (mean_b p_k − 1/K)²  of the last training forward pass."""
        if self._usage is None:
            return torch.zeros(())
        return (self._usage - 1.0 / self.K).pow(2).mean()
