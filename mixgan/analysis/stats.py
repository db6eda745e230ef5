"""Tables of runs: mean, standard deviation and standard error per group of tidy rows."""
from __future__ import annotations

import math

import numpy as np


def summarize(rows, keys=("quality", "diversity"), by=("model", "scale")):
    """Group tidy rows (dicts) by the columns `by`; per group and key:

        <key>_mean = mean over the group,  <key>_std = std with ddof 0,
        <key>_sem  = std with ddof 1 / √n  (0 for a group of one)

    Returns a list of dicts(*by, n, <key>_mean, <key>_std, <key>_sem), groups in order of first appearance.
    """
    groups = {}
    for r in rows:
        groups.setdefault(tuple(r[b] for b in by), []).append(r)
    out = []
    for g, rs in groups.items():
        row = dict(zip(by, g), n=len(rs))
        for k in keys:
            v = np.array([float(r[k]) for r in rs], dtype=float)
            row[k + "_mean"] = float(v.mean())
            row[k + "_std"] = float(v.std())
            row[k + "_sem"] = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0
        out.append(row)
    return out
