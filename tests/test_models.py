"""Models at toy scale: one D and one G step each, sampling, save/load, errors, and the
papers' layouts. (Image shapes are covered in tests/test_train.py.)"""
from pathlib import Path

import pytest
import torch

import mixgan
from mixgan import losses as L
from mixgan.models import MODELS, build, load

ROOT = Path(__file__).resolve().parents[1]


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
    (dict(name="mmgan_supervised", K=2, n_classes=3), "without a Gaussian"),
    (dict(name="mmgan_supervised", K=3, n_classes=3, mapping=[0, 0, 1]), "without a Gaussian"),
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


# ---- correctness against the papers ----------------------------------------------------------

@pytest.mark.parametrize("loss,g", [("wgan_gp", L.g_wgan), ("nonsaturating", L.g_nonsaturating)])
def test_megan_generator_loss_follows_the_configured_loss(loss, g):
    """MEGAN's G loss = the configured loss + the decaying load-balancing term (not always non-saturating)."""
    m = build("megan", (2,), K=4, hidden=16, loss=loss, balance=0.5)
    x = torch.randn(8, 2)
    torch.manual_seed(1)
    got = m.g_loss(x, n=8)
    torch.manual_seed(1)
    x_fake, _ = m._fake(8)                                       # the same fake batch, the same gate usage
    f = m.disc(x_fake)[0]
    bal = 0.5 * m.head.tau / m.head.tau0 * m.head.balance_loss()
    assert bal > 0
    assert torch.allclose(got, g(f) + bal, atol=1e-6)


def test_megan_eval_draws_the_gate_like_training():
    """sample() draws the generator from the gate's softmax (training's distribution); argmax is an option."""
    m = build("megan", (2,), K=4, hidden=16, seed=0)
    torch.manual_seed(0)
    _, idx = m.sample(4000, return_index=True)
    torch.manual_seed(0)
    z, _ = m.prior.sample(4000)                                  # the z that sample() drew
    with torch.no_grad():
        p = m.head.gates(z)
    usage = torch.bincount(idx, minlength=4).double() / 4000
    assert (usage - p.mean(0).double()).abs().max() < 0.03
    assert (usage > 0.05).all()                                   # every generator is used
    one = z[:1].expand(4000, 2)                                   # one z, many draws: Cat(softmax(logits(z)))
    m.head.eval()
    _, i1 = m.head(one)
    assert (torch.bincount(i1, minlength=4).double() / 4000 - p[0].double()).abs().max() < 0.03
    _, i2 = m.head(one, gate="argmax")
    assert (i2 == p[0].argmax()).all()
    m.head.eval_gate = "argmax"
    torch.manual_seed(0)
    _, idx = m.sample(500, return_index=True)
    torch.manual_seed(0)
    z, _ = m.prior.sample(500)
    with torch.no_grad():
        assert torch.equal(idx, m.head.gates(z).argmax(1))
    with pytest.raises(ValueError, match="gate"):
        m.head.eval_gate = "max"


def test_acgan_truncation_keeps_classes_uniform():
    m = build("acgan", (2,), n_classes=5, hidden=8)
    torch.manual_seed(0)
    x, y = m.sample(1000, truncate=0.75, return_index=True)
    assert x.shape == (1000, 2)
    counts = torch.bincount(y, minlength=5)
    assert (counts > 150).all(), counts                           # uniform classes, not all class 0
    _, y3 = m.sample(20, truncate=0.75, return_index=True, k=3)
    assert (y3 == 3).all()
    with pytest.raises(ValueError, match="truncate"):
        build("mmgan_static", (2,), K=3).sample(10, truncate=0.75, k=1)


def test_supervised_default_mapping_reaches_every_class():
    m = build("mmgan_supervised", (2,))                          # N = 10 classes -> K = 10
    assert m.cfg.K == 10 and sorted(m.mapping.tolist()) == list(range(10))
    torch.manual_seed(0)
    _, k = m.sample(2000, return_index=True)
    assert set(m.mapping[k].tolist()) == set(range(10))          # every class is generated
    assert build("mmgan_supervised", (2,), n_classes=4).cfg.K == 4
    with pytest.raises(ValueError, match="without a Gaussian"):
        build("mmgan_supervised", (2,), K=8)                     # k mod 10 never reaches classes 8, 9
    m = build("mmgan_supervised", (2,), K=8, allow_unmapped=True)
    assert m.mapping.tolist() == list(range(8))


def test_stored_image_checkpoint_still_loads():
    """Checkpoints written before gen_norm / multi_share existed rebuild the same (BatchNorm) body."""
    m = load(ROOT / "results" / "hmog_d4_mnist_cpu" / "model.pt")
    assert m.cfg.gen_norm == "batch" and m.cfg.multi_share == "body"
    assert any(isinstance(x, torch.nn.BatchNorm2d) for x in m.body.modules())


def test_hmog_authors_body_has_no_batchnorm():
    plain = build("hmog", (1, 32, 32), base=4, depth=2, gen_norm="none")
    assert not any(isinstance(x, torch.nn.BatchNorm2d) for x in plain.body.modules())
    dcgan = build("hmog", (1, 32, 32), base=4, depth=2)
    assert sum(isinstance(x, torch.nn.BatchNorm2d) for x in dcgan.body.modules()) == 3   # h + 2 hidden convs
    with pytest.raises(ValueError, match="gen_norm"):
        build("hmog", (2,), gen_norm="none")                     # toys: body_norm
    with pytest.raises(ValueError, match="gen_norm"):
        build("hmog", (1, 32, 32), base=4, gen_norm="layer")
    with pytest.raises(ValueError, match="per_generator"):
        build("hmog", (1, 32, 32), base=4, gen_norm="per_generator")


def test_mgan_per_generator_batchnorm():
    m = build("mgan", (1, 32, 32), base=4, K=3, gen_norm="per_generator")
    assert m.head.norm is not None and m.head.norm.weight.shape == (3, m.body.width)
    assert not isinstance(m.body.net[1], torch.nn.BatchNorm2d)            # h is normalised per generator
    z, idx = torch.randn(12, 100), torch.tensor([0, 1, 2] * 4)
    h, _ = m.head(z, idx)
    raw = torch.einsum("bd,bdh->bh", torch.cat([z, torch.ones(12, 1)], 1), m.head.leaves.view(3, 101, -1)[idx])
    for k in range(3):                                                    # BatchNorm2d on generator k's samples
        bn = torch.nn.BatchNorm2d(m.body.width)
        bn.weight.data, bn.bias.data = m.head.norm.weight[k].detach(), m.head.norm.bias[k].detach()
        want = bn(raw[idx == k].view(-1, m.body.width, 4, 4)).flatten(1)
        assert torch.allclose(h[idx == k], want, atol=1e-4)


def test_madgan_paper_layout_shares_all_but_the_last_layer():
    m = build("madgan", (1, 32, 32), base=4, K=3, multi_share="all_but_last")
    assert m.head.K == 3 and m.head.leaves.shape[0] == 101 and m.body.n_last == 3   # one shared first layer
    z = torch.randn(4, 100)
    m.eval()
    x0, _ = m.generate(z, index=torch.zeros(4, dtype=torch.long))
    x1, _ = m.generate(z, index=torch.ones(4, dtype=torch.long))
    assert x0.shape == (4, 1, 32, 32) and not torch.allclose(x0, x1)
    last = m.body.net[-2]                                                  # K·c output channels
    assert last.out_channels == 3
    assert m.num_params() == sum(p.numel() for p in m.head.parameters()) + sum(p.numel() for p in last.parameters())
    toy = build("madgan", (2,), K=3, hidden=8, multi_share="all_but_last")
    assert toy.body.net[-1].out_features == 6
    with pytest.raises(ValueError, match="multi"):
        build("hmog", (2,), multi_share="all_but_last")
    with pytest.raises(ValueError, match="multi_share"):
        build("madgan", (2,), multi_share="last")


LAYOUTS = [("madgan", (2,), dict(multi_share="all_but_last")),
           ("mgan", (2,), dict(multi_share="all_but_last")),
           ("madgan", (1, 32, 32), dict(multi_share="all_but_last", base=4)),
           ("mgan", (1, 32, 32), dict(gen_norm="per_generator", base=4)),
           ("madgan", (1, 32, 32), dict(gen_norm="per_generator", base=4)),
           ("hmog", (1, 32, 32), dict(gen_norm="none", base=4, depth=2)),
           ("gan", (1, 32, 32), dict(gen_norm="none", base=4))]


@pytest.mark.parametrize("name,shape,kw", LAYOUTS)
def test_paper_layouts_train_and_reload(name, shape, kw, tmp_path):
    torch.manual_seed(0)
    model = build(name, shape, K=3, hidden=16, batch_size=8, g_batch_size=8, **kw)
    x, y = torch.randn(8, *shape).clamp(-1, 1), torch.randint(3, (8,))
    d, g, changed = step(model, x, y)
    assert torch.isfinite(d) and torch.isfinite(g) and changed > 0
    model.save(tmp_path / "m.pt")
    again = load(tmp_path / "m.pt")
    assert again.cfg == model.cfg
    torch.manual_seed(7)
    a, ia = model.sample(6, return_index=True)
    torch.manual_seed(7)
    b, ib = again.sample(6, return_index=True)
    assert torch.equal(a, b) and (ia is None or torch.equal(ia, ib))
