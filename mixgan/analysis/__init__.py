"""Interpretability and analysis of trained models, one topic per module:

    latents   samples at a post-training scale of the prior, under a fixed seed
    tree      node responses, leaf samples, gating correlations, block mass (HMoG paper Fig. 11–13)
    sigma     the quality–diversity trade-off of that scale, truncation, scorers (MM-GAN paper §4.3)
    cluster   Algorithm 2 of the MM-GAN paper, self-training, the k-means baseline
    regions   which generator / leaf owns which part of a 2-D latent plane; where each component's samples land
    stats     mean / std / SEM of tidy rows per group

    from mixgan import analysis as A
    s = A.tree_summary(model);  C = A.gating_correlation(model);  A.block_mass_ratio(C, 4)
    rows = A.scale_tradeoff({"gan": g, "mmgan": m}, A.image_scorer(clf, feats))
    pred, clf = A.gan_cluster(mmgan, x);  A.kmeans_baseline(x, 10)

Stored results (figures, tables, checkpoints under results/) are read and written by
`mixgan.results`, not here.
"""
from ..utils import seeded
from .cluster import (PAPER_CLUSTERING, OracleGenerator, cluster_runs, cluster_scores, component_accuracy,
                      component_classes, component_samples, feature_kmeans, gan_cluster, kmeans_baseline,
                      self_train, selftrain_curve, train_cluster_classifier)
from .latents import SCALES, sample_at, sample_grid_at, sample_latents
from .regions import component_modes, regions, z_grid
from .sigma import (image_scorer, scale_tradeoff, scoring_classifier, toy_quality_diversity, toy_scorer,
                    truncation_scores)
from .stats import summarize
from .tree import (block_chance, block_mass_ratio, block_mass_table, correlation, gating_correlation,
                   leaf_probs, leaf_samples, node_responses, tree_summary, weighted_sums)

__all__ = ["seeded", "SCALES", "sample_latents", "sample_at", "sample_grid_at",
           "tree_summary", "leaf_samples", "weighted_sums", "node_responses", "leaf_probs", "correlation",
           "gating_correlation", "block_mass_ratio", "block_chance", "block_mass_table",
           "image_scorer", "toy_quality_diversity", "toy_scorer", "scale_tradeoff", "truncation_scores",
           "scoring_classifier", "summarize",
           "PAPER_CLUSTERING", "component_samples", "train_cluster_classifier", "gan_cluster", "feature_kmeans",
           "self_train", "OracleGenerator", "component_accuracy", "component_classes", "kmeans_baseline",
           "cluster_scores", "cluster_runs", "selftrain_curve", "z_grid", "regions", "component_modes"]

#: names that moved or were renamed: old name -> where it is now
MOVED = {"SIGMAS": "analysis.SCALES", "sigma_tradeoff": "analysis.scale_tradeoff",
         "summarise": "analysis.summarize (keys <key>_mean, <key>_std, <key>_sem)",
         "save_summary": "results.save(key, summary, kind='tree_summary')",
         "load_summary": "results.load(key)", "result_file": "results.path(key)",
         "load_result": "results.load(key)", "RESULT_SETTINGS": "results.keys(prefix)",
         "cluster_results": "results.load('cluster/<dataset>/runs')"}


def __getattr__(name):
    if name in MOVED:
        raise AttributeError(f"mixgan.analysis.{name} is gone: use mixgan.{MOVED[name]}")
    raise AttributeError(f"module 'mixgan.analysis' has no attribute {name!r}")
