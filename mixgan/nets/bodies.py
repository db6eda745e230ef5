"""Shared generator bodies B_s: h [B, |h|] -> x, and discriminators x -> (logits, aux).

``DCGANBody`` is the transposed-conv part of DCGAN shared by every model (HMoG paper,
§IV-B); ``MLPBody`` / ``MLPDisc`` are the 2-D toy versions.  Discriminators return a
pair ``(out [B, n_out], aux [B, n_aux] or None)``: 1 score (GAN / WGAN critic), K+1
logits (MADGAN) or N sigmoid logits (supervised MM-GAN), plus an optional auxiliary
classifier head on the same trunk (MGAN's C, AC-GAN's class head).
"""
import torch
import torch.nn as nn

SIZES = (28, 32, 64)


def init_dcgan(module):
    """DCGAN initialisation: conv / linear weights N(0, 0.02), norm scales N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def check_size(size):
    if size not in SIZES:
        raise ValueError(f"unsupported image size {size}: supported sizes are {SIZES}")


def body_width(size, base=64):
    """Channels of the 4×4 input of DCGANBody: 4·base (28/32 px) or 8·base (64 px)."""
    check_size(size)
    return base * (8 if size == 64 else 4)


def _pick(x, index, n_last):
    """Keep generator index[b]'s output of sample b: x [B, n_last·C, …] -> [B, C, …]."""
    if n_last == 1:
        return x
    if index is None:
        raise ValueError(f"this body has {n_last} last layers (one per generator): pass the generator index")
    x = x.view(x.shape[0], n_last, x.shape[1] // n_last, *x.shape[2:])
    return x[torch.arange(x.shape[0], device=x.device), index]


class MLPBody(nn.Module):
    """Toy body: h -> ReLU -> [Linear -> ReLU] × layers -> Linear -> x (2-D).

    norm="batch" puts a BatchNorm1d before each ReLU (on h, then after each hidden
    Linear), as ``DCGANBody`` does after the head; "none" (default) has no norm.
    n_last = K > 1 gives K last layers, one per generator (MADGAN's layout): the last
    Linear computes all K outputs at once and ``forward(h, index)`` keeps sample b's own.
    """

    def __init__(self, h, out=2, hidden=128, layers=2, norm="none", n_last=1):
        super().__init__()
        if norm not in ("none", "batch"):
            raise ValueError(f"body norm must be 'none' or 'batch', got {norm!r}")
        if int(n_last) < 1:
            raise ValueError(f"n_last (last layers, one per generator) must be >= 1, got {n_last}")
        bn = (lambda n: [nn.BatchNorm1d(n)]) if norm == "batch" else (lambda n: [])
        mods, width = bn(h) + [nn.ReLU()], h
        for _ in range(layers):
            mods += [nn.Linear(width, hidden), *bn(hidden), nn.ReLU()]
            width = hidden
        self.n_last = int(n_last)
        self.net = nn.Sequential(*mods, nn.Linear(width, out * self.n_last))
        self.h_dim = h

    def forward(self, h, index=None):
        """x [B, out]; index [B] picks the last layer when n_last > 1 (ignored otherwise)."""
        return _pick(self.net(h), index, self.n_last)

    def own_parameters(self):
        """The per-generator last layer's parameters (none when n_last = 1)."""
        return list(self.net[-1].parameters()) if self.n_last > 1 else []


class DCGANBody(nn.Module):
    """h = C×4×4 -> image in [-1, 1] by stride-2 transposed convs (k4 s2 p1), BN, ReLU, tanh.

    size 32:  256×4×4 -> 128×8×8 -> 64×16×16 -> c×32×32   (HMoG reference body)
    size 28:  256×4×4 -> 128×7×7 (k3) -> 64×14×14 -> c×28×28
    size 64:  512×4×4 -> 256×8×8 -> 128×16×16 -> 64×32×32 -> c×64×64

    norm: where BatchNorm goes.
      "batch" (default, DCGAN): BatchNorm2d on h and after each hidden transposed conv.
      "none": no BatchNorm anywhere, the layout of the HMoG authors' generator code.  That code
        also feeds h to the first transposed conv without a ReLU and has no output tanh; the
        kit keeps both (outputs stay in [-1, 1] like the data).
      "per_generator": no BatchNorm on h here (the head normalises h per generator, MGAN's
        reference layout, see ``heads.MultiHead``), BatchNorm2d after each hidden conv.
    The default stays "batch" (as in DCGAN's generator): the kit's
    stored image models and measured results use it; "none" gives the HMoG authors' body.
    n_last = K > 1: K last transposed convs, one per generator (MADGAN's layout), computed as
    one conv with K·c output channels; ``forward(h, index)`` keeps sample b's own.
    """

    NORMS = ("batch", "none", "per_generator")

    def __init__(self, size=32, channels=1, base=64, norm="batch", n_last=1):
        super().__init__()
        if norm not in self.NORMS:
            raise ValueError(f"image body norm must be one of {self.NORMS}, got {norm!r}")
        if int(n_last) < 1:
            raise ValueError(f"n_last (last layers, one per generator) must be >= 1, got {n_last}")
        self.width = body_width(size, base)
        self.h_dim = self.width * 16
        self.n_last = int(n_last)
        bn = (lambda n: [nn.BatchNorm2d(n)]) if norm != "none" else (lambda n: [])
        ch = [self.width // 2 ** i for i in range(4 if size == 64 else 3)]   # 256,128,64 (+ …)
        mods = [nn.Unflatten(1, (self.width, 4, 4)), *(bn(self.width) if norm == "batch" else []), nn.ReLU(True)]
        for i, (cin, cout) in enumerate(zip(ch[:-1], ch[1:])):
            k = 3 if (size == 28 and i == 0) else 4                              # 4 -> 7 for 28 px
            mods += [nn.ConvTranspose2d(cin, cout, k, 2, 1, bias=False), *bn(cout), nn.ReLU(True)]
        mods += [nn.ConvTranspose2d(ch[-1], channels * self.n_last, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*mods)
        init_dcgan(self)

    def forward(self, h, index=None):
        """x [B, c, size, size]; index [B] picks the last layer when n_last > 1 (ignored otherwise)."""
        return _pick(self.net(h), index, self.n_last)

    def own_parameters(self):
        """The per-generator last layers' parameters (none when n_last = 1)."""
        return list(self.net[-2].parameters()) if self.n_last > 1 else []


class _Disc(nn.Module):
    """Trunk -> feature vector; linear heads for the main output and the auxiliary one."""

    def __init__(self, trunk, feat, out=1, aux=0):
        super().__init__()
        self.trunk, self.out = trunk, nn.Linear(feat, out)
        self.aux = nn.Linear(feat, aux) if aux else None

    def forward(self, x):
        f = self.trunk(x)
        return self.out(f), (self.aux(f) if self.aux is not None else None)


class Packed(nn.Module):
    """PacGAN packing (Lin et al. 2018): D judges m samples at once, concatenated along channels.

    x [B, C, …] -> [B/m, m·C, …] -> disc -> (out [B/m, n], aux).  `disc` must take m·C input
    channels.  Samples i·m … i·m+m−1 form pack i, so real and fake batches must not be mixed.
    """

    def __init__(self, disc, m):
        super().__init__()
        self.disc, self.m = disc, m

    def forward(self, x):
        if x.shape[0] % self.m:
            raise ValueError(f"PacGAN packing of {self.m}: the batch ({x.shape[0]}) must be a multiple of {self.m}")
        return self.disc(x.reshape(x.shape[0] // self.m, self.m * x.shape[1], *x.shape[2:]))


class MLPDisc(_Disc):
    """Toy discriminator: x (2-D) -> [Linear -> LeakyReLU(0.2)] × layers."""

    def __init__(self, inp=2, hidden=128, layers=3, out=1, aux=0):
        mods, width = [], inp
        for _ in range(layers):
            mods += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
            width = hidden
        super().__init__(nn.Sequential(*mods), hidden, out, aux)


class DCGANDisc(_Disc):
    """Critic convs c -> 64 -> 128 -> 256 (-> 512 at 64 px), k4 s2 p1, LeakyReLU 0.2.

    norm="layer" (LayerNorm over C×H×W, what a WGAN-GP critic needs: no batch coupling,
    so the per-sample gradient penalty is well defined), "batch" or "none".
    32 px: 32 -> 16 -> 8 -> 4;  28 px: 28 -> 14 -> 7 -> 4 (last conv k3);  64 px: … -> 4.
    """

    def __init__(self, size=32, channels=1, out=1, aux=0, norm="layer", base=64):
        check_size(size)
        if norm not in ("layer", "batch", "none"):
            raise ValueError(f"norm must be 'layer', 'batch' or 'none', got {norm!r}")
        n = 4 if size == 64 else 3
        ch = [channels] + [base * 2 ** i for i in range(n)]
        mods, res = [], size
        for i, (cin, cout) in enumerate(zip(ch[:-1], ch[1:])):
            k = 3 if (size == 28 and i == n - 1) else 4
            mods.append(nn.Conv2d(cin, cout, k, 2, 1))
            res = (res + 2 - k) // 2 + 1
            if i > 0 and norm == "layer":
                mods.append(nn.LayerNorm([cout, res, res]))
            elif i > 0 and norm == "batch":
                mods.append(nn.BatchNorm2d(cout))
            mods.append(nn.LeakyReLU(0.2, True))
        super().__init__(nn.Sequential(*mods, nn.Flatten()), ch[-1] * 16, out, aux)
        init_dcgan(self)
