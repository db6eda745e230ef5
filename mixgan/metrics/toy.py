"""Toy mode metrics (the PacGAN / VEEGAN protocol) and the NLL of the MM-GAN paper's Fig. 4.3."""
import torch


def toy_scores(samples, spec, threshold=3.0):
    """Score 2-D samples [n, 2] against a toy's true mixture `spec` (means [M,2], std, weights).

    For each sample, r = min_m ‖x − μ_m‖ / std (distance to the nearest mode in standard deviations):
      high_quality = fraction of samples with r < threshold (within 3 std),
      modes        = number of modes with at least one high-quality sample,
      kl           = reverse KL Σ_m p̂_m log(p̂_m / w_m) of the nearest-mode histogram p̂
                     of all samples to the true weights w,
      nll          = −mean log p_true(x) under the true mixture.
    Returns a dict of floats (modes as int).
    """
    x = torch.as_tensor(samples, dtype=torch.float32)
    if x.dim() != 2 or x.shape[1] != spec.means.shape[1]:
        raise ValueError(f"samples must be [n, {spec.means.shape[1]}], got {tuple(x.shape)}")
    if len(x) < 1:
        raise ValueError("toy_scores needs at least one sample")
    if not torch.isfinite(x).all():
        raise ValueError("samples contain NaN or inf")
    means, w = spec.means.float(), spec.weights.float()
    dist, nearest = (torch.cdist(x, means) / spec.std).min(1)
    hq = dist < threshold
    M = len(means)
    covered = torch.bincount(nearest[hq], minlength=M) > 0
    p = torch.bincount(nearest, minlength=M).float() / len(x)
    nz = p > 0
    kl = (p[nz] * (p[nz] / w[nz]).log()).sum()
    nll = -spec.log_prob(x).mean()
    return {"modes": int(covered.sum()), "high_quality": float(hq.float().mean()),
            "kl": float(kl), "nll": float(nll)}
