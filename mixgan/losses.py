"""GAN losses as pure functions on tensors.

Notation: ``r`` / ``f`` are discriminator outputs (logits or critic scores) on real /
fake batches, s(·) the logistic sigmoid, log s(x) = −softplus(−x).  Each function
returns a scalar to *minimise*; ``d_*`` for the discriminator, ``g_*`` for the generator.
"""
import torch
import torch.nn.functional as F

from .nets import noise


# --- standard GAN (HMoG paper eq. 1) --------------------------------------------------
def d_nonsaturating(r, f):
    """L_D = −E log s(r) − E log(1 − s(f)) = E softplus(−r) + E softplus(f)."""
    return F.softplus(-r).mean() + F.softplus(f).mean()


def g_nonsaturating(f):
    """Non-saturating generator loss L_G = −E log s(f) = E softplus(−f)."""
    return F.softplus(-f).mean()


# --- WGAN-GP (HMoG paper eq. 8, Gulrajani et al. 2017) ----------------------------------
def gradient_penalty(critic, real, fake):
    """E_x̂ (‖∇_x̂ C(x̂)‖₂ − 1)², x̂ = ε x_r + (1 − ε) x_f, ε ~ U[0,1] per sample.

    The norm is taken over ALL dimensions of each sample (one norm per sample), not per
    pixel / channel as in the HMoG reference code.  `critic` maps x -> [B, 1] scores.
    """
    eps = noise.rand(real.shape[0], *[1] * (real.dim() - 1), device=real.device, dtype=real.dtype)
    x = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2).mean()


def d_wgan_gp(r, f, gp, lam=10.0):
    """L_C = E C(x_f) − E C(x_r) + λ·GP."""
    return f.mean() - r.mean() + lam * gp


def g_wgan(f):
    """L_G = −E C(G(z))."""
    return -f.mean()


# --- relativistic (MMGAN, Pandeva & Schubert's slides, Algorithm 1) ----------------------
def d_relativistic(r, f):
    """L_D = −E log s(C(x_r) − C(x_f))  (pairs r_i, f_i)."""
    return F.softplus(-(r - f)).mean()


def g_relativistic(r, f):
    """L_G = −E log s(C(x_f) − C(x_r))."""
    return F.softplus(-(f - r)).mean()


# --- MADGAN (HMoG paper eq. 2–3) --------------------------------------------------------
def d_madgan(r_logits, f_logits, index):
    """(K+1)-way cross-entropy: real -> class 0, fake of generator i -> class i+1.
    r_logits, f_logits [B, K+1]; index [B] in 0..K−1."""
    zeros = torch.zeros(r_logits.shape[0], dtype=torch.long, device=r_logits.device)
    return F.cross_entropy(r_logits, zeros) + F.cross_entropy(f_logits, index + 1)


def g_madgan(f_logits):
    """L_G = −E log softmax(D(G(z)))_0  (fool D into 'real')."""
    return -F.log_softmax(f_logits, 1)[:, 0].mean()


# --- MGAN (HMoG paper eq. 4, Hoang et al. 2018) -------------------------------------------
def d_mgan(r, f, c_logits, index):
    """D and classifier C share one trunk: L = L_D^GAN + CE(C(x_f), i), C's cross-entropy
    on the fakes (which generator made them)."""
    return d_nonsaturating(r, f) + F.cross_entropy(c_logits, index)


def g_mgan(f, c_logits, index, beta=0.01):
    """L_G = −E log s(f) + β·CE(C(G_i(z)), i): fakes must be real AND tell their generator."""
    return g_nonsaturating(f) + beta * F.cross_entropy(c_logits, index)


# --- supervised MM-GAN (Ben-Yosef & Weinshall, eq. 2.5–2.6) --------------------------------
def d_supervised_mm(r_logits, y, f_logits):
    """N per-class sigmoids.  Real of class y: −log s(o_y) − Σ_{m≠y} log(1 − s(o_m));
    fake: −Σ_m log(1 − s(o_m)).  Summed over classes, averaged over the batch."""
    target = F.one_hot(y, r_logits.shape[1]).to(r_logits.dtype)
    real = F.binary_cross_entropy_with_logits(r_logits, target, reduction="sum") / len(y)
    fake = F.softplus(f_logits).sum(1).mean()
    return real + fake


def g_supervised_mm(f_logits, k, mapping):
    """L_G = −log s(o_f(k)) − Σ_{m≠f(k)} log(1 − s(o_m)) for z drawn from Gaussian k.
    mapping [K] holds f: [K] -> [N] (bijective K=N, surjective K>N; K<N only when allowed)."""
    target = F.one_hot(mapping[k], f_logits.shape[1]).to(f_logits.dtype)
    return F.binary_cross_entropy_with_logits(f_logits, target, reduction="sum") / len(k)


# --- AC-GAN (Odena et al. 2017) --------------------------------------------------------------
def d_acgan(r, f, r_cls, y_real, f_cls, y_fake):
    """L_D = L_D^GAN + CE(aux(x_r), y_r) + CE(aux(x_f), y_f)."""
    return d_nonsaturating(r, f) + F.cross_entropy(r_cls, y_real) + F.cross_entropy(f_cls, y_fake)


def g_acgan(f, f_cls, y_fake):
    """L_G = −E log s(f) + CE(aux(G(z, y)), y)."""
    return g_nonsaturating(f) + F.cross_entropy(f_cls, y_fake)


# --- MMGAN encoder term (Pandeva & Schubert's slides, Algorithm 1 line 11) ------------------
def encoder_term(e_logits, y_prior, alpha=1.0):
    """α · (−log p_E(y^p | x_f^p)): the encoder must recover the component a fake came from."""
    return alpha * F.cross_entropy(e_logits, y_prior)


def check_mapping(mapping, K, N, allow_unmapped=False):
    """Validate f: [K] -> [N] for the supervised MM-GAN; returns a LongTensor [K].

    f must reach every class (a class no Gaussian maps to is never generated, while D still
    learns it from the real data): ValueError unless `allow_unmapped`."""
    m = torch.as_tensor(mapping, dtype=torch.long)
    if m.dim() != 1 or len(m) != K:
        raise ValueError(f"mapping f must list one class per Gaussian: expected length K={K}, got {tuple(m.shape)}")
    if len(m) and (m.min() < 0 or m.max() >= N):
        raise ValueError(f"mapping f must take values in 0..{N - 1} (N={N} classes), got {m.tolist()}")
    missing = sorted(set(range(N)) - set(m.tolist()))
    if missing and not allow_unmapped:
        raise ValueError(f"mapping f leaves class(es) {missing} without a Gaussian (K={K}, N={N}): they would "
                         "never be generated; use K >= N, or pass allow_unmapped=True to accept it")
    return m
