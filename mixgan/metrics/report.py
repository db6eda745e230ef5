"""All of SPEC §5's image metrics for one generated set, in one dict (notebooks 04 and 08)."""
from .features import extractor_name
from .fid import frechet_distance
from .knn import knn_two_sample
from .scores import inception_score, precision_recall, quality_diversity


def evaluate(real, fake, extractor, train_feats=None, splits=10, max_pairs=2000):
    """Compare image sets real, fake [n, C, H, W] in [-1, 1] in `extractor`'s features.

    Returns dict(fid, knn_real, knn_fake, precision, recall, is_mean, is_std, q, d_intra,
    d_inter, d, s, extractor, n_real, n_fake).  train_feats: extractor features of the
    training set for the quality score (defaults to the real set's features);
    max_pairs: random image pairs for the MS-SSIM of d_intra.
    """
    fr, ff = extractor.features(real), extractor.features(fake)
    acc_r, acc_f = knn_two_sample(fr, ff, k=5)
    prec, rec = precision_recall(fr, ff, k=3)
    is_mean, is_std = inception_score(extractor.probs(fake), splits=splits)
    qd = quality_diversity(fake, extractor, fr if train_feats is None else train_feats, max_pairs=max_pairs)
    return {"fid": frechet_distance(fr, ff), "knn_real": acc_r, "knn_fake": acc_f,
            "precision": prec, "recall": rec, "is_mean": is_mean, "is_std": is_std,
            **{k: qd[k] for k in ("q", "d_intra", "d_inter", "d", "s")},
            "extractor": extractor_name(extractor), "n_real": len(fr), "n_fake": len(ff)}
