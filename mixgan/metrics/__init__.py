"""Metrics for generative models: pure functions on feature tensors, plus extractors.

    f_real = ext.features(real_images); f_fake = ext.features(fake_images)
    frechet_distance(f_real, f_fake)          # FID in ext's features
    knn_two_sample(f_real, f_fake, k=5)       # (acc_real, acc_fake), 0.5 is ideal
    precision_recall(f_real, f_fake, k=3)     # Kynkäänniemi et al. 2019
    inception_score(ext.probs(fake_images))   # (mean, std)
    quality_diversity(fake_images, clf, clf.features(train_images))   # the MM-GAN paper's scores
    cluster_acc(y, y_hat), nmi(y, y_hat)
    toy_scores(samples, spec)                 # 2-D toys: modes, high-quality %, KL, NLL

Feature extractors: `get_extractor("auto" | "inception" | "domain", dataset)`,
`DomainClassifier.pretrained(name)`, `InceptionFeatures(weights=None, download=None)`; `fid_report`
names the extractor and sample counts of every FID it reports. The Inception weights are downloaded
only when asked (download=True, or MIXGAN_DOWNLOAD_INCEPTION=1); with them, `fid_report` and
`inception_score(ext.probs(x), shuffle_seed=2020)` give torch-fidelity's FID and IS.
"""
from .cluster import cluster_acc, nmi
from .features import DomainClassifier, accuracy, get_extractor, train_domain_classifier
from .fid import frechet_distance, frechet_from_stats, gaussian_stats
from .inception import InceptionFeatures, download_inception, inception_weights
from .knn import knn_search, knn_self, knn_two_sample
from .report import evaluate, fid_report
from .scores import (calibrate_alpha, combined_score, diversity_score, inception_score, inter_diversity,
                     intra_diversity, mean_ms_ssim, precision_recall, quality_diversity, quality_score)
from .toy import toy_scores

__all__ = [
    "frechet_distance", "frechet_from_stats", "gaussian_stats",
    "knn_two_sample", "knn_search", "knn_self",
    "inception_score", "precision_recall",
    "quality_score", "calibrate_alpha", "diversity_score", "intra_diversity", "inter_diversity",
    "mean_ms_ssim", "combined_score", "quality_diversity",
    "cluster_acc", "nmi", "toy_scores",
    "DomainClassifier", "InceptionFeatures", "get_extractor", "fid_report", "inception_weights", "download_inception",
    "train_domain_classifier", "accuracy", "evaluate",
]
