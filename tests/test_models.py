"""Models of SPEC §3 at toy scale: one D and one G step each, sampling, save/load, errors.
(Image shapes are covered in tests/test_train.py.)"""
import pytest
import torch

import mixgan
from mixgan.models import MODELS, build, load


def step(model, x, y):
    opt_d = torch.optim.Adam(model.disc.parameters(), 1e-3)
    opt_g = torch.optim.Adam(model.g_parameters(), 1e-3)
    before = [p.detach().clone() for p in model.parameters()]
    d = model.d_loss(x, y)
    opt_d.zero_grad(); d.backward(); opt_d.step()
    g = model.g_loss(x, y, n=8)
    opt_g.zero_grad(); g.backward(); opt_g.step()
    changed = sum(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    return d, g, changed


@pytest.mark.parametrize("name", sorted(MODELS))
def test_one_d_and_one_g_step(name):
    torch.manual_seed(0)
    model = build(name, (2,), K=4, n_classes=3, hidden=16)
    x, y = torch.randn(8, 2), torch.randint(3, (8,))
    d, g, changed = step(model, x, y)
    assert torch.isfinite(d) and torch.isfinite(g)
    assert changed > 0
    for p in model.disc.parameters():      # the D step moved D, and the G step never touched D's grads' use
        assert p.grad is None or torch.isfinite(p.grad).all()
    s, idx = model.sample(5, return_index=True)
    assert s.shape == (5, 2)
    if idx is not None:
        assert idx.shape == (5,)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_save_load_same_samples(name, tmp_path):
    model = build(name, (2,), K=3, n_classes=3, hidden=8, seed=3)
    model.save(tmp_path / "m.pt")
    again = load(tmp_path / "m.pt")
    torch.manual_seed(7)
    a = model.sample(6)
    torch.manual_seed(7)
    b = again.sample(6)
    assert torch.equal(a, b)
    assert again.cfg == model.cfg


def test_api_names():
    m = build("hmog", (2,), depth=3)
    assert all(hasattr(m, k) for k in ("prior", "head", "body", "disc"))
    assert m.z_dim == 2 and m.head.gates(torch.randn(4, 2)).shape == (4, 8)
    x, leaf = m.sample(4, return_index=True)
    assert x.shape == (4, 2)


def test_num_params_excludes_body():
    fc, hm = build("fc", (1, 32, 32), base=8), build("hmog", (1, 32, 32), base=8, depth=2)
    h = fc.body.h_dim
    assert fc.num_params() == 100 * h + h                              # z 100 -> |h| linear
    assert hm.num_params() == 4 * 101 * h + 3 * 101                    # 4 leaves + 3 binary gates
    assert hm.num_params() < sum(p.numel() for p in hm.parameters())


def test_any_prior_with_any_head():
    m = build("hmog", (2,), prior="gmm", K=4, depth=2, z_dim=6)
    assert isinstance(m.prior, mixgan.nets.GaussianMixture) and m.head.K == 4
    x, k = m.sample(10, return_index=True)
    assert x.shape == (10, 2) and k.max() < 4


def test_supervised_mapping_k_greater_than_n():
    m = build("mmgan_supervised", (2,), K=6, n_classes=3)
    assert m.mapping.tolist() == [0, 1, 2, 0, 1, 2]
    _, k = m.sample(20, return_index=True, k=4)
    assert (k == 4).all()


def test_sigma_scale_and_truncation():
    m = build("mmgan_static", (2,), K=3)
    assert m.sample(50, scale=0.5).shape == (50, 2)
    assert m.sample(40, truncate=0.75).shape == (40, 2)


@pytest.mark.parametrize("kw,msg", [
    (dict(name="nope"), "unknown model"),
    (dict(name="hmog", depth=0), "depth"),
    (dict(name="hmog", depth=9), "depth"),
    (dict(name="hmog", arity=1), "arity"),
    (dict(name="mog", K=0), "K"),
    (dict(name="madgan", K=0), "K"),
    (dict(name="mmgan_static", var=0.0), "var"),
    (dict(name="mmgan_static", var=-0.1), "var"),
    (dict(name="mmgan_supervised", K=4, n_classes=2, mapping=[0, 1, 0]), "mapping"),
    (dict(name="hmog", colour="red"), "unknown option"),
    (dict(name="hmog", loss="hinge"), "unknown loss"),
])
def test_bad_input(kw, msg):
    kw = dict(kw)
    with pytest.raises(ValueError, match=msg):
        build(kw.pop("name"), (2,), **kw)


def test_supervised_needs_labels():
    m = build("mmgan_supervised", (2,), K=3, n_classes=3)
    with pytest.raises(ValueError, match="supervised"):
        m.d_loss(torch.randn(4, 2))


def test_pacgan_packing():
    m = build("mmgan_static", (1, 32, 32), K=3, base=4, pack=2, batch_size=8, g_batch_size=8)
    assert m.disc.disc.trunk[0].in_channels == 2                       # two samples per pack, along channels
    x = torch.randn(8, 1, 32, 32)
    out, aux = m.disc.eval()(x)                                        # eval: BatchNorm without batch coupling
    assert out.shape == (4, 1) and aux is None
    assert torch.allclose(out[1], m.disc.disc(torch.cat([x[2], x[3]])[None])[0][0])   # pack 1 = samples 2, 3
    m.train()
    for loss in (m.d_loss(x), m.g_loss(x)):
        assert loss.ndim == 0 and torch.isfinite(loss)
    toy = build("gan", (2,), hidden=8, pack=3)
    assert toy.disc(torch.randn(6, 2))[0].shape == (2, 1)
    with pytest.raises(ValueError, match="multiple of 3"):
        toy.disc(torch.randn(4, 2))
    with pytest.raises(ValueError, match="pack"):
        build("hmog", (2,), pack=2)                                     # WGAN-GP: per-sample penalty, no packing
    with pytest.raises(ValueError, match="pack"):
        build("gan", (2,), pack=0)
