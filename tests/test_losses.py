"""Each loss on a hand-computed case (mixgan/losses.py)."""
import math

import pytest
import torch

from mixgan import losses as L

t = torch.tensor
log, sig = math.log, lambda x: 1 / (1 + math.exp(-x))


def close(a, b):
    a = float(a.detach()) if torch.is_tensor(a) else float(a)
    assert abs(a - b) < 1e-5, (a, b)


def test_nonsaturating():
    close(L.d_nonsaturating(t([0.0, 2.0]), t([1.0])), -(log(0.5) + log(sig(2))) / 2 - log(1 - sig(1)))
    close(L.g_nonsaturating(t([0.0, -1.0])), -(log(0.5) + log(sig(-1))) / 2)


def test_wgan():
    close(L.d_wgan_gp(t([1.0, 3.0]), t([0.5]), gp=t(0.2), lam=10), 0.5 - 2.0 + 2.0)
    close(L.g_wgan(t([1.0, 3.0])), -2.0)


def test_gradient_penalty_is_one_norm_per_sample():
    # critic C(x) = Σ w ⊙ x  ->  ∇C = w for every sample: ‖w‖ over ALL dims (C×H×W), not per pixel
    w = torch.arange(1.0, 13.0).view(1, 3, 2, 2)
    critic = lambda x: (x * w).flatten(1).sum(1, keepdim=True)
    real, fake = torch.randn(4, 3, 2, 2), torch.randn(4, 3, 2, 2)
    close(L.gradient_penalty(critic, real, fake), (w.norm() - 1).item() ** 2)
    # per-sample: a critic whose gradient norm differs by sample -> mean of per-sample terms
    critic2 = lambda x: 0.5 * x.pow(2).flatten(1).sum(1, keepdim=True)    # ∇ = x̂
    real = torch.zeros(2, 1, 1, 2)
    fake = t([[[[3.0, 4.0]]], [[[0.0, 0.0]]]])                             # norms ε·... see below
    torch.manual_seed(0)
    eps = torch.rand(2, 1, 1, 1)
    torch.manual_seed(0)
    gp = L.gradient_penalty(critic2, real, fake)
    norms = ((1 - eps.view(-1)) * t([5.0, 0.0]))
    close(gp, ((norms - 1) ** 2).mean().item())


def test_relativistic():
    close(L.d_relativistic(t([2.0]), t([1.0])), -log(sig(1.0)))
    close(L.g_relativistic(t([2.0]), t([1.0])), -log(sig(-1.0)))


def test_madgan():
    r = t([[2.0, 0.0, 0.0]])
    f = t([[0.0, 1.0, 0.0]])
    p = lambda v, i: math.exp(v[i]) / sum(math.exp(u) for u in v)
    close(L.d_madgan(r, f, t([0])), -log(p([2, 0, 0], 0)) - log(p([0, 1, 0], 1)))
    close(L.g_madgan(f), -log(p([0, 1, 0], 0)))


def test_mgan():
    c = t([[1.0, 0.0]])
    ce = -log(math.exp(1) / (math.exp(1) + 1))
    close(L.d_mgan(t([0.0]), t([0.0]), c, t([0])), -2 * log(0.5) + ce)
    close(L.g_mgan(t([0.0]), c, t([0]), beta=0.5), -log(0.5) + 0.5 * ce)


def test_supervised_mm_eq_2_5_and_2_6():
    o_r, o_f = t([[1.0, -1.0, 0.5]]), t([[0.2, 0.0, -0.3]])
    real = -log(sig(-1.0)) - log(1 - sig(1.0)) - log(1 - sig(0.5))        # class y = 1
    fake = -sum(log(1 - sig(v)) for v in (0.2, 0.0, -0.3))
    close(L.d_supervised_mm(o_r, t([1]), o_f), real + fake)
    mapping = t([2, 0])                                                    # f: K=2 -> N=3
    g = -log(sig(-0.3)) - log(1 - sig(0.2)) - log(1 - sig(0.0))           # z from Gaussian 0 -> class 2
    close(L.g_supervised_mm(o_f, t([0]), mapping), g)


def test_acgan():
    cls = t([[2.0, 0.0]])
    ce0 = -log(math.exp(2) / (math.exp(2) + 1))
    close(L.d_acgan(t([0.0]), t([0.0]), cls, t([0]), cls, t([0])), -2 * log(0.5) + 2 * ce0)
    close(L.g_acgan(t([0.0]), cls, t([0])), -log(0.5) + ce0)


def test_encoder_term():
    close(L.encoder_term(t([[0.0, 0.0]]), t([1]), alpha=2.0), 2 * log(2))


@pytest.mark.parametrize("mapping,K,N", [([0, 1], 3, 2), ([0, 1, 5], 3, 2), ([[0, 1, 2]], 3, 3)])
def test_bad_mapping(mapping, K, N):
    with pytest.raises(ValueError, match="mapping"):
        L.check_mapping(mapping, K, N)


@pytest.mark.parametrize("mapping,K,N", [([0, 1, 2], 3, 3), ([0, 1, 0, 1], 4, 2)])
def test_mapping_kinds(mapping, K, N):
    """bijective (K=N) and surjective (K>N) mappings reach every class."""
    assert L.check_mapping(mapping, K, N).tolist() == mapping


@pytest.mark.parametrize("mapping,K,N", [([0, 2], 2, 3), ([0, 1, 0, 1, 0, 1, 0, 1], 8, 10)])
def test_mapping_leaving_a_class_out_needs_allow_unmapped(mapping, K, N):
    """A class without a Gaussian is never generated: an error unless explicitly allowed."""
    with pytest.raises(ValueError, match="without a Gaussian"):
        L.check_mapping(mapping, K, N)
    assert L.check_mapping(mapping, K, N, allow_unmapped=True).tolist() == mapping
