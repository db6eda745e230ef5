"""Interpretability and analysis of trained models (SPEC §6).

    s = tree_summary(model)                     # node responses + top samples per leaf (HMoG Fig. 12–13)
    C = gating_correlation(model)               # K×K correlation of leaf probabilities (Fig. 11)
    block_mass_ratio(C, 4)                      # how much of it sits in the 4×4 diagonal blocks
    rows = sigma_tradeoff({"gan": g, "mmgan": m}, image_scorer(clf, feats))   # seed 003 Fig. 4.5
    pred, clf = gan_cluster(mmgan, x)           # seed 003 Algorithm 2;  kmeans_baseline(x, 10)

Everything samples its latents under a fixed `seed` (the global RNG is restored afterwards), so
two calls with the same seed see the same z.
"""
from __future__ import annotations

import math
import types

import numpy as np
import torch

from . import metrics
from .nets import priors
from .utils import seeded  # noqa: F401  (re-exported: analysis.seeded)

SIGMAS = tuple(round(0.5 + 0.1 * i, 1) for i in range(16))     # σ ∈ {0.5, 0.6, …, 2.0}

# seed 003 Table 5.1 (ACC, NMI)
PAPER_CLUSTERING = [
    dict(dataset="mnist", method="K-Means", acc=0.5349, nmi=0.500),
    dict(dataset="mnist", method="MM-GAN", acc=0.9924, nmi=0.9618),
    dict(dataset="fashionmnist", method="K-Means", acc=0.4714, nmi=0.5115),
    dict(dataset="fashionmnist", method="MM-GAN", acc=0.5816, nmi=0.5690),
]


def _batches(n, batch):
    return [(s, min(n, s + batch)) for s in range(0, n, batch)]


def _gated_head(model):
    if not hasattr(model.head, "gates"):
        raise ValueError(f"model {model.cfg.name!r} has a {type(model.head).__name__} head without gates; "
                         "gating analysis needs a SoftTree (hmog), SoftMixture (mog) or GatedHead (megan)")
    return model.head


# ----------------------------------------------------------------------------- latents and sampling


@torch.no_grad()
def sample_latents(model, n, sigma=1.0, truncate=None, seed=0):
    """z [n, d] and component k [n] from the model's prior with covariance scaled by σ.

        Normal:  z ~ N(0, σ I)          GMM:  k ~ Cat(1/K),  z | k ~ N(μ_k, σ Σ_k)

    truncate = keep fraction: draw n/keep candidates and keep the n most likely under the
    (scaled) prior, i.e. drop the least likely 1 − keep (HMoG paper §IV-B uses keep = 0.75).
    """
    with seeded(seed):
        if truncate is not None:
            return priors.truncate(model.prior, n, truncate, sigma)
        return model.prior.sample(n, scale=sigma)


@torch.no_grad()
def sample_at(model, n, sigma=1.0, truncate=None, seed=0):
    """n samples [n, *data_shape] drawn with `model.sample(n, scale=σ, truncate=…)` under `seed`."""
    with seeded(seed):
        return model.sample(n, scale=sigma, truncate=truncate)


def sample_grid_at(model, sigma, n=64, seed=0):
    """The σ slider's grid: n samples at scale σ from the SAME noise for every σ.

    With a fixed seed, z = μ_k + √σ · A_k ε uses the same (k, ε) whatever σ is, so moving σ
    shows the same samples pulled towards (σ < 1) or pushed away from (σ > 1) their mode.
    """
    return sample_at(model, n, sigma=sigma, seed=seed)


# ----------------------------------------------------------------------------- the tree figure


def weighted_sums(x, levels):
    """Per node: numerator Σ_b p_bm x_b [n_l, *S] and denominator Σ_b p_bm [n_l], for every level.

    x [B, *S] samples, levels: list of path probabilities [B, n_l] (``head.node_probs(z)``).
    """
    flat = x.flatten(1)
    return [(p.T @ flat).view(p.shape[1], *x.shape[1:]) for p in levels], [p.sum(0) for p in levels]


def node_responses(x, levels):
    """Average response of every node: r_m = Σ_b p_bm x_b / Σ_b p_bm (HMoG Fig. 12–13).

    x [B, *S], levels list of [B, n_l] path probabilities -> list of [n_l, *S], one per level.
    p_bm is the product of the gates on the path from the root to node m for sample b.
    """
    nums, dens = weighted_sums(x, levels)
    return [num / den.view(-1, *[1] * (num.dim() - 1)) for num, den in zip(nums, dens)]


@torch.no_grad()
def tree_summary(model, n=10_000, top=5, seed=0, batch=1000):
    """Everything the tree figure shows, from n latents z ~ prior (fixed seed):

    levels     list of [arity**l, *S]: the average response of every node, level by level
    leaf_x     [K, top, *S]: for each leaf, the samples of the `top` z (of n) with the highest
               leaf probability P(leaf | z)
    leaf_p     [K, top]: those probabilities;  leaf_usage [K]: mean_z P(leaf | z)
    arity, depth

    Works for SoftTree (HMoG) and SoftMixture (MoG = a depth-1 tree). Streams over batches of
    `batch` latents, so memory does not grow with n.
    """
    head = _gated_head(model)
    if not hasattr(head, "node_probs"):
        raise ValueError(f"the tree figure needs a soft tree head (hmog / mog), got {type(head).__name__}")
    model.eval()
    z, _ = sample_latents(model, n, seed=seed)
    nums, dens, gates = None, None, []
    for s, e in _batches(n, batch):
        levels = head.node_probs(z[s:e])
        x, _ = model.generate(z[s:e])
        num, den = weighted_sums(x, levels)
        nums = num if nums is None else [a + b for a, b in zip(nums, num)]
        dens = den if dens is None else [a + b for a, b in zip(dens, den)]
        gates.append(levels[-1])
    gates = torch.cat(gates)                                        # [n, K]
    resp = [a / b.view(-1, *[1] * (a.dim() - 1)) for a, b in zip(nums, dens)]
    p, idx = gates.topk(top, dim=0)                                 # [top, K]
    x_top, _ = model.generate(z[idx.T.reshape(-1)])
    K = gates.shape[1]
    return dict(levels=[r.cpu() for r in resp], leaf_x=x_top.view(K, top, *x_top.shape[1:]).cpu(),
                leaf_p=p.T.cpu(), leaf_usage=gates.mean(0).cpu(), arity=head.arity, depth=head.depth)


def leaf_samples(summary, leaf):
    """The top samples of one leaf from a `tree_summary`: (x [top, *S], P(leaf | z) [top])."""
    K = summary["leaf_x"].shape[0]
    if not 0 <= leaf < K:
        raise ValueError(f"leaf must be in [0, {K - 1}], got {leaf}")
    return summary["leaf_x"][leaf], summary["leaf_p"][leaf]


# ----------------------------------------------------------------------------- gating correlations


@torch.no_grad()
def leaf_probs(model, n=10_000, seed=0, batch=5000):
    """Gates P(leaf | z) [n, K] for n latents z ~ prior (fixed seed)."""
    head = _gated_head(model)
    model.eval()
    z, _ = sample_latents(model, n, seed=seed)
    return torch.cat([head.gates(z[s:e]) for s, e in _batches(n, batch)]).cpu()


def correlation(gates):
    """Pearson correlation of the columns of gates [n, K] -> [K, K] numpy (np.corrcoef).

    A leaf whose probability never varies has no defined correlation: its row and column are
    set to 0 and its diagonal entry to 1, so the matrix stays symmetric with a unit diagonal.
    """
    g = torch.as_tensor(gates).double().cpu().numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        c = np.corrcoef(g, rowvar=False)
    c = np.nan_to_num(c, nan=0.0)
    np.fill_diagonal(c, 1.0)
    return c


def gating_correlation(model, n=10_000, seed=0):
    """K×K correlation matrix of the leaf probabilities over n latents z ~ prior (HMoG Fig. 11).

        C_ij = corr_z( P(leaf i | z), P(leaf j | z) )

    Leaves keep their position in the tree (breadth-first: the children of node m are
    m·arity … m·arity + arity − 1), so siblings are neighbours on the diagonal.
    """
    return correlation(leaf_probs(model, n, seed))


def block_mass_ratio(corr, block, kind="positive"):
    """Share of the off-diagonal correlation mass inside the diagonal blocks of size `block`.

        w_ij = max(C_ij, 0)  (kind="positive": leaves used *together*)   or |C_ij|  (kind="abs")
        ratio = Σ_{i≠j, ⌊i/b⌋=⌊j/b⌋} w_ij / Σ_{i≠j} w_ij

    For a depth-4 binary tree, blocks of 2 are siblings and blocks of 4 the subtrees of depth 2.
    Mass spread evenly over the matrix gives the chance level (b − 1)/(K − 1) (`block_chance`);
    a tree whose nearby leaves are used together scores above it. Returns nan when w is all 0.
    """
    c = np.asarray(corr, dtype=float)
    K = c.shape[0]
    if c.ndim != 2 or c.shape[1] != K:
        raise ValueError(f"corr must be a square matrix, got shape {c.shape}")
    if block < 1 or K % block:
        raise ValueError(f"block size {block} must divide K = {K}")
    if kind not in ("positive", "abs"):
        raise ValueError(f"kind must be 'positive' or 'abs', got {kind!r}")
    w = np.clip(c, 0, None) if kind == "positive" else np.abs(c)
    i = np.arange(K)
    off = i[:, None] != i[None, :]
    same = (i[:, None] // block == i[None, :] // block) & off
    total = w[off].sum()
    return float(w[same].sum() / total) if total > 0 else float("nan")


def block_chance(K, block):
    """The block-mass ratio of a matrix with equal off-diagonal entries: (b − 1)/(K − 1)."""
    return (block - 1) / (K - 1)


def block_mass_table(corrs, blocks=(2, 4), kinds=("positive",)):
    """Rows dict(model, block, kind, ratio, chance) for a dict {name: K×K correlation matrix}."""
    return [dict(model=name, block=b, kind=k, ratio=block_mass_ratio(c, b, k), chance=block_chance(len(c), b))
            for name, c in corrs.items() for k in kinds for b in blocks]


# ----------------------------------------------------------------------------- σ trade-off (seed 003 §4.3)


def image_scorer(classifier, train_feats, alpha="auto", max_pairs=1000):
    """score(x) -> dict(quality, diversity, d_intra, d_inter) with seed 003's scores.

    quality = q(X) (eq. 3.3) on `classifier.features` against `train_feats` (the training set's
    features), diversity = d = √(d_intra·d_inter) (eq. 3.6). α is calibrated once here, so every
    σ and every model is scored with the same α.
    """
    if alpha == "auto":
        alpha = metrics.calibrate_alpha(train_feats)

    def score(x):
        r = metrics.quality_diversity(x, classifier, train_feats, alpha=alpha, max_pairs=max_pairs)
        return dict(quality=r["q"], diversity=r["d"], d_intra=r["d_intra"], d_inter=r["d_inter"])
    return score


def toy_quality_diversity(samples, spec, threshold=3.0, n_pairs=1000, seed=0):
    """The 2-D analogue of seed 003's q and d (cheap, no classifier) -> dict.

        quality   = HQ fraction: share of samples within `threshold`·σ of their nearest true mode
        d_intra   = mean pairwise distance of the samples / that of the true mixture (eq. 3.4 uses
                    1 − MS-SSIM, a pairwise dissimilarity, in the same place); 1 = as spread as
                    the data, > 1 = more spread (not capped)
        d_inter   = H(p̂) / log M, p̂ the nearest-mode histogram of all samples (eq. 3.5's
                    histogram of predicted classes)
        diversity = √(d_intra · d_inter)

    Pairwise distances use the first `n_pairs` samples and `n_pairs` true samples (fixed seed).
    """
    x = torch.as_tensor(samples, dtype=torch.float32)
    means = spec.means.float()
    d, nearest = torch.cdist(x, means).min(1)
    g = torch.Generator().manual_seed(seed)
    ref = means[torch.multinomial(spec.weights, n_pairs, True, generator=g)]
    ref = ref + spec.sigma * torch.randn(n_pairs, x.shape[1], generator=g)
    d_intra = float(torch.pdist(x[:n_pairs]).mean() / torch.pdist(ref).mean())
    p = torch.bincount(nearest, minlength=len(means)).double() / len(x)
    p = p[p > 0]
    d_inter = float(-(p * p.log()).sum() / math.log(len(means)))
    return dict(quality=float((d / spec.sigma < threshold).float().mean()),
                diversity=math.sqrt(d_intra * d_inter), d_intra=d_intra, d_inter=d_inter)


def toy_scorer(spec, threshold=3.0):
    """score(x) -> `toy_quality_diversity(x, spec)` for 2-D toys."""
    return lambda x: toy_quality_diversity(x, spec, threshold)


def sigma_tradeoff(models_by_name, score_fn, sigmas=SIGMAS, n=1000, seed=0, truncate=None):
    """Quality and diversity against the post-training covariance scale σ (seed 003 Fig. 4.5).

    models_by_name: {name: model, or a list of models (e.g. one per training seed)};
    score_fn(x) -> dict with at least "quality" and "diversity" (`image_scorer`, `toy_scorer`).
    For every model and σ: x = n samples with z ~ prior scaled by σ (same `seed` for every σ).
    Returns a tidy list of dicts(model, run, sigma, quality, diversity, …) — pass it to
    pandas.DataFrame or `summarise`.
    """
    rows = []
    for name, ms in models_by_name.items():
        for run, model in enumerate(ms if isinstance(ms, (list, tuple)) else [ms]):
            for s in sigmas:
                x = sample_at(model, n, sigma=s, truncate=truncate, seed=seed)
                rows.append(dict(model=name, run=run, sigma=float(s), **score_fn(x.cpu())))
    return rows


def summarise(rows, keys=("quality", "diversity"), by=("model", "sigma")):
    """Mean and standard error of the mean over runs: rows dict(*by, key, key_sem, n)."""
    groups = {}
    for r in rows:
        groups.setdefault(tuple(r[b] for b in by), []).append(r)
    out = []
    for g, rs in groups.items():
        row = dict(zip(by, g), n=len(rs))
        for k in keys:
            v = np.array([r[k] for r in rs], dtype=float)
            row[k] = float(v.mean())
            row[k + "_sem"] = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0
        out.append(row)
    return out


def truncation_scores(model, score_fn, keep=0.75, n=1000, seed=0):
    """Scores of n samples without and with truncation (drop the least likely 1 − keep of z)
    -> [dict(truncate=None, …), dict(truncate=keep, …)]."""
    return [dict(truncate=t, **score_fn(sample_at(model, n, truncate=t, seed=seed).cpu()))
            for t in (None, keep)]


# ----------------------------------------------------------------------------- GAN-based clustering (seed 003 §5)


@torch.no_grad()
def component_samples(model, M, seed=0):
    """Algorithm 2, lines 2–6: M samples from each of the K latent Gaussians -> (x [K·M, …], k [K·M])."""
    if model.cfg.prior != "gmm":
        raise ValueError(f"GAN-based clustering needs a Gaussian-mixture prior (an MM-GAN), got "
                         f"prior={model.cfg.prior!r} for model {model.cfg.name!r}")
    K = model.prior.K
    with seeded(seed):
        x = torch.cat([model.sample(M, k=k).cpu() for k in range(K)])
    return x, torch.arange(K).repeat_interleave(M)


class _VectorClassifier:
    """A one-hidden-layer MLP (scikit-learn) for 2-D / vector data, with the DomainClassifier's predict."""

    def __init__(self, x, y, seed):
        from sklearn.neural_network import MLPClassifier
        self.net = MLPClassifier((64,), max_iter=300, random_state=seed).fit(x.numpy(), y.numpy())

    def probs(self, x):
        return torch.as_tensor(self.net.predict_proba(torch.as_tensor(x).numpy()))

    def features(self, x):
        """The hidden layer, relu(x W1 + b1) [n, 64]."""
        h = torch.as_tensor(x).numpy() @ self.net.coefs_[0] + self.net.intercepts_[0]
        return torch.as_tensor(np.maximum(h, 0))

    def predict(self, x):
        return self.probs(x).argmax(1)


def train_cluster_classifier(x, k, K, epochs=3, seed=0, device=None, progress=False, batch_size=128,
                             augment="strong"):
    """Algorithm 2, line 7: a K-way classifier on generated samples x labelled by their Gaussian k.

    Images [n, C, H, W]: the metrics' `DomainClassifier` CNN (`train_domain_classifier`, Adam) with
    strong augmentation by default (`metrics.features.affine_stroke`: rotation, zoom, shift, stroke width), so
    that a classifier fitted to a GAN's tidier samples carries over to real images (MNIST, CPU
    checkpoint: ACC 0.43 with ±2 px shifts -> 0.50-0.53; BENCHMARKS.md); vectors [n, D]: a 64-unit
    MLP (scikit-learn).
    """
    if x.dim() == 4:
        return metrics.train_domain_classifier(x, k, n_classes=K, epochs=epochs, seed=seed, device=device,
                                               progress=progress, batch_size=batch_size, name="cluster-classifier",
                                               augment=augment)
    return _VectorClassifier(x, k, seed)


def gan_cluster(model, x, M=1000, epochs=3, seed=0, device=None, progress=False, batch_size=128, augment="strong"):
    """GAN-based clustering, seed 003 Algorithm 2, for a trained unsupervised MM-GAN with K Gaussians.

        X̃_k = G(z), z ~ N(μ_k, Σ_k)^M for k = 1..K;   c = classifier(∪_k X̃_k, labels k)
        cluster(x) = argmax_k c(x)_k

    x: the data to cluster [n, …]; M samples per Gaussian; epochs / batch_size / augment ("strong",
    "shift", "none") for the classifier.
    Returns (clusters [n] numpy int, the classifier c).
    """
    xs, ks = component_samples(model, M, seed)
    clf = train_cluster_classifier(xs, ks, model.prior.K, epochs, seed, device, progress, batch_size, augment)
    return np.asarray(clf.predict(torch.as_tensor(x).float()), dtype=np.int64), clf


def feature_kmeans(classifier, x, K, seed=0):
    """k-means (K clusters, 10 restarts, `random_state=seed`) on the classifier's L2-normalised
    penultimate features of x -> (labels [n] long, squared distance to the own centre [n])."""
    from sklearn.cluster import KMeans
    f = torch.nn.functional.normalize(torch.as_tensor(classifier.features(x)).float().cpu(), dim=1).numpy()
    km = KMeans(K, n_init=10, random_state=seed).fit(f)
    dist = ((f - km.cluster_centers_[km.labels_]) ** 2).sum(1)
    return torch.as_tensor(km.labels_).long(), torch.as_tensor(dist)


def self_train(x, clusters, classifier, K, rounds=3, keep=0.5, epochs=2, seed=0, device=None, progress=False,
               batch_size=128, augment="strong", relabel="kmeans"):
    """Self-training after Algorithm 2: our addition, not in seed 003. The classifier of line 7 has
    only seen generated images; each round refits it on the *real* data it clusters:

        relabel="kmeans": L = k-means on c's features (`feature_kmeans`), ranked by distance to the centre
        relabel="argmax": L = argmax_k c(x)_k, ranked by the confidence max_k c(x)_k
        S = for each label k, the `keep` fraction of its x ranked first
        c ← classifier(S, labels L(S));    cluster(x) ← argmax_k c(x)_k   (all x)

    x [n, …], clusters [n] (from `gan_cluster`; the argmax of `classifier` on x), classifier with
    `.probs` (and `.features` for "kmeans"); `epochs` over S (fractions allowed). k-means rounds
    (alternating clustering of features and training on the clusters, as in DeepCluster, Caron et al.
    2018) re-cut all K clusters each round, so they can split classes that two Gaussians share and refill a
    cluster that emptied; argmax rounds only sharpen the clusters a GAN found. MNIST (BENCHMARKS.md):
    10,000 images, CPU GANs of seeds 0/1/2, 5 rounds: k-means 0.87/0.89/0.88, argmax 0.81/0.63/0.71; all
    60,000 images, the seed-0 GPU GAN: k-means (2 epochs) 0.958, argmax (5 epochs) 0.960. The control
    started from k-means on pixels instead of a GAN (`analysis_targets.py cluster --start kmeans`) ends as
    high at 10,000 images (k-means rounds 0.87-0.89) but far lower on 60,000 (0.79), where the GAN does the
    work. Give each round enough optimizer steps: a weak refit lets clusters merge round after round (MNIST,
    1,000 images, 2 epochs of batch 32: ACC 0.46 -> 0.16 in 3 argmax rounds); one epoch instead of two on
    10,000 images ended at 0.74 instead of 0.89. Round r trains with seed `seed + r + 1` (k-means:
    random_state `seed + r`). Returns (clusters [n] numpy int, classifier, history: the clusters after each round).
    """
    if not 0 < keep <= 1:
        raise ValueError(f"keep must be in (0, 1], got {keep}")
    if relabel not in ("argmax", "kmeans"):
        raise ValueError(f"relabel must be 'argmax' or 'kmeans', got {relabel!r}")
    x = torch.as_tensor(x).float()
    clf, history = classifier, []
    pred = torch.as_tensor(np.asarray(clusters)).long()
    for r in range(rounds):
        if relabel == "argmax":                     # the current clusters, most confident first
            lab, rank = pred, torch.as_tensor(clf.probs(x)).max(1).values.neg()
        else:                                       # re-cut: k-means on the features, nearest first
            lab, rank = feature_kmeans(clf, x, K, seed + r)
        chosen = []
        for k in lab.unique():
            idx = (lab == k).nonzero().flatten()
            chosen.append(idx[rank[idx].argsort()[:max(1, int(len(idx) * keep))]])
        S = torch.cat(chosen).sort().values
        clf = train_cluster_classifier(x[S], lab[S], K, epochs, seed + r + 1, device, progress, batch_size, augment)
        pred = torch.as_tensor(clf.predict(x)).long()
        history.append(pred.numpy().astype(np.int64))
    return pred.numpy().astype(np.int64), clf, history


class OracleGenerator:
    """A stand-in for a perfectly trained MM-GAN: "Gaussian" k returns random real images of
    class k. Running Algorithm 2 on it gives the ceiling of the method for a given classifier
    budget (only the GAN is replaced; steps 2–8 run unchanged)."""

    def __init__(self, x, y):
        self.classes = sorted(set(torch.as_tensor(y).tolist()))
        self.pool = [x[torch.as_tensor(y) == c] for c in self.classes]
        self.prior = types.SimpleNamespace(K=len(self.classes))
        self.cfg = types.SimpleNamespace(prior="gmm", name="oracle")

    def sample(self, n, k):
        return self.pool[k][torch.randint(len(self.pool[k]), (n,))]


def component_accuracy(model, classifier, M=200, seed=1):
    """How well `classifier` tells the K Gaussians apart on fresh samples (a different seed):
    accuracy of argmax c(G(z)) = k for z ~ N(μ_k, Σ_k). Near 1 when the generator keeps its
    Gaussians distinct; the clustering can only be as good as this."""
    xs, ks = component_samples(model, M, seed)
    return float((torch.as_tensor(classifier.predict(xs)) == ks).double().mean())


def component_classes(model, judge, M=200, seed=1):
    """Which real class each latent Gaussian draws, read by a *supervised* `judge` classifier
    (e.g. the shipped `DomainClassifier.pretrained("mnist")`): a diagnostic, not part of Algorithm 2.

        T[k, c] = #{i : judge(G(z_i)) = c},  z_i ~ N(μ_k, Σ_k), i = 1..M
        purity = Σ_k max_c T[k, c] / (K·M)        (each Gaussian draws one class: 1)
        acc    = Hungarian-matched accuracy of k against judge(G(z))   (one class per Gaussian, all distinct: 1)

    Returns dict(table [K][N] list, purity, acc, classes = the majority class of each Gaussian,
    covered = how many distinct classes those are, spread = mean per-pixel std of G(z) within a
    Gaussian: near 0 when a Gaussian collapses to one image; real MNIST classes give about 0.29).
    """
    xs, ks = component_samples(model, M, seed)
    cls = torch.as_tensor(judge.predict(xs)).long()
    K, N = model.prior.K, int(max(cls.max().item() + 1, getattr(judge, "config", {}).get("n_classes", 0)))
    table = torch.zeros(K, N, dtype=torch.long).index_put_((ks, cls), torch.ones_like(ks), accumulate=True)
    majority = table.argmax(1)
    return dict(table=table.tolist(), purity=round(float(table.max(1).values.sum() / table.sum()), 4),
                acc=round(metrics.cluster_acc(cls.numpy(), ks.numpy()), 4), classes=majority.tolist(),
                covered=len(set(majority.tolist())),
                spread=round(float(xs.view(K, M, -1).std(1).mean()), 4))


def kmeans_baseline(x, K, seed=0, n_init=3):
    """k-means on raw pixels / coordinates (scikit-learn, `n_init` restarts) -> clusters [n] numpy."""
    from sklearn.cluster import KMeans
    flat = torch.as_tensor(x).float().flatten(1).cpu().numpy()
    return KMeans(K, n_init=n_init, random_state=seed).fit_predict(flat).astype(np.int64)


def cluster_scores(y, pred):
    """dict(acc, nmi): Hungarian-matched accuracy and NMI (seed 003 eq. 5.1–5.2)."""
    return dict(acc=metrics.cluster_acc(y, pred), nmi=metrics.nmi(y, pred))


# ----------------------------------------------------------------------------- stored results (results/analysis)


def save_summary(summary, path):
    """Write a `tree_summary` to `path` with its tensors in float16 (a few hundred kB)."""
    half = {k: (v.half() if torch.is_tensor(v) else [t.half() for t in v] if isinstance(v, list) else v)
            for k, v in summary.items()}
    torch.save(half, path)


def load_summary(path):
    """Read a tree summary written by `save_summary` (weights_only) back as float32."""
    s = torch.load(path, map_location="cpu", weights_only=True)
    return {k: (v.float() if torch.is_tensor(v) else [t.float() for t in v] if isinstance(v, list) else v)
            for k, v in s.items()}


RESULT_SETTINGS = ("full", "full-*", "cpu")   # a GPU run, then a tagged GPU run, then the CPU run


def result_file(folder, stem, ext=".pt", settings=RESULT_SETTINGS):
    """The first existing `<folder>/<stem>_<setting><ext>` -> (setting, Path), else (None, None).
    A setting may be a glob ("full-*": a GPU run with a tag, e.g. full-s3000); its matches are
    taken in name order."""
    from pathlib import Path
    for s in settings:
        for f in sorted(Path(folder).glob(f"{stem}_{s}{ext}")):
            return f.name[len(stem) + 1:len(f.name) - len(ext)], f
    return None, None


def scoring_classifier(dataset, x=None, y=None, epochs=1, seed=0):
    """The classifier behind q and d: the shipped / cached `DomainClassifier.pretrained(dataset)`
    when its weights are on disk, else (quick runs) one trained here on (x, y) for `epochs`.
    Returns (classifier, a sentence saying which one it is)."""
    from .metrics.features import SHIPPED_DIR, cache_dir
    fname = metrics.DomainClassifier.key(dataset)
    if any((d / fname).is_file() for d in (SHIPPED_DIR, cache_dir())) or x is None:
        return metrics.DomainClassifier.pretrained(dataset), f"the shipped {dataset} DomainClassifier"
    clf = metrics.train_domain_classifier(x, y, epochs=epochs, seed=seed, progress=False)
    return clf, f"a DomainClassifier trained here on {len(x)} images for {epochs} epoch(s) (no shipped weights)"


def load_result(folder, name, settings=RESULT_SETTINGS):
    """The first stored `<folder>/<name>_<setting>.json` in order of `settings` (a GPU run before a
    CPU one) -> (setting, dict), or (None, None) when none exists."""
    import json
    s, f = result_file(folder, name, ".json", settings)
    return (s, json.loads(f.read_text())) if f is not None else (None, None)


def cluster_results(folder, dataset):
    """Every stored `cluster_<dataset>_<run>.json` of `benchmarks/analysis_targets.py cluster`
    -> {run: result dict}, in file-name order."""
    import json
    from pathlib import Path
    files = sorted(Path(folder).glob(f"cluster_{dataset}_*.json"))
    return {f.stem[len(f"cluster_{dataset}_"):]: json.loads(f.read_text()) for f in files}


def cluster_runs(folder, dataset):
    """The stored clustering runs (`cluster_results`) as table rows dict(source, method, acc, nmi):
    Algorithm 2 ("MM-GAN"), k-means and, when the run had them, the last self-training round (with how
    its rounds relabelled: "argmax" or "k-means on features"). A control run without a GAN (`cluster
    --start kmeans`: self-training started from k-means on pixels) gives k-means and its last round.
    `source` names the run: device, seed and settings."""
    rows = []
    for r in cluster_results(folder, dataset).values():
        st = r["settings"]
        how = "k-means on features" if st.get("relabel") == "kmeans" else "argmax"
        head = f"committed {r.get('run', r['setting'])} run ({r.get('device', 'cpu')}, seed {r['seed']}): "
        aug = f"classifier aug. {st.get('clf_augment', 'shift')}"
        if r.get("start") == "kmeans":                              # the control without a GAN
            src = head + f"no GAN, {r['n_clustered']} images, {aug}"
            rows.append(dict(source=src, method="k-means", **r["kmeans"]))
            if r.get("kmeans_selftrain"):
                rows.append(dict(source=src, method=f"k-means + {len(r['kmeans_selftrain'])} self-training rounds "
                                 f"({how})", **r["kmeans_selftrain"][-1]))
            continue
        src = (head + f"base {st['base']}, c={st['c']}, {st['steps']} steps{', lr decay' if st.get('lr_decay') else ''}"
               f"{', D packs of %d' % st['pack'] if st.get('pack', 1) > 1 else ''}, {aug}")
        rows += [dict(source=src, method=m, **r[k]) for m, k in (("MM-GAN", "mmgan"), ("k-means", "kmeans"))]
        if r.get("mmgan_selftrain"):
            rows.append(dict(source=src, method=f"MM-GAN + {len(r['mmgan_selftrain'])} self-training rounds ({how})",
                             **r["mmgan_selftrain"][-1]))
    return rows


def selftrain_curve(result):
    """A `cluster` result -> [scores at round 0, after round 1, …]: round 0 is Algorithm 2 ("mmgan"), or
    k-means for a control run without a GAN (`start == "kmeans"`)."""
    if result.get("start") == "kmeans":
        return [result["kmeans"]] + list(result.get("kmeans_selftrain") or [])
    return [result["mmgan"]] + list(result.get("mmgan_selftrain") or [])
