"""Clustering with a trained unsupervised MM-GAN (Ben-Yosef & Weinshall, "Multi-Modal Generative
Adversarial Networks", Algorithm 2), self-training on the real data, and the k-means baseline.

    pred, clf = gan_cluster(mmgan, x)                 # Algorithm 2: classifier on G's samples per Gaussian
    pred, clf, history = self_train(x, pred, clf, K)  # rounds of refitting on the real data (our addition)
    cluster_scores(y, pred)                           # dict(acc, nmi);  kmeans_baseline(x, K)
"""
from __future__ import annotations

import types

import numpy as np
import torch

from .. import metrics
from ..utils import seeded

# The MM-GAN paper, Table 5.1: ACC and NMI of k-means and of Algorithm 2 on MNIST and Fashion-MNIST
PAPER_CLUSTERING = [
    dict(dataset="mnist", method="K-Means", acc=0.5349, nmi=0.500),
    dict(dataset="mnist", method="MM-GAN", acc=0.9924, nmi=0.9618),
    dict(dataset="fashionmnist", method="K-Means", acc=0.4714, nmi=0.5115),
    dict(dataset="fashionmnist", method="MM-GAN", acc=0.5816, nmi=0.5690),
]



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

    Images x [n, C, H, W]: the metrics' `DomainClassifier` CNN (`train_domain_classifier`, Adam), with
    strong augmentation by default (`metrics.features.affine_stroke`: rotation, zoom, shift, stroke
    width; "shift": ±2 px shifts; "none"), so that a classifier fitted to a GAN's tidier samples
    carries over to real images. Vectors x [n, D]: a 64-unit MLP (scikit-learn).
    """
    if x.dim() == 4:
        return metrics.train_domain_classifier(x, k, n_classes=K, epochs=epochs, seed=seed, device=device,
                                               progress=progress, batch_size=batch_size, name="cluster-classifier",
                                               augment=augment)
    return _VectorClassifier(x, k, seed)


def gan_cluster(model, x, M=1000, epochs=3, seed=0, device=None, progress=False, batch_size=128, augment="strong"):
    """GAN-based clustering, the MM-GAN paper's Algorithm 2, for a trained unsupervised MM-GAN with K Gaussians.

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
    """Self-training after Algorithm 2 (our addition, not in the MM-GAN paper). The classifier of line 7
    has only seen generated images; each round refits it on the *real* data it clusters:

        relabel="kmeans": L = k-means on c's features (`feature_kmeans`), ranked by distance to the centre
        relabel="argmax": L = argmax_k c(x)_k, ranked by the confidence max_k c(x)_k
        S = for each label k, the `keep` fraction of its x ranked first
        c ← classifier(S, labels L(S));    cluster(x) ← argmax_k c(x)_k   (all x)

    x [n, …], clusters [n] (from `gan_cluster`: the argmax of `classifier` on x), classifier with
    `.probs` (and `.features` for "kmeans"); `epochs` over S (fractions allowed). k-means rounds
    alternate clustering the features and training on the clusters, as DeepCluster does (Caron et al.,
    "Deep Clustering for Unsupervised Learning of Visual Features", 2018): they re-cut all K clusters each
    round, so they can split classes that two Gaussians share and refill a cluster that emptied; argmax
    rounds only sharpen the clusters the GAN found. Each round needs enough optimizer steps (epochs ·
    |S| / batch_size): a weak refit lets clusters merge round after round. Round r trains with seed
    `seed + r + 1` (k-means: random_state `seed + r`).
    Returns (clusters [n] numpy int, classifier, history: the clusters [n] after each round).
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
    Gaussian: near 0 when a Gaussian collapses to one image, about 0.3 for a real MNIST class).
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
    """dict(acc, nmi): Hungarian-matched accuracy and NMI (the MM-GAN paper, eq. 5.1–5.2)."""
    return dict(acc=metrics.cluster_acc(y, pred), nmi=metrics.nmi(y, pred))


def cluster_runs(runs):
    """Stored clustering runs {name: result of `benchmarks/analysis_targets.py cluster`} as table rows
    dict(source, method, acc, nmi): Algorithm 2 ("MM-GAN"), k-means and, when the run had them, the
    last self-training round (with how its rounds relabelled: "argmax" or "k-means on features").
    A control run without a GAN (`start == "kmeans"`: self-training started from k-means on the
    pixels) gives k-means and its last round. `source` names the run: device, seed and settings."""
    rows = []
    for name, r in runs.items():
        st = r["settings"]
        how = "k-means on features" if st.get("relabel") == "kmeans" else "argmax"
        head = f"{name} ({r.get('device', 'cpu')}, seed {r['seed']}): "
        aug = f"classifier aug. {st.get('clf_augment', 'shift')}"
        if r.get("start") == "kmeans":                              # the control without a GAN
            src = head + f"no GAN, {r['n_clustered']} images, {aug}"
            rows.append(dict(source=src, method="k-means", **r["kmeans"]))
            if r.get("kmeans_selftrain"):
                rows.append(dict(source=src, method=f"k-means + {len(r['kmeans_selftrain'])} self-training rounds "
                                 f"({how})", **r["kmeans_selftrain"][-1]))
            continue
        src = (head + f"base {st['base']}, c={st['c']}, {st['steps']} steps{', lr decay' if st.get('lr_decay') else ''}"
               f"{', D packs of %d' % st['pack'] if st.get('pack', 1) > 1 else ''}, "
               f"{'%d images, ' % r['n_clustered'] if 'n_clustered' in r else ''}{aug}")
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
