"""Image metrics for one generated set, each tagged with the feature extractor it was computed in.

    fid_report(real_x, fake_x, ext)                 # dict(fid, extractor, dim, n_real, n_fake)
    fid_report(f_real, f_fake, ext, features=True)  # the same from features already extracted
    evaluate(real_x, fake_x, ext)                   # FID, 5-NN, precision/recall, IS, q and d in one dict
"""
from .features import extractor_name
from .fid import frechet_distance
from .knn import knn_two_sample
from .scores import inception_score, precision_recall, quality_diversity


def fid_report(real, fake, extractor, features=False, batch_size=500):
    """FID between two sets in `extractor`'s features, named by the extractor and the sample counts.

        FID = ‖μ_r − μ_f‖² + tr(Σ_r + Σ_f − 2 (Σ_r Σ_f)^½)   of the features [n, D] of each set

    real, fake: images [n, C, H, W] in [-1, 1] (run through ``extractor.features`` in batches of
    `batch_size`), or with features=True the feature matrices [n_real, D], [n_fake, D] themselves.
    Returns dict(fid, extractor, dim, n_real, n_fake): a FID means nothing without its extractor
    (Inception pool3 vs a domain classifier) and its sample counts (FID is biased in n).
    With `InceptionFeatures` it is the FID torch-fidelity computes on the same images.
    """
    if features:
        fr, ff = real, fake
    else:
        fr = extractor.features(real, batch_size=batch_size)
        ff = extractor.features(fake, batch_size=batch_size)
    return {"fid": float(frechet_distance(fr, ff)), "extractor": extractor_name(extractor),
            "dim": int(fr.shape[1]), "n_real": len(fr), "n_fake": len(ff)}


def evaluate(real, fake, extractor, train_feats=None, splits=10, max_pairs=2000):
    """Compare image sets real, fake [n, C, H, W] in [-1, 1] in `extractor`'s features.

    Returns dict(fid, knn_real, knn_fake, precision, recall, is_mean, is_std, q, d_intra,
    d_inter, d, s, extractor, dim, n_real, n_fake).  train_feats: extractor features of the
    training set for the quality score (defaults to the real set's features);
    max_pairs: random image pairs for the MS-SSIM of d_intra. is_mean / is_std split `fake` in
    its given order (torch-fidelity shuffles first: `inception_score(..., shuffle_seed=2020)`).
    """
    fr = extractor.features(real)
    both = getattr(extractor, "features_and_probs", None)           # one pass through Inception
    ff, pf = both(fake) if both else (extractor.features(fake), extractor.probs(fake))
    acc_r, acc_f = knn_two_sample(fr, ff, k=5)
    prec, rec = precision_recall(fr, ff, k=3)
    is_mean, is_std = inception_score(pf, splits=splits)
    qd = quality_diversity(fake, _Known(extractor, fake, ff, pf), fr if train_feats is None else train_feats,
                           max_pairs=max_pairs)
    return {**fid_report(fr, ff, extractor, features=True), "knn_real": acc_r, "knn_fake": acc_f,
            "precision": prec, "recall": rec, "is_mean": is_mean, "is_std": is_std,
            **{k: qd[k] for k in ("q", "d_intra", "d_inter", "d", "s")}}


class _Known:
    """`extractor` with the features and probabilities of the image set `x` already computed
    (so the fakes go through the network once per ``evaluate``)."""

    def __init__(self, extractor, x, feats, probs):
        self._ext, self._x, self._f, self._p = extractor, x, feats, probs
        self.name = extractor_name(extractor)

    def features(self, x, **kw):
        return self._f if x is self._x else self._ext.features(x, **kw)

    def probs(self, x, **kw):
        return self._p if x is self._x else self._ext.probs(x, **kw)
