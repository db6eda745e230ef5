"""Fréchet distance between Gaussian fits of two feature sets (the "F" of FID), and input checks.

    FD(f1, f2) = ‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2 tr (Σ1 Σ2)^{1/2}

with μ, Σ the mean and unbiased covariance (divisor n − 1) of each feature set [n, d].
The only hard part is tr (Σ1 Σ2)^{1/2}. Σ1 Σ2 is not symmetric, but it is similar to the
symmetric PSD matrix Σ1^{1/2} Σ2 Σ1^{1/2}, so its eigenvalues λ_i are real and ≥ 0 and
tr (Σ1 Σ2)^{1/2} = Σ_i √λ_i. With any factorisations Σ1 = A1 A1ᵀ, Σ2 = A2 A2ᵀ this equals
the nuclear norm ‖A1ᵀ A2‖_* (the sum of its singular values), which gives two cheap routes:

* n1·n2 ≤ d² (few samples, e.g. 500 images in 2048-d): A_i = (F_i − μ_i)ᵀ / √(n_i − 1),
  so tr (Σ1 Σ2)^{1/2} = ‖(F1 − μ1)(F2 − μ2)ᵀ‖_* / √((n1 − 1)(n2 − 1)), an [n1, n2] SVD;
  exact for the rank-deficient covariances of n < d, no regularisation needed.
* otherwise (n > d): Cholesky Σ2 = L Lᵀ, then tr (Σ1 Σ2)^{1/2} = Σ √eigvalsh(Lᵀ Σ1 L)
  (Lᵀ Σ1 L by LAPACK's sygst, the reduction step of the generalised eigenproblem).
  If Σ2 is singular (dead ReLU units) the Cholesky fails and Σ2^{1/2} from `eigh`
  (negative round-off eigenvalues clamped to 0) takes its place.

Everything is float64, with one exception: float32 features are centred and their d×d product
(F − μ)ᵀ(F − μ) is accumulated in float32 (the features' own precision, at half the cost; see `gaussian_stats`).
If a result is still not finite, ε·I is added to both covariances
and the computation retried (scipy-style fallback), so the answer is a real finite float.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy import linalg
from scipy.linalg import lapack
from torch import Tensor


def check_features(f, name: str = "features", min_n: int = 2, finite: bool = True) -> Tensor:
    """Validate a feature set: a 2-D [n, d] real array/tensor with n ≥ `min_n`, all finite.

    Returns it as a torch Tensor (float32 or float64 kept; other dtypes → float32) on its device.
    Raises ValueError with a message naming `name` otherwise. `finite=False` skips the pass over
    every value (the caller checks finiteness more cheaply, as `gaussian_stats` does on the means).
    """
    if not isinstance(f, Tensor):
        try:
            f = torch.as_tensor(np.asarray(f))
        except (TypeError, ValueError) as e:
            raise ValueError(f"{name}: cannot convert to a tensor ({e})") from None
    if f.dim() != 2:
        raise ValueError(f"{name} must be a 2-D [n, d] array, got shape {tuple(f.shape)}")
    if f.is_complex():
        raise ValueError(f"{name} must be real, got {f.dtype}")
    if f.dtype not in (torch.float32, torch.float64):
        f = f.float()
    if f.shape[0] < min_n:
        raise ValueError(f"{name} needs at least {min_n} rows (samples), got n={f.shape[0]}")
    if f.shape[1] < 1:
        raise ValueError(f"{name} has zero feature dimensions")
    if finite and not torch.isfinite(f).all():
        raise ValueError(f"{name} contains NaN or inf values")
    return f


def check_pair(f1, f2, names=("f1", "f2"), min_n: int = 2, finite: bool = True) -> tuple[Tensor, Tensor]:
    """Validate two feature sets [n1, d], [n2, d] of the same dimension d (see `check_features`)."""
    f1 = check_features(f1, names[0], min_n, finite)
    f2 = check_features(f2, names[1], min_n, finite)
    if f1.shape[1] != f2.shape[1]:
        raise ValueError(f"{names[0]} and {names[1]} must have the same feature dimension, "
                         f"got {f1.shape[1]} and {f2.shape[1]}")
    return f1, f2


def gaussian_stats(f, name: str = "features") -> tuple[np.ndarray, np.ndarray]:
    """Mean μ [d] and unbiased covariance Σ = (F − μ)ᵀ(F − μ) / (n − 1) [d, d] as float64 numpy.

    μ is a float64 sum. F is centred and multiplied in the input's precision (numpy's `Xᵀ @ X`
    on one buffer is a BLAS syrk, half the flops of a matmul); the tiny mean δ left in the
    centred data by rounding μ is taken out exactly: Σ = (XcᵀXc − n δδᵀ) / (n − 1). For float32
    features the relative error on Σ is of the order of float32's precision (~1e-7), that of the
    features themselves, at half the cost of float64. Float64 features get a float64 product.

    Finiteness is checked on μ rather than on every value: a NaN or ±inf anywhere in a column
    makes that column's float64 sum non-finite (a float64 sum of float32 values cannot overflow).
    """
    x = check_features(f, name, finite=False).detach().cpu().numpy()
    mu = x.mean(0, dtype=np.float64)
    if not np.isfinite(mu).all():
        bad = "contains NaN or inf values" if not np.isfinite(x).all() else "overflows float64 when summed"
        raise ValueError(f"{name} {bad}")
    xc = x - mu.astype(x.dtype)                    # centred in the input's precision
    delta = xc.mean(0, dtype=np.float64)           # ~1e-7·|μ|: the rounding of μ
    s = (xc.T @ xc).astype(np.float64)
    s -= len(x) * np.outer(delta, delta)
    s /= len(x) - 1
    return mu, s


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    """Σ^{1/2} of a symmetric PSD matrix via eigh, eigenvalues clamped at 0."""
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def trace_sqrt_product(s1, s2) -> float:
    """tr (Σ1 Σ2)^{1/2} = Σ √λ_i(Lᵀ Σ1 L) for Σ2 = L Lᵀ (Cholesky, or Σ2^{1/2} when singular), float64.

    Lᵀ Σ1 L is LAPACK's sygst with itype 2 (the reduction of the generalised problem
    Σ1 Σ2 x = λx), which uses the symmetry of Σ1: cheaper than two triangular products.
    Σ1 is symmetric, so its transpose is handed to LAPACK as the column-major array it wants
    (no transposing copy). The eigenvalues come from `torch.linalg.eigvalsh`.
    """
    s1 = np.asarray(s1, dtype=np.float64)
    s2 = np.asarray(s2, dtype=np.float64)
    try:
        l = linalg.cholesky(s2, lower=True, check_finite=False)
        m, info = lapack.dsygst(s1.T, l, itype=2, lower=1)  # Lᵀ Σ1 L, lower half
        if info != 0:
            raise np.linalg.LinAlgError(f"dsygst info {info}")
    except np.linalg.LinAlgError:                                     # singular Σ2
        r = _psd_sqrt(s2)
        m = r @ s1 @ r
    lam = torch.linalg.eigvalsh(torch.from_numpy(m), UPLO="L").numpy()
    return float(np.sqrt(np.clip(lam, 0, None)).sum())


def _trace_sqrt_gram(x1: np.ndarray, x2: np.ndarray) -> float:
    """tr (Σ1 Σ2)^{1/2} = ‖(F1 − μ1)(F2 − μ2)ᵀ‖_* / √((n1 − 1)(n2 − 1)) (route for few samples)."""
    a1 = x1 - x1.mean(0)
    a2 = x2 - x2.mean(0)
    sv = linalg.svdvals(a1 @ a2.T, check_finite=False)
    return float(sv.sum()) / float(np.sqrt((len(x1) - 1) * (len(x2) - 1)))


def frechet_from_stats(mu1, s1, mu2, s2, eps: float = 1e-6) -> float:
    """FD = ‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2 tr (Σ1 Σ2)^{1/2} from precomputed Gaussian fits [d], [d, d].

    Float64. If tr (Σ1 Σ2)^{1/2} is not finite, retries with Σ_i + ε·I (ε = `eps`, then ×10 …).
    The result is clamped at 0 (round-off can make identical sets give −1e-12).
    """
    mu1, s1, mu2, s2 = (np.asarray(t, dtype=np.float64) for t in (mu1, s1, mu2, s2))
    if not all(np.isfinite(t).all() for t in (mu1, s1, mu2, s2)):
        raise ValueError("Gaussian statistics contain NaN or inf values")
    tr = trace_sqrt_product(s1, s2)
    e = eps
    while not np.isfinite(tr) and e < 1e3:
        eye = np.eye(len(s1)) * e
        tr = trace_sqrt_product(s1 + eye, s2 + eye)
        e *= 10
    if not np.isfinite(tr):
        raise FloatingPointError("tr (Σ1 Σ2)^1/2 is not finite even with regularisation")
    diff = mu1 - mu2
    fd = float(diff @ diff) + float(np.trace(s1)) + float(np.trace(s2)) - 2.0 * tr
    return max(fd, 0.0)


def frechet_distance(f1, f2, eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussian fits of feature sets f1 [n1, d] and f2 [n2, d] → float ≥ 0.

        FD = ‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2 tr (Σ1 Σ2)^{1/2}     (float64 throughout)

    With Inception pool3 features this is the FID (Heusel et al. 2017). Uses the exact
    nuclear-norm route when n1·n2 ≤ d² (e.g. n ≤ d: finite and real without ε), otherwise
    Cholesky + eigvalsh (see the module docstring). Raises ValueError on bad input
    (not 2-D, n < 2, NaN/inf, different d).
    """
    f1, f2 = check_pair(f1, f2, finite=False)          # finiteness: below, or on the means
    d = f1.shape[1]
    if len(f1) * len(f2) <= d * d:
        x1 = check_features(f1, "f1").detach().cpu().double().numpy()
        x2 = check_features(f2, "f2").detach().cpu().double().numpy()
        # few samples: every term from the centred data, an SVD no bigger than d×d, no ε needed
        tr = _trace_sqrt_gram(x1, x2)
        if np.isfinite(tr):
            mu1, mu2 = x1.mean(0), x2.mean(0)
            tr1 = float(((x1 - mu1) ** 2).sum()) / (len(x1) - 1)
            tr2 = float(((x2 - mu2) ** 2).sum()) / (len(x2) - 1)
            return max(float((mu1 - mu2) @ (mu1 - mu2)) + tr1 + tr2 - 2.0 * tr, 0.0)
    mu1, s1 = gaussian_stats(f1, "f1")
    mu2, s2 = gaussian_stats(f2, "f2")
    return frechet_from_stats(mu1, s1, mu2, s2, eps)
