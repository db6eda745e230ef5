"""Sample scores on features, class probabilities, images and labels.

* Inception Score (Salimans et al. 2016)
* precision / recall on k-NN manifolds (Kynkäänniemi et al. 2019)
* quality / diversity / combined score (MM-GAN, Ben-Yosef & Weinshall, eq. 3.2–3.7)
* clustering accuracy (Hungarian) and NMI (in `cluster`, re-exported here)

Pure functions; tensors or arrays in, Python floats (or dicts of them) out.
"""
from __future__ import annotations

import math
import sys

import numpy as np
import torch
from torch import Tensor

from .cluster import check_labels, cluster_acc, nmi  # noqa: F401  (cluster_acc, nmi: re-exported)
from .fid import check_features, check_pair
from .knn import BLOCK, centre, knn_search, knn_self

# ----------------------------------------------------------------------------- input checks


def check_probs(p, name: str = "probs") -> Tensor:
    """Class probabilities [n, C]: finite, ≥ 0, rows summing to 1 (±1e-3); returned as float64."""
    p = check_features(p, name, min_n=1).double()
    if p.shape[1] < 2:
        raise ValueError(f"{name} needs at least 2 classes, got {p.shape[1]}")
    if (p < 0).any() or ((p.sum(1) - 1).abs() > 1e-3).any():
        raise ValueError(f"{name} rows must be probability vectors (≥ 0, summing to 1); "
                         "pass softmax(logits), not logits")
    return p


# ----------------------------------------------------------------------------- Inception Score


def inception_score(probs, splits: int = 10, shuffle_seed: int | None = None) -> tuple[float, float]:
    """Inception Score of class probabilities p(y|x) [n, C] → (mean, std) over `splits` chunks.

        IS = exp( E_x KL( p(y|x) ‖ p(y) ) ),   p(y) = mean_x p(y|x) within the chunk

    computed on `splits` consecutive chunks, chunk i = rows ⌊i·n/splits⌋ … ⌊(i+1)·n/splits⌋ − 1
    (the boundaries of Salimans et al. 2016's code, and torch-fidelity's), mean and (population)
    std of the per-chunk scores. shuffle_seed: None keeps the rows in the given order; an int first
    permutes them with `numpy.random.RandomState(shuffle_seed).permutation(n)`, as torch-fidelity
    does by default with its rng_seed 2020: `inception_score(InceptionFeatures().probs(x),
    shuffle_seed=2020)` is its `inception_score_mean` / `_std`. Works with any classifier's
    probabilities (Inception's 1008 classes or the domain classifier's). 1 ≤ IS ≤ C; IS = C for
    confident predictions spread evenly over all C classes.
    """
    p = check_probs(probs)
    if isinstance(splits, bool) or not isinstance(splits, (int, np.integer)):
        raise TypeError(f"splits must be an int, got {splits!r}")
    if not 1 <= splits <= len(p):
        raise ValueError(f"splits must be in [1, n={len(p)}], got {splits}")
    if shuffle_seed is not None:
        if isinstance(shuffle_seed, bool) or not isinstance(shuffle_seed, (int, np.integer)):
            raise TypeError(f"shuffle_seed must be None or an int, got {shuffle_seed!r}")
        if not 0 <= shuffle_seed < 2 ** 32:
            raise ValueError(f"shuffle_seed must be in [0, 2**32), got {shuffle_seed}")
        p = p[torch.from_numpy(np.random.RandomState(int(shuffle_seed)).permutation(len(p)))]
    n = len(p)
    scores = []
    for i in range(splits):
        chunk = p[i * n // splits:(i + 1) * n // splits]
        py = chunk.mean(0, keepdim=True)
        kl = (torch.xlogy(chunk, chunk) - torch.xlogy(chunk, py)).sum(1).mean()
        scores.append(math.exp(float(kl)))
    s = np.asarray(scores)
    return float(s.mean()), float(s.std())


# ----------------------------------------------------------------------------- precision / recall


def knn_radii(f, k: int = 3) -> Tensor:
    """Radius of each point's k-NN ball: distance to its k-th nearest *other* point in the set [n]."""
    d, _ = knn_self(f, k)
    return d[:, -1]


def manifold_coverage(points, centres, radii, block: int = BLOCK) -> Tensor:
    """For each of `points` [n, d]: is it inside some ball B(centre_j, radius_j)? → bool [n].

        covered(x) = ∃ j : ‖x − c_j‖ ≤ r_j      (blocks of `block` points × all centres)

    Both sets are first translated by the centres' mean (``knn.centre``), so float32 features
    far from the origin keep their precision.
    """
    points, centres = centre(points, centres, like=centres)
    rn = (centres * centres).sum(1)
    r2 = radii.to(centres.dtype) ** 2
    out = []
    with torch.no_grad():
        for s in range(0, len(points), block):
            q = points[s:s + block]
            d2 = torch.addmm(rn, q, centres.T, beta=1, alpha=-2) + (q * q).sum(1, keepdim=True)
            out.append((d2 <= r2[None, :]).any(1))
    return torch.cat(out)


def precision_recall(real, fake, k: int = 3, block: int = BLOCK) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of `fake` [m, d] w.r.t. `real` [n, d].

    The manifold of a set is the union of balls around its points, each with radius the distance
    to that point's k-th nearest neighbour in the same set (self excluded):

        precision = (1/m) Σ_{f ∈ fake} [f ∈ manifold(real)]   (fakes that look real: quality)
        recall    = (1/n) Σ_{r ∈ real} [r ∈ manifold(fake)]   (reals the fakes cover: diversity)

    Exact k-NN in blocks (memory O(block · max(n, m))), on centred features (see `knn.centre`).
    The paper uses k = 3.
    """
    real, fake = check_pair(real, fake, ("real", "fake"))
    dtype = torch.promote_types(real.dtype, fake.dtype)
    real, fake = real.to(dtype), fake.to(real.device, dtype)
    for name, x in (("real", real), ("fake", fake)):
        if not 1 <= k < len(x):
            raise ValueError(f"k must be in [1, n_{name} − 1 = {len(x) - 1}], got k={k}")
    r_real = knn_radii(real, k)
    r_fake = knn_radii(fake, k)
    precision = manifold_coverage(fake, real, r_real, block).double().mean()
    recall = manifold_coverage(real, fake, r_fake, block).double().mean()
    return float(precision), float(recall)


# ----------------------------------------------------------------------------- quality (MM-GAN §3.3.1)


def nn_distance(query, ref, exclude_self: bool = False, block: int = BLOCK) -> Tensor:
    """‖c(x) − c(NN(x))‖₂ for each query row [n]: Euclidean distance to the nearest row of `ref`."""
    d, _ = knn_search(query, ref, 1, exclude_self=exclude_self, block=block)
    return d[:, 0]


#: log of the largest float64: α = exp(log α) overflows to inf above it
LOG_FLOAT_MAX = math.log(sys.float_info.max)


def calibrate_alpha(train_feats, n: int = 1000, seed: int = 0, block: int = BLOCK, log: bool = False) -> float:
    """The default α of `quality_score`: α = exp(median real–real nearest-neighbour distance).

    Takes `n` training points (fixed `seed`) and measures each one's distance to its nearest
    *other* training point; that is distributed like a fresh real image's distance to the
    training set. With log α = its median, a typical real image scores q ≈ 0.5, an exact
    training copy scores q = α / (1 + α) ≈ 1 and a sample twice as far as usual scores ≈ 0,
    whatever the scale of the features (the MM-GAN paper leaves α unspecified).

    log=True returns log α (the median distance itself), which is always finite: `quality_score`
    and `quality_diversity` work with log α (alpha="auto" or log_alpha=...), so features of any
    scale are fine there. α itself overflows float64 once log α > 709.78 (distances that large
    come from unnormalised features): log=False then raises ValueError rather than return inf.
    """
    t = check_features(train_feats, "train_feats")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(t), generator=g)[:min(n, len(t))].to(t.device)
    # leave-one-out: a sampled point's neighbours among all the others
    q = t[idx]
    d, i = knn_search(q, t, 2, block=block)
    own = i[:, 0] == idx                     # the nearest hit is the point itself (distance 0)
    dist = torch.where(own, d[:, 1], d[:, 0])
    log_alpha = float(dist.double().median())
    if not math.isfinite(log_alpha):
        raise ValueError("train_feats: nearest-neighbour distances overflow; rescale the features")
    if log:
        return log_alpha
    if log_alpha > LOG_FLOAT_MAX:
        raise ValueError(f"alpha = exp({log_alpha:.6g}) overflows float64 (median nearest-neighbour distance "
                         "> 709.78); use calibrate_alpha(..., log=True) and pass it as log_alpha=..., or "
                         "alpha='auto', which works in log space")
    return math.exp(log_alpha)


def _log_alpha(alpha, log_alpha, train, block: int = BLOCK) -> float:
    """log α from `alpha` ("auto" → `calibrate_alpha(train, log=True)`, or a positive finite float)
    or from `log_alpha` (any finite float; then alpha must stay "auto")."""
    if log_alpha is not None:
        if not (isinstance(alpha, str) and alpha == "auto"):
            raise ValueError(f"pass alpha or log_alpha, not both (got alpha={alpha!r}, log_alpha={log_alpha!r})")
        if isinstance(log_alpha, bool) or not isinstance(log_alpha, (int, float, np.integer, np.floating)) \
                or not math.isfinite(log_alpha):
            raise ValueError(f"log_alpha must be a finite float, got {log_alpha!r}")
        return float(log_alpha)
    if isinstance(alpha, str):
        if alpha != "auto":
            raise ValueError(f"alpha must be a positive float or 'auto', got {alpha!r}")
        return calibrate_alpha(train, block=block, log=True)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.integer, np.floating)) \
            or not alpha > 0 or not math.isfinite(alpha):
        raise ValueError(f"alpha must be a positive finite float, got {alpha!r}")
    return math.log(alpha)


def quality_score(fake_feats, train_feats, alpha: float | str = "auto", block: int = BLOCK,
                  log_alpha: float | None = None) -> float:
    """Quality score q(X) of the MM-GAN paper (eq. 3.2–3.3) → float in (0, α/(1+α)].

        q(x) = 1 − exp(‖c(x) − c(NN(x))‖) / (exp(‖c(x) − c(NN(x))‖) + α)
             = σ(log α − ‖c(x) − c(NN(x))‖)                (σ the logistic sigmoid; overflow-free)
        q(X) = (1/|X|) Σ_x q(x)

    c = classifier features (e.g. `DomainClassifier.features`, 128-d), NN(x) = nearest training
    feature. `alpha="auto"` uses `calibrate_alpha(train_feats, log=True)`: log α = median real–real
    NN distance, so real images score ≈ 0.5 and exact copies ≈ 1; pass a float to fix it across
    runs, or `log_alpha` (log α, for α beyond float64's range). Shapes: fake_feats [m, d], train_feats [n, d].
    """
    fake, train = check_pair(fake_feats, train_feats, ("fake_feats", "train_feats"), min_n=1)
    la = _log_alpha(alpha, log_alpha, train, block)
    dist = nn_distance(fake, train.to(fake.device, fake.dtype), block=block).double()
    return float(torch.sigmoid(la - dist).mean())


# ----------------------------------------------------------------------------- diversity (MM-GAN §3.3.2)

#: MS-SSIM set-up for small images (the standard one needs > 160 px): the first three of the
#: standard scale weights (Wang et al. 2003) renormalised to sum to 1, scales 32/16/8 px for
#: 32×32 inputs, Gaussian window σ = 0.75 (7 taps; `kernel_size` must equal the real window
#: 2·⌊3.5σ + 0.5⌋ + 1 for torchmetrics' size check).
MSSSIM_BETAS = (0.0448 / 0.6305, 0.2856 / 0.6305, 0.3001 / 0.6305)
MSSSIM_SIGMA = 0.75


def _ms_ssim_setup(h: int, w: int) -> dict:
    """kwargs for torchmetrics' MS-SSIM on h×w images: as many of the 3 scales as fit."""
    win = 2 * int(3.5 * MSSSIM_SIGMA + 0.5) + 1
    betas = MSSSIM_BETAS
    while len(betas) > 1 and min(h, w) <= (win - 1) * 2 ** (len(betas) - 1):
        betas = betas[:-1]
    s = sum(betas)
    return dict(sigma=MSSSIM_SIGMA, kernel_size=win, betas=tuple(b / s for b in betas))


def mean_ms_ssim(images, max_pairs: int = 2000, seed: int = 0, batch: int = 500,
                 value_range: tuple = (-1.0, 1.0)) -> float:
    """Mean MS-SSIM over distinct pairs (i ≠ j) of `images` [n, C, H, W] with values in `value_range`.

    MS-SSIM is computed on images mapped to [0, 1], x' = (x − lo) / (hi − lo), with data_range 1,
    as its definition (Wang et al. 2003) and the MM-GAN paper assume: its luminance term
    (2 μ_a μ_b + C1) / (μ_a² + μ_b² + C1) is not shift-invariant, so the same images scored in
    [−1, 1] give other values. The kit's images are in [−1, 1] (the default `value_range`); pass
    value_range=(0, 1) for images already in [0, 1]. Values outside the range are a ValueError.
    All n(n−1)/2 pairs when that is ≤ `max_pairs`, else `max_pairs` random pairs (fixed `seed`).
    Uses `multiscale_structural_similarity_index_measure` (`_ms_ssim_setup`).
    """
    for name, v in (("max_pairs", max_pairs), ("batch", batch)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{name} must be a positive int, got {v!r}")
        if v < 1:
            raise ValueError(f"{name} must be a positive int, got {v}")
    x = torch.as_tensor(images)
    if x.dim() != 4:
        raise ValueError(f"images must be [n, C, H, W], got shape {tuple(x.shape)}")
    if len(x) < 2:
        raise ValueError(f"need at least 2 images, got {len(x)}")
    if not torch.isfinite(x).all():
        raise ValueError("images contain NaN or inf values")
    lo, hi = (float(v) for v in value_range)
    if not hi > lo:
        raise ValueError(f"value_range must be (lo, hi) with hi > lo, got {value_range}")
    tol = 1e-3 * (hi - lo)
    if x.min() < lo - tol or x.max() > hi + tol:
        raise ValueError(f"image values [{float(x.min()):.3g}, {float(x.max()):.3g}] lie outside "
                         f"value_range={value_range}; pass the range the images are in")
    x = ((x.float() - lo) / (hi - lo)).clamp_(0, 1)
    n = len(x)
    if n * (n - 1) // 2 <= max_pairs:
        i, j = torch.triu_indices(n, n, offset=1)
    else:
        g = torch.Generator().manual_seed(seed)
        i = torch.randint(0, n, (max_pairs,), generator=g)
        j = (i + torch.randint(1, n, (max_pairs,), generator=g)) % n   # uniform over j ≠ i
    # imported here: importing torchmetrics costs seconds, and only this function needs it
    from torchmetrics.functional.image import multiscale_structural_similarity_index_measure

    kw = _ms_ssim_setup(x.shape[2], x.shape[3])
    vals = []
    with torch.no_grad():
        for s in range(0, len(i), batch):
            a, b = x[i[s:s + batch]], x[j[s:s + batch]]
            vals.append(multiscale_structural_similarity_index_measure(
                a, b, data_range=1.0, reduction="none", **kw))
    return float(torch.cat(vals).double().mean())


def intra_diversity(images, max_pairs: int = 2000, seed: int = 0, value_range: tuple = (-1.0, 1.0)) -> float:
    """d_intra(X) = 1 − mean MS-SSIM(x, x') over pairs of distinct images (MM-GAN eq. 3.4).

    The paper averages over all |X|² ordered pairs including x = x'; distinct pairs avoid the
    self-pair bias (1/|X|) and, above `max_pairs`, a random subset keeps the cost bounded.
    MS-SSIM on the images mapped to [0, 1] (`mean_ms_ssim`; `value_range` is their range).
    """
    return 1.0 - mean_ms_ssim(images, max_pairs=max_pairs, seed=seed, value_range=value_range)


def inter_diversity(pred_labels, n_classes: int) -> float:
    """d_inter(X) = H( (1/|X|) Σ_x onehot(c(x)) ) / log N (MM-GAN eq. 3.5), in [0, 1].

    The normalised entropy of the histogram of predicted classes: 0 when every sample gets one
    class, 1 when the N classes are predicted equally often.
    """
    y = check_labels(pred_labels, "pred_labels")
    if n_classes < 2:
        raise ValueError(f"n_classes must be ≥ 2, got {n_classes}")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"pred_labels must lie in [0, {n_classes - 1}]")
    p = np.bincount(y, minlength=n_classes) / len(y)
    nz = p[p > 0]
    return float(-(nz * np.log(nz)).sum() / math.log(n_classes))


def diversity_score(images, pred_labels, n_classes: int, max_pairs: int = 2000,
                    seed: int = 0, value_range: tuple = (-1.0, 1.0)) -> dict:
    """Diversity of the MM-GAN paper (eq. 3.4–3.6) → dict(d, d_intra, d_inter).

        d_intra = 1 − mean pairwise MS-SSIM,  d_inter = H(mean one-hot prediction) / log N,
        d = √(d_intra · d_inter)

    images [n, C, H, W] with values in `value_range` (default [-1, 1]; MS-SSIM is taken on them
    mapped to [0, 1]), pred_labels [n] (the classifier's argmax), N = n_classes.
    """
    y = check_labels(pred_labels, "pred_labels")
    if len(y) != len(images):
        raise ValueError(f"images and pred_labels must have the same length, got {len(images)} and {len(y)}")
    d_intra = max(intra_diversity(images, max_pairs=max_pairs, seed=seed, value_range=value_range), 0.0)
    d_inter = inter_diversity(y, n_classes)
    return {"d": math.sqrt(d_intra * d_inter), "d_intra": d_intra, "d_inter": d_inter}


def combined_score(q: float, d: float) -> float:
    """s(X) = √(q(X) · d(X)) (MM-GAN eq. 3.7), in [0, 1]."""
    if not (0 <= q <= 1 and 0 <= d <= 1):
        raise ValueError(f"q and d must lie in [0, 1], got q={q}, d={d}")
    return math.sqrt(q * d)


def quality_diversity(fake_images, classifier, train_feats, alpha: float | str = "auto",
                      max_pairs: int = 2000, seed: int = 0, log_alpha: float | None = None) -> dict:
    """All of the MM-GAN paper's scores for generated images [n, C, H, W] in [-1, 1] → dict.

    classifier: a `DomainClassifier` (anything with `.features(x)`, `.probs(x)`, `.name`)
    trained on the GAN's training set; train_feats = classifier.features(training images).
    Returns dict(q, d_intra, d_inter, d, s, alpha, log_alpha, extractor, n_fake, n_train) with
    q = quality_score, d = √(d_intra·d_inter), s = √(q·d); alpha is inf when exp(log_alpha)
    overflows float64 (q is computed from log_alpha, so it stays exact).
    """
    feats = classifier.features(fake_images)
    probs = classifier.probs(fake_images)
    train = check_features(train_feats, "train_feats")
    la = _log_alpha(alpha, log_alpha, train)
    q = quality_score(feats, train, log_alpha=la)
    div = diversity_score(fake_images, probs.argmax(1), probs.shape[1], max_pairs=max_pairs, seed=seed)
    return {"q": q, "d_intra": div["d_intra"], "d_inter": div["d_inter"], "d": div["d"],
            "s": combined_score(q, div["d"]), "alpha": math.exp(la) if la <= LOG_FLOAT_MAX else math.inf,
            "log_alpha": la, "extractor": getattr(classifier, "name", type(classifier).__name__),
            "n_fake": len(feats), "n_train": len(train)}
