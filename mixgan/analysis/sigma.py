"""The quality–diversity trade-off of a post-training scale of the prior, and truncation.

After training, sample the latents with the prior's covariance multiplied by a scale s
(Ben-Yosef & Weinshall, "Multi-Modal Generative Adversarial Networks", call it σ):

    GAN:  z ~ N(0, s I)          MM-GAN:  k ~ Cat(1/K),  z | k ~ N(μ_k, s Σ_k)

s < 1 keeps z near the modes (higher quality, lower diversity), s > 1 spreads it. Truncation
(Ahmetoğlu & Alpaydın, "Hierarchical Mixtures of Generators for Adversarial Learning") instead
drops the least likely 1 − keep of n/keep latents.

    rows = scale_tradeoff({"gan": g, "mmgan": m}, image_scorer(clf, train_feats))
    summarize(rows)                                     # mean ± SEM over runs per (model, scale)
"""
from __future__ import annotations

import math

import torch

from .. import metrics
from .latents import SCALES, renamed, sample_at


def image_scorer(classifier, train_feats, alpha="auto", max_pairs=1000):
    """score(x [n, C, H, W]) -> dict(quality, diversity, d_intra, d_inter), the MM-GAN paper's scores:

        quality   = q(X) = mean_x σ(log α − ‖f(x) − f(NN(x))‖),  f = `classifier.features`, NN(x) the
                    nearest of the training features `train_feats` [m, D], σ the logistic sigmoid
        diversity = d = √(d_intra · d_inter),  d_intra = 1 − mean MS-SSIM over pairs of samples,
                    d_inter = H(histogram of predicted classes) / log C

    α is calibrated once here (`metrics.calibrate_alpha`, as log α: no overflow whatever the
    features' scale), so every scale and model share it.
    """
    qa = {"log_alpha": metrics.calibrate_alpha(train_feats, log=True)} if alpha == "auto" else {"alpha": alpha}

    def score(x):
        r = metrics.quality_diversity(x, classifier, train_feats, max_pairs=max_pairs, **qa)
        return dict(quality=r["q"], diversity=r["d"], d_intra=r["d_intra"], d_inter=r["d_inter"])
    return score


def toy_quality_diversity(samples, spec, threshold=3.0, n_pairs=1000, seed=0):
    """The 2-D analogue of the image scores (cheap, no classifier) for samples [n, 2] -> dict.

        quality   = share of samples within `threshold` standard deviations (spec.std) of their
                    nearest true mode
        d_intra   = mean pairwise distance of the samples / that of the true mixture (the place of
                    1 − MS-SSIM, a pairwise dissimilarity); 1 = as spread as the data, > 1 = more
        d_inter   = H(p̂) / log M, p̂ the nearest-mode histogram of all samples
        diversity = √(d_intra · d_inter)

    Pairwise distances use the first `n_pairs` samples and `n_pairs` true samples (fixed seed).
    """
    x = torch.as_tensor(samples, dtype=torch.float32)
    means = spec.means.float()
    d, nearest = torch.cdist(x, means).min(1)
    ref, _ = spec.sample(n_pairs, generator=torch.Generator().manual_seed(seed))
    d_intra = float(torch.pdist(x[:n_pairs]).mean() / torch.pdist(ref).mean())
    p = torch.bincount(nearest, minlength=len(means)).double() / len(x)
    p = p[p > 0]
    d_inter = float(-(p * p.log()).sum() / math.log(len(means)))
    return dict(quality=float((d / spec.std < threshold).float().mean()),
                diversity=math.sqrt(d_intra * d_inter), d_intra=d_intra, d_inter=d_inter)


def toy_scorer(spec, threshold=3.0):
    """score(x) -> `toy_quality_diversity(x, spec)` for 2-D toys."""
    return lambda x: toy_quality_diversity(x, spec, threshold)


@renamed(sigmas="scales")
def scale_tradeoff(models_by_name, score_fn, scales=SCALES, n=1000, seed=0, truncate=None):
    """Quality and diversity against the post-training scale s of the prior's covariance.

    models_by_name: {name: model, or a list of models (e.g. one per training seed)};
    score_fn(x) -> dict with at least "quality" and "diversity" (`image_scorer`, `toy_scorer`).
    For every model and s: x = n samples with z ~ prior scaled by s (the same `seed` for every s).
    Returns tidy rows dict(model, run, scale, quality, diversity, …): pass them to
    pandas.DataFrame or `summarize`.
    """
    rows = []
    for name, ms in models_by_name.items():
        for run, model in enumerate(ms if isinstance(ms, (list, tuple)) else [ms]):
            for s in scales:
                x = sample_at(model, n, scale=s, truncate=truncate, seed=seed)
                rows.append(dict(model=name, run=run, scale=float(s), **score_fn(x.cpu())))
    return rows


def truncation_scores(model, score_fn, keep=0.75, n=1000, seed=0):
    """Scores of n samples without and with truncation (drop the least likely 1 − keep of z)
    -> [dict(truncate=None, …), dict(truncate=keep, …)]."""
    return [dict(truncate=t, **score_fn(sample_at(model, n, truncate=t, seed=seed).cpu()))
            for t in (None, keep)]


def scoring_classifier(dataset, x=None, y=None, epochs=1, seed=0):
    """The classifier behind q and d: the shipped / cached `DomainClassifier.pretrained(dataset)`
    when its weights are on disk, else (quick runs) one trained here on (x, y) for `epochs`.
    Returns (classifier, a sentence saying which one it is)."""
    from ..metrics.features import SHIPPED_DIR, cache_dir
    fname = metrics.DomainClassifier.key(dataset)
    if any((d / fname).is_file() for d in (SHIPPED_DIR, cache_dir())) or x is None:
        return metrics.DomainClassifier.pretrained(dataset), f"the shipped {dataset} DomainClassifier"
    clf = metrics.train_domain_classifier(x, y, epochs=epochs, seed=seed, progress=False)
    return clf, f"a DomainClassifier trained here on {len(x)} images for {epochs} epoch(s) (no shipped weights)"
