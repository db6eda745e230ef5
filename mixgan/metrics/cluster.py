"""Clustering scores of predicted labels against true ones, and label checks.

    cluster_acc(y_true, y_pred)    # best one-to-one matching of clusters to classes
    nmi(y_true, y_pred)            # normalised mutual information (geometric mean)

Labels: 1-D integer arrays, tensors or lists; Python floats out.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from torch import Tensor


def check_labels(y, name: str = "labels") -> np.ndarray:
    """A 1-D integer label array (tensor, list or array) → int64 numpy; ValueError otherwise."""
    a = y.detach().cpu().numpy() if isinstance(y, Tensor) else np.asarray(y)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if len(a) == 0:
        raise ValueError(f"{name} is empty")
    if a.dtype.kind == "f":
        if not np.isfinite(a).all() or (a != np.round(a)).any():
            raise ValueError(f"{name} must be integers, got non-integral or NaN values")
    elif a.dtype.kind not in "iub":
        raise ValueError(f"{name} must be integers, got dtype {a.dtype}")
    return a.astype(np.int64)


def check_label_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Two label arrays of the same length (see `check_labels`)."""
    a, b = check_labels(y_true, "y_true"), check_labels(y_pred, "y_pred")
    if len(a) != len(b):
        raise ValueError(f"y_true and y_pred must have the same length, got {len(a)} and {len(b)}")
    return a, b


def cluster_acc(y_true, y_pred) -> float:
    """Clustering accuracy with the best one-to-one matching of clusters to classes.

        ACC = max_π (1/n) Σ_i [y_true_i = π(y_pred_i)]

    π found by the Hungarian algorithm (`scipy.optimize.linear_sum_assignment`) on the
    contingency table; the numbers of clusters and classes may differ (unmatched ones count
    as errors).
    """
    a, b = check_label_pair(y_true, y_pred)
    _, ai = np.unique(a, return_inverse=True)
    _, bi = np.unique(b, return_inverse=True)
    table = np.zeros((bi.max() + 1, ai.max() + 1), dtype=np.int64)
    np.add.at(table, (bi, ai), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / len(a))


def nmi(y_true, y_pred) -> float:
    """Normalised mutual information with the geometric-mean normaliser (MM-GAN eq. 5.2).

        NMI = I(y_true; y_pred) / √(H(y_true) · H(y_pred))

    scikit-learn's `normalized_mutual_info_score(..., average_method="geometric")` (sklearn's
    default is the arithmetic mean, which gives slightly different numbers).
    """
    from sklearn.metrics import normalized_mutual_info_score    # lazy: sklearn is slow to import

    a, b = check_label_pair(y_true, y_pred)
    return float(normalized_mutual_info_score(a, b, average_method="geometric"))
