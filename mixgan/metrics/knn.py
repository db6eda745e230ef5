"""Nearest-neighbour metrics on feature sets: the k-NN two-sample test and chunked k-NN search.

All searches are exact and brute force, one block of query rows at a time:

    D²[i, j] = ‖q_i‖² + ‖r_j‖² − 2 q_i·r_j          (a matmul per block, then `topk`)

so memory is O(block · n_ref) instead of O(n_query · n_ref). Within one set (leave-one-out,
`knn_self`) the distance matrix is symmetric and only its upper block triangle is computed. The ‖q_i‖² term is constant along
a row and dropped when only the neighbour order matters. Distances are in the inputs' dtype
(float32 features → float32 matmuls), on features centred first: the expansion above cancels
catastrophically when the features sit far from the origin (‖x‖² ≫ distances², e.g. Inception
features with a large common offset), and translating every set by one common mean (computed in
float64) leaves the distances unchanged while keeping ‖x‖² of the order of the spread.
"""
from __future__ import annotations

import torch
from torch import Tensor

from .fid import check_features, check_pair

#: rows per block; a block of the distance matrix is BLOCK × n_ref values (20k refs → 80 MB in float32)
BLOCK = 1024


def _sqnorm(x: Tensor) -> Tensor:
    return (x * x).sum(1)


def centre(*sets: Tensor, like: Tensor | None = None) -> list[Tensor]:
    """Translate every set by the same vector, the float64 mean of `like` (default: the first set).

    Distances are unchanged; the norms in ‖a‖² + ‖b‖² − 2 a·b become those of the spread around
    the mean, so float32 keeps its precision for features far from the origin.
    """
    ref = sets[0] if like is None else like
    mu = ref.double().mean(0).to(ref.dtype)
    return [x - mu.to(x.device, x.dtype) for x in sets]


def knn_search(query, ref, k: int, exclude_self: bool = False, block: int = BLOCK) -> tuple[Tensor, Tensor]:
    """The k nearest rows of `ref` [m, d] for each row of `query` [n, d] (Euclidean, exact).

    Returns (dist [n, k], index [n, k]) sorted by increasing distance. With `exclude_self`
    (query is ref), each point's own row is excluded, i.e. leave-one-out neighbours.
    Distances: √max(‖q‖² + ‖r‖² − 2 q·r, 0) computed block by block on q and r centred at
    the mean of `ref`.
    """
    query = check_features(query, "query", min_n=1)
    ref = check_features(ref, "ref", min_n=1)
    if query.shape[1] != ref.shape[1]:
        raise ValueError(f"query and ref must have the same dimension, got {query.shape[1]} and {ref.shape[1]}")
    ref = ref.to(query.dtype)
    m = len(ref) - (1 if exclude_self else 0)
    if not 1 <= k <= m:
        raise ValueError(f"k must be in [1, {m}] here, got k={k}")
    if exclude_self and len(query) != len(ref):
        raise ValueError("exclude_self needs query and ref to be the same set")
    query, ref = centre(query, ref, like=ref)
    rn = _sqnorm(ref)
    dists, idx = [], []
    with torch.no_grad():
        for s in range(0, len(query), block):
            q = query[s:s + block]
            d2 = torch.addmm(rn, q, ref.T, beta=1, alpha=-2)          # ‖r‖² − 2 q·r  [b, m]
            if exclude_self:
                rows = torch.arange(len(q), device=q.device)
                d2[rows, rows + s] = float("inf")
            v, i = torch.topk(d2, k, dim=1, largest=False, sorted=True)
            dists.append((v + _sqnorm(q)[:, None]).clamp_min_(0).sqrt_())
            idx.append(i)
    return torch.cat(dists), torch.cat(idx)


def _merge(best_v: Tensor, best_i: Tensor, rows: slice, v: Tensor, i: Tensor) -> None:
    """Keep the k smallest of (current best, new candidates) for `rows`, in place."""
    k = best_v.shape[1]
    cv = torch.cat([best_v[rows], v], 1)
    ci = torch.cat([best_i[rows], i], 1)
    nv, pos = torch.topk(cv, k, dim=1, largest=False, sorted=False)
    best_v[rows] = nv
    best_i[rows] = torch.gather(ci, 1, pos)


def knn_self(x, k: int, block: int = 2048) -> tuple[Tensor, Tensor]:
    """Leave-one-out k nearest neighbours of every row of x [n, d] within x → (dist [n, k], index [n, k]).

    Same result as `knn_search(x, x, k, exclude_self=True)` at half the cost: the distance
    matrix is symmetric, so only the blocks on and above the diagonal are computed,

        D²[I, J] = ‖x_I‖² + ‖x_J‖² − 2 x_I x_Jᵀ      for block rows I ≤ J,

    and each block updates the running k best of its rows (top-k along dim 1) and of its
    columns (top-k along dim 0), on x centred at its mean. Sorted by increasing distance.
    """
    x = check_features(x, "x", min_n=2)
    x = centre(x)[0]
    n = len(x)
    if not 1 <= k <= n - 1:
        raise ValueError(f"k must be in [1, n − 1 = {n - 1}], got k={k}")
    sq = _sqnorm(x)
    inf = float("inf")
    best_v = torch.full((n, k), inf, dtype=x.dtype, device=x.device)
    best_i = torch.zeros((n, k), dtype=torch.long, device=x.device)
    with torch.no_grad():
        for s in range(0, n, block):
            rs = slice(s, min(s + block, n))
            for t in range(s, n, block):
                rt = slice(t, min(t + block, n))
                d2 = torch.addmm(sq[rt], x[rs], x[rt].T, beta=1, alpha=-2).add_(sq[rs, None])
                if t == s:
                    d2.fill_diagonal_(inf)
                kr = min(k, d2.shape[1])
                v, i = torch.topk(d2, kr, dim=1, largest=False, sorted=False)
                _merge(best_v, best_i, rs, v, i + t)
                if t != s:
                    kc = min(k, d2.shape[0])
                    v, i = torch.topk(d2.T.contiguous(), kc, dim=1, largest=False, sorted=False)
                    _merge(best_v, best_i, rt, v, i + s)
    v, order = best_v.sort(1)
    return v.clamp_min_(0).sqrt_(), torch.gather(best_i, 1, order)


VOTES = ("majority", "fraction")


def knn_two_sample(real, fake, k: int = 5, block: int = 2048, vote: str = "majority") -> tuple[float, float]:
    """Leave-one-out k-NN two-sample test (C2ST, Lopez-Paz & Oquab 2017) → (acc_real, acc_fake).

    Pool the n real [n, d] and m fake [m, d] vectors, label them real / fake, and look at the k
    nearest *other* points of each (Euclidean). With r(x) = share of x's k neighbours that are real:

        vote="majority" (default):  acc_real = (1/n) Σ_{x∈real} [r(x) > 1/2],
                                    acc_fake = (1/m) Σ_{x∈fake} [r(x) < 1/2 or = 1/2]
        vote="fraction":            acc_real = (1/n) Σ_{x∈real} r(x),
                                    acc_fake = (1/m) Σ_{x∈fake} (1 − r(x))

    "majority" is the accuracy of the k-NN classifier, the C2ST statistic (a tie, possible with
    even k, goes to "fake", as in scikit-learn's KNeighborsClassifier with labels fake = 0,
    real = 1). "fraction" averages the neighbours' label fractions: it is `nn_accuracy` of the HMoG
    authors' released code (Ahmetoğlu & Alpaydın, github.com/alper111/hmog), so it is the
    convention behind their Fig. 9, whose text only says "5-NN leave-one-out accuracy". The kit
    reports "majority" by default; pass vote="fraction" to compare with the paper's figures.
    The two differ (fraction pulls both accuracies towards 1/2 for mixed neighbourhoods).

    50 % on both halves means the sets are indistinguishable; ~100 % means well separated,
    and acc_real ≪ 50 % with acc_fake ≫ 50 % is the mode-collapse pattern (fakes bunched among
    reals). Exact brute force over the symmetric distance matrix in `block`×`block` tiles
    (`knn_self`, on centred features): memory O(block² + (n + m)·k) besides the inputs.
    """
    if vote not in VOTES:
        raise ValueError(f"vote must be one of {VOTES}, got {vote!r}")
    real, fake = check_pair(real, fake, ("real", "fake"), min_n=1)
    if k < 1 or k > len(real) + len(fake) - 1:
        raise ValueError(f"k must be in [1, n_real + n_fake − 1], got k={k}")
    dtype = torch.promote_types(real.dtype, fake.dtype)
    x = torch.cat([real.to(dtype), fake.to(real.device, dtype)])
    is_real = torch.zeros(len(x), dtype=torch.bool, device=x.device)
    is_real[:len(real)] = True
    _, idx = knn_self(x, k, block=block)
    real_votes = is_real[idx].sum(1)                   # neighbours labelled real
    if vote == "fraction":
        share = real_votes.double() / k
        return float(share[:len(real)].mean()), float((1 - share[len(real):]).mean())
    vote_real = 2 * real_votes > k                      # strict majority; ties → fake
    acc_real = vote_real[:len(real)].double().mean()
    acc_fake = (~vote_real[len(real):]).double().mean()
    return float(acc_real), float(acc_fake)
