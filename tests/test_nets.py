"""Priors, heads and bodies (mixgan/nets): shapes, gate probabilities, the one-GEMM mixture, layouts."""
import math

import pytest
import torch

from mixgan.nets import (DCGANBody, GatedHead, GaussianMixture, Linear, MLPBody, MultiHead, Normal, SoftMixture,
                         SoftTree, truncate)
from mixgan.nets.heads import PerGeneratorBatchNorm, mix_linear


def leaf_probs_recursive(tree, z):
    """Explicit recursion over nodes (the definition, eq. 5–6): P(leaf) = Π gates on its path."""
    cp = tree.child_probs(z)                       # [B, n_internal, arity]
    a, out = tree.arity, []

    def walk(node, p, level):
        if level == tree.depth:
            out.append(p)
            return
        for j in range(a):
            walk(node * a + 1 + j, p * cp[:, node, j], level + 1)   # breadth-first numbering
    walk(0, torch.ones(z.shape[0]), 0)
    return torch.stack(out, 1)


@pytest.mark.parametrize("depth,arity", [(1, 2), (3, 2), (5, 2), (2, 3), (3, 4), (8, 2)])
def test_tree_gates_are_path_products(depth, arity):
    torch.manual_seed(0)
    tree = SoftTree(5, 7, depth, arity)
    z = torch.randn(6, 5)
    g = tree.gates(z)
    assert g.shape == (6, arity ** depth)
    assert torch.allclose(g.sum(1), torch.ones(6), atol=1e-5)
    if depth <= 5:
        assert torch.allclose(g, leaf_probs_recursive(tree, z), atol=1e-6)
    levels = tree.node_probs(z)
    assert [lv.shape[1] for lv in levels] == [arity ** l for l in range(depth + 1)]
    for lv in levels:                                             # every level is a partition
        assert torch.allclose(lv.sum(1), torch.ones(6), atol=1e-5)


def test_tree_output_is_gate_weighted_sum_of_linear_leaves():
    torch.manual_seed(0)
    tree = SoftTree(4, 6, depth=2, arity=2)
    z = torch.randn(3, 4)
    W = tree.leaves.view(4, 5, 6)                                 # K, d+1, |h|
    leaf_out = torch.einsum("bd,kdh->bkh", torch.cat([z, torch.ones(3, 1)], 1), W)
    expect = (tree.gates(z)[:, :, None] * leaf_out).sum(1)
    assert torch.allclose(tree(z), expect, atol=1e-6)


def test_binary_gate_is_sigmoid_left():
    tree = SoftTree(3, 2, depth=1, arity=2)
    z = torch.randn(4, 3)
    left = torch.sigmoid(z @ tree.gate.weight[0] + tree.gate.bias[0])
    assert torch.allclose(tree.gates(z)[:, 0], left, atol=1e-6)


def test_mix_linear_matches_loop():
    torch.manual_seed(1)
    pi = torch.rand(5, 3).softmax(1)
    z, W = torch.randn(5, 4), torch.randn(3 * 5, 2)
    loop = sum(pi[:, k:k + 1] * (torch.cat([z, torch.ones(5, 1)], 1) @ W[k * 5:(k + 1) * 5]) for k in range(3))
    assert torch.allclose(mix_linear(pi, z, W), loop, atol=1e-5)


def test_mixture_and_gated_gates_sum_to_one():
    z = torch.randn(8, 4)
    for head in (SoftMixture(4, 6, K=5), GatedHead(4, 6, K=5)):
        g = head.gates(z)
        assert g.shape == (8, 5) and torch.allclose(g.sum(1), torch.ones(8), atol=1e-5)


def test_multihead_uses_one_generator_per_sample():
    head = MultiHead(3, 4, K=3)
    z = torch.randn(6, 3)
    h, idx = head(z, torch.tensor([0, 1, 2, 0, 1, 2]))
    W = head.leaves.view(3, 4, 4)
    for b in range(6):
        assert torch.allclose(h[b], torch.cat([z[b], torch.ones(1)]) @ W[idx[b]], atol=1e-6)


def test_gated_head_is_hard_and_temperature_anneals():
    head = GatedHead(3, 4, K=4, tau0=1.0, rate=1e-4)
    head.train()
    z = torch.randn(16, 3, requires_grad=True)
    h, idx = head(z)
    assert h.shape == (16, 4) and idx.shape == (16,)
    h.sum().backward()                                            # straight-through gradient reaches the gate
    assert head.gate[0].weight.grad.abs().sum() > 0
    assert head.balance_loss() >= 0
    head.step.fill_(10_000)
    assert math.isclose(head.tau, math.exp(-1.0), rel_tol=1e-6)
    head.step.fill_(10 ** 7)
    assert head.tau == 0.01


def test_normal_prior_scale_multiplies_covariance():
    torch.manual_seed(0)
    z, k = Normal(3).sample(200_000, scale=2.0)
    assert z.shape == (200_000, 3) and (k == 0).all()
    assert torch.allclose(z.var(0), torch.full((3,), 2.0), rtol=0.02)


@pytest.mark.parametrize("learn", ["none", "diag", "full"])
def test_gmm_prior(learn):
    torch.manual_seed(0)
    p = GaussianMixture(K=4, d=3, c=1.0, var=0.2, learn=learn, seed=1)
    assert (p.mu.abs() <= 1.0).all()
    z, k = p.sample(40_000, scale=0.5)
    for j in range(4):
        zj = z[k == j]
        assert torch.allclose(zj.mean(0), p.mu[j].detach(), atol=0.03)
        assert torch.allclose(zj.var(0), torch.full((3,), 0.1), rtol=0.1)   # scale · σ
    assert p.log_prob(z[:5]).shape == (5,)
    assert sum(t.numel() for t in p.parameters()) == {"none": 0, "diag": 24, "full": 12 + 36}[learn]
    zk, kk = p.sample(7, k=2)
    assert (kk == 2).all()


def test_dynamic_prior_reparameterised():
    p = GaussianMixture(K=2, d=2, learn="full", seed=0)
    z, _ = p.sample(16)
    z.pow(2).sum().backward()
    assert p.mu.grad is not None and p.A.grad is not None


def test_truncation_keeps_most_likely():
    torch.manual_seed(0)
    p = Normal(2)
    z, _ = truncate(p, 300, keep=0.75)
    assert z.shape == (300, 2)
    # the dropped 25 % are the least likely: all kept points lie inside the 75 % radius of N(0, I)
    r75 = math.sqrt(-2 * math.log(0.25))
    assert (z.norm(dim=1) < r75 * 1.15).all()


@pytest.mark.parametrize("make,msg", [
    (lambda: SoftTree(2, 2, depth=0), "depth"),
    (lambda: SoftTree(2, 2, depth=9), "depth"),
    (lambda: SoftTree(2, 2, depth=2, arity=1), "arity"),
    (lambda: SoftMixture(2, 2, K=1), "K"),
    (lambda: MultiHead(2, 2, K=0), "K"),
    (lambda: GatedHead(2, 2, K=0), "K"),
    (lambda: GaussianMixture(K=0, d=2), "K"),
    (lambda: GaussianMixture(K=2, d=2, var=0), "var"),
    (lambda: GaussianMixture(K=2, d=2, var=-1), "var"),
    (lambda: Normal(2).sample(3, scale=0), "scale"),
])
def test_bad_input(make, msg):
    with pytest.raises(ValueError, match=msg):
        make()


def test_linear_head_shape():
    assert Linear(4, 9)(torch.randn(2, 4)).shape == (2, 9)


def test_per_generator_batchnorm_equals_one_batchnorm_per_generator():
    torch.manual_seed(0)
    norm = PerGeneratorBatchNorm(K=3, channels=4)
    x, idx = torch.randn(20, 4 * 16) * 3 + 1, torch.tensor([0, 1, 2, 0, 2] * 4)
    y = norm(x, idx)
    for k in range(3):
        bn = torch.nn.BatchNorm2d(4)
        bn.weight.data, bn.bias.data = norm.weight[k].detach().clone(), norm.bias[k].detach().clone()
        assert torch.allclose(y[idx == k], bn(x[idx == k].view(-1, 4, 4, 4)).flatten(1), atol=1e-5)
        assert torch.allclose(norm.running_mean[k], bn.running_mean, atol=1e-6)
        assert torch.allclose(norm.running_var[k], bn.running_var, atol=1e-5)
        bn.eval()
        norm.eval()
        assert torch.allclose(norm(x, idx)[idx == k], bn(x[idx == k].view(-1, 4, 4, 4)).flatten(1), atol=1e-5)
        norm.train()
    only0 = PerGeneratorBatchNorm(K=2, channels=3)
    only0(torch.randn(5, 3), torch.zeros(5, dtype=torch.long))          # generator 1 absent: its stats stay
    assert torch.equal(only0.running_mean[1], torch.zeros(3)) and torch.equal(only0.running_var[1], torch.ones(3))


def test_gated_head_eval_gate_sample_or_argmax():
    torch.manual_seed(0)
    head = GatedHead(3, 4, K=4).eval()
    with torch.no_grad():
        head.gate[2].bias.copy_(torch.tensor([1.0, 0.5, 0.0, -0.5]))    # a clearly non-uniform gate
        z = torch.randn(1, 3).expand(5000, 3)
        p = head.gates(z[:1])[0]
        h, idx = head(z)
    freq = torch.bincount(idx, minlength=4) / 5000.0
    assert (freq - p).abs().max() < 0.03                                 # Cat(softmax(logits)) by default
    W = head.leaves.view(4, 4, 4)
    assert torch.allclose(h[:8], torch.cat([z[:8], torch.ones(8, 1)], 1)[:, None, :].matmul(W[idx[:8]])[:, 0],
                          atol=1e-6)                                      # h is the chosen generator's output
    _, top = head(z, gate="argmax")
    assert (top == p.argmax()).all()
    with pytest.raises(ValueError, match="gate"):
        GatedHead(3, 4, K=4, eval_gate="mode")


@pytest.mark.parametrize("make", [lambda K: MLPBody(6, out=2, hidden=8, n_last=K),
                                  lambda K: DCGANBody(32, 1, base=4, n_last=K)])
def test_body_with_one_last_layer_per_generator(make):
    """n_last = K: the last layer is computed for all K generators at once; sample b keeps its own."""
    torch.manual_seed(0)
    body = make(3)
    h = torch.randn(5, body.h_dim)
    idx = torch.tensor([0, 2, 1, 2, 0])
    x = body(h, idx)
    full = body.net(h)
    full = full.view(5, 3, full.shape[1] // 3, *full.shape[2:])
    assert torch.allclose(x, full[torch.arange(5), idx])
    assert x.shape[1] == full.shape[2]
    with pytest.raises(ValueError, match="index"):
        body(h)
