"""Interpretability and clustering targets, stored through `mixgan.results` (results/MANIFEST.json).

    python benchmarks/analysis_targets.py cluster [--full|--long] [--data fashionmnist]   # Algorithm 2 vs k-means
    python benchmarks/analysis_targets.py tree    [--full]   # HMoG (depth 4) vs MoG (K=16): block mass, tree figure
    python benchmarks/analysis_targets.py sigma   [--full]   # quality / diversity against the prior's scale, MNIST
    python benchmarks/analysis_targets.py show               # print the stored results, check the targets

Targets: (1) MNIST clustering ACC >= 0.95 with the full setting (a GPU run) or `--long` (the CPU GAN
trained 3x longer, all 60,000 images, 10 rounds), and the CPU setting beats k-means. Both run the MM-GAN
paper's Algorithm 2 followed by `refine` rounds of self-training (`analysis.self_train`, our addition;
k-means relabelling by default); each result records Algorithm 2 alone ("mmgan") and every round
("mmgan_selftrain"). `--reuse` reruns that part on a stored GAN (`--from-run RUN`: RUN's GAN, stored under
a new `--tag`). `--start kmeans` is the control without a GAN: the same rounds started from k-means on the
pixels (run <setting>-nogan, rounds in "kmeans_selftrain").
(2) the depth-4 HMoG's gating correlation matrix has more positive mass in its 2x2 and 4x4 diagonal blocks
than MoG's.

The settings are `mixgan.presets.CLUSTER / TREE / SIGMA`: the CPU ones by default, `--full` the paper-scale
ones, `--quick` a dry run (tiny settings, seconds), and for `cluster` `--long`. `--steps` and, for
`cluster`, `--c`, `--clf-epochs`, `--round-epochs`, `--refine`, `--relabel`, `--n-cluster` … override them,
and `--tag` names a variant (run cpu-<tag>). Every run stores, under keys such as "cluster/mnist/<run>",
its result (settings, command, wall time, numbers), its figures and checkpoints, each with a manifest
entry, in --out (default results/).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
from mixgan import analysis as A  # noqa: E402
from mixgan import data, metrics, models, plots, presets, results, train  # noqa: E402

OUT = None                    # the results folder (None: results/); set by --out
RUN = dict(command="", machine=None)   # the command line and machine every stored entry records
CLUSTER, TREE, SIGMA = presets.CLUSTER, presets.TREE, presets.SIGMA


def store(key, obj, what, kind=None):
    """Store one result through `mixgan.results` (file + manifest entry) and say where it went."""
    f = results.save(key, obj, what=what, command=RUN["command"], kind=kind, machine=RUN["machine"], root=OUT)
    print(f"wrote {f} ({key})")
    return f


def mnist():
    return data.load_tensors("mnist", train=True, size=32)


def cluster(s, a):
    """Train an unsupervised MM-GAN (K = 10) on MNIST / Fashion-MNIST, cluster with Algorithm 2,
    compare k-means. A supervised judge (the shipped DomainClassifier) also reads which class each
    Gaussian draws (`component_classes`): a diagnostic only, Algorithm 2 never sees labels."""
    x, y = data.load_tensors(a.data, train=True, size=32)
    # Algorithm 2 line 7's classifier: strong augmentation (rotation, zoom, shift, stroke width), recorded
    # in the settings; results without the key used ±2 px shifts.
    s.setdefault("clf_augment", "strong")
    if a.start == "kmeans":
        return nogan(s, a, x[:s["n_cluster"]], y[:s["n_cluster"]])
    gan_run = a.from_run or a.run
    key = f"cluster/{a.data}/{a.run}"
    t0 = time.perf_counter()
    if a.reuse:                                     # steps 2-8 again on the stored GAN (no training)
        gan_key = f"cluster/{a.data}/{gan_run}"
        if not results.has(gan_key + "/gan", OUT):
            raise SystemExit(f"--reuse: no stored GAN {gan_key + '/gan'!r} in {OUT or results.ROOT}")
        model = results.load(gan_key + "/gan", OUT)
        old = (results.load(gan_key, OUT) if results.has(gan_key, OUT)          # a GAN stored without its result:
               else dict(settings=presets.setting(CLUSTER, a.setting)))            # the preset's settings
        t_train = old.get("train_seconds")                      # of the run that trained it
        s = {**old["settings"], **{k: v for k, v in s.items() if k not in old["settings"] or k in a.overrides}}
    else:
        gan_kw = {k: s[k] for k in ("base", "c", "var", "g_batch_size", "pack") if k in s}
        model = models.build("mmgan_static", (1, 32, 32), K=10, seed=a.seed, **gan_kw)
        train.fit(model, x, steps=s["steps"], seed=a.seed, device=a.device, progress=a.progress,
                  lr_decay=s.get("lr_decay"))
        t_train = round(time.perf_counter() - t0, 1)
    print(f"GAN ready ({time.perf_counter() - t0:.0f} s)", flush=True)
    xc, yc = x[:s["n_cluster"]], y[:s["n_cluster"]]
    pred, clf = A.gan_cluster(model, xc, M=s["M"], epochs=s["clf_epochs"], seed=a.seed, device=a.device,
                              augment=s["clf_augment"])
    gan = A.cluster_scores(yc, pred)
    print(f"MM-GAN (Algorithm 2): ACC {gan['acc']:.4f}  NMI {gan['nmi']:.4f} ({time.perf_counter() - t0:.0f} s)",
          flush=True)
    refined = rounds(xc, yc, pred, clf, s, a, t0)
    t1 = time.perf_counter()
    km = A.cluster_scores(yc, A.kmeans_baseline(xc, 10, seed=a.seed, n_init=3))
    t_km = time.perf_counter() - t1
    model.cpu()
    judge, which = A.scoring_classifier(a.data, x[:2000], y[:2000])
    comps = dict(A.component_classes(model, judge, M=200), judge=which)
    if not a.reuse:
        store(key + "/gan", model, f"the unsupervised MM-GAN (K = 10) of clustering run {a.run} on {a.data}")
    if not a.from_run:                              # (else it is the figure of the run named there)
        store(key + "/components",
              plots.image_rows(A.component_samples(model, 10)[0].view(10, 10, 1, 32, 32),
                               labels=[f"k={k}: {c}" for k, c in enumerate(comps["classes"])],
                               title=f"MM-GAN on {a.data}: 10 samples per Gaussian "
                                     "(label: the judge's majority class)"),
              f"10 samples per Gaussian of clustering run {a.run}'s MM-GAN on {a.data}")
    res = dict(setting=a.setting, run=a.run, settings=s, seed=a.seed, dataset=a.data, n_clustered=len(xc),
               mmgan=gan, mmgan_selftrain=refined, kmeans=km, components=comps, train_seconds=t_train,
               kmeans_seconds=round(t_km, 1), paper=[r for r in A.PAPER_CLUSTERING if r["dataset"] == a.data],
               **({"gan_from": a.from_run} if a.from_run else {}))
    print(f"k-means: ACC {km['acc']:.4f}  NMI {km['nmi']:.4f}")
    print(f"Gaussians -> classes (judge): {comps['classes']}  purity {comps['purity']}  acc {comps['acc']}  "
          f"spread {comps['spread']}")
    return res


def rounds(xc, yc, pred, clf, s, a, t0):
    """`refine` rounds of `A.self_train` (one at a time, to print each) -> the scores after each round."""
    scores = []
    for r in range(s.get("refine", 0)):
        pred, clf, _ = A.self_train(xc, pred, clf, 10, rounds=1, epochs=s.get("round_epochs", s["clf_epochs"]),
                                    seed=a.seed + r, device=a.device, relabel=s["relabel"])
        scores.append(A.cluster_scores(yc, pred))
        print(f"  + self-training round {r + 1}: ACC {scores[-1]['acc']:.4f}  NMI {scores[-1]['nmi']:.4f} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    return scores


def nogan(s, a, xc, yc):
    """The control without a GAN (`cluster --start kmeans`): the same self-training rounds, started from
    k-means on the pixels instead of Algorithm 2. The first classifier is trained on the real images
    labelled by their k-means cluster (Algorithm 2 trains it on generated images labelled by Gaussian)."""
    s = {k: s[k] for k in ("n_cluster", "clf_epochs", "round_epochs", "clf_augment", "refine", "relabel") if k in s}
    t0 = time.perf_counter()
    start = A.kmeans_baseline(xc, 10, seed=a.seed, n_init=3)
    km, t_km = A.cluster_scores(yc, start), time.perf_counter() - t0
    print(f"k-means on pixels: ACC {km['acc']:.4f}  NMI {km['nmi']:.4f} ({t_km:.0f} s)", flush=True)
    clf = A.train_cluster_classifier(xc, torch.as_tensor(start), 10, s["clf_epochs"], a.seed, a.device,
                                     augment=s["clf_augment"])
    refined = rounds(xc, yc, start, clf, s, a, t0)
    return dict(setting=a.setting, run=a.run, start="kmeans", settings=s, seed=a.seed, dataset=a.data,
                n_clustered=len(xc), kmeans=km, kmeans_selftrain=refined, kmeans_seconds=round(t_km, 1),
                paper=[r for r in A.PAPER_CLUSTERING if r["dataset"] == a.data])


def tree(s, a):
    """HMoG (depth 4) and MoG (K = 16) on MNIST: block mass of the gating correlations, tree figure.

    Each model is measured untrained (right after `build`, same seed and settings) and trained, and
    the table prints both side by side: a tree's leaves share their ancestors' gates, so an untrained
    HMoG already has most of its block mass; only the change from untrained to trained is learned."""
    x, _ = mnist()
    res, corrs = dict(setting=a.setting, settings=s, seed=a.seed, dataset="mnist", models={}), {}
    for name, kw in (("MoG", dict(K=16)), ("HMoG", dict(depth=4))):
        model = models.build(name.lower(), (1, 32, 32), base=s["base"], loss=s["loss"], lr=s["lr"], seed=a.seed, **kw)
        untrained = A.gating_correlation(model, s["n"], seed=1)
        t0 = time.perf_counter()
        train.fit(model, x, steps=s["steps"], seed=a.seed, device=a.device, batch_size=s["batch_size"],
                  progress=a.progress)
        model.cpu()
        c = A.gating_correlation(model, s["n"], seed=1)
        corrs[name] = c
        store(f"tree/mnist/{a.run}/corr-{name.lower()}", c, f"{name}'s K x K gating correlation matrix (tree run {a.run})")
        mass = A.block_mass_table({"trained": c, "untrained": untrained}, kinds=("positive", "abs"))
        res["models"][name] = dict(train_seconds=round(time.perf_counter() - t0, 1), block_mass=mass,
                                   leaf_usage=A.leaf_probs(model, s["n"], seed=1).mean(0).tolist())
        summary = A.tree_summary(model, n=s["n"], top=5, seed=2)
        if name == "HMoG":                                        # notebook 05's leaf explorer reads it
            store(f"tree/mnist/{a.run}/summary", summary, f"HMoG tree summary (tree run {a.run})", kind="tree_summary")
        store(f"tree/mnist/{a.run}/{name.lower()}",
              plots.tree_figure(summary, title=f"{name} on MNIST, {s['steps']} steps, {s['loss']} loss"),
              f"{name}'s tree figure: node responses and top samples per leaf (tree run {a.run})")
    store(f"tree/mnist/{a.run}/corr", plots.correlation_heatmaps(corrs),
          f"gating correlations of MoG and HMoG (tree run {a.run})")
    ratio = {(n, r["model"], r["block"], r["kind"]): r for n in corrs for r in res["models"][n]["block_mass"]}
    cols = [(n, when) for n in ("HMoG", "MoG") for when in ("untrained", "trained")]
    print(f"block mass, {s['steps']} steps " + "".join(f"{n + ' ' + when:>16s}" for n, when in cols) + "  chance")
    for kind in ("positive", "abs"):
        for b in (2, 4):
            print(f"{b}x{b} {kind:17s}" + "".join(f"{ratio[(n, when, b, kind)]['ratio']:16.3f}" for n, when in cols)
                  + f"{ratio[('HMoG', 'trained', b, kind)]['chance']:8.3f}")
    return res


def sigma(s, a):
    """σ trade-off on MNIST: the MM-GAN of `cluster` against a GAN trained the same way."""
    x, y = mnist()
    ck = f"cluster/mnist/{a.run}/gan"
    if not results.has(ck, OUT):
        raise SystemExit(f"no stored GAN {ck!r} in {OUT or results.ROOT}: run `analysis_targets.py cluster` first")
    mm = results.load(ck, OUT)
    steps = (results.load(f"cluster/mnist/{a.run}", OUT)["settings"]["steps"] if results.has(f"cluster/mnist/{a.run}", OUT)
             else CLUSTER[a.setting]["steps"])
    t0 = time.perf_counter()
    gan = models.build("gan", (1, 32, 32), base=mm.cfg.base, seed=a.seed)
    train.fit(gan, x, steps=steps, seed=a.seed, device=a.device, progress=a.progress)
    t_train = time.perf_counter() - t0
    clf = (metrics.train_domain_classifier(x[:500], y[:500], epochs=1, progress=False) if a.quick
           else metrics.DomainClassifier.pretrained("mnist"))
    feats = clf.features(x[torch.randperm(len(x), generator=torch.Generator().manual_seed(0))[:s["n_train_feats"]]])
    score = A.image_scorer(clf, feats)
    rows = []
    for seed in range(s["seeds"]):
        rows += [dict(r, run=seed) for r in A.scale_tradeoff({"MM-GAN": mm, "GAN": gan}, score, n=s["n"], seed=seed)]
    trunc = {name: A.truncation_scores(m, score, n=s["n"]) for name, m in (("MM-GAN", mm), ("GAN", gan))}
    store(f"sigma/mnist/{a.run}/figure",
          plots.scale_tradeoff_plot(rows, title=f"MNIST, error bars: SEM over {s['seeds']} sampling seeds"),
          f"quality and diversity against the prior's scale, MM-GAN vs GAN (run {a.run})")
    return dict(setting=a.setting, settings=s, models=dict(mmgan=ck, gan_steps=steps),
                gan_train_seconds=round(t_train, 1), extractor=clf.name, rows=rows, truncation=trunc)


def show(_s, _a):
    """Print the stored results (every json entry of the manifest, and each row of the "cluster/runs"
    table) and check the targets."""
    stored = {}
    for key in results.keys(root=OUT):
        if results.entry(key, OUT)["kind"] != "json" or key.startswith("toy_modes"):
            continue
        r = results.load(key, OUT)
        if key == "cluster/runs":                                  # {dataset: {run: result}}
            stored.update({f"cluster/{d}/{run}": x for d, runs in r.items() for run, x in runs.items()})
        elif isinstance(r, dict):
            stored[key] = r
    for key, r in stored.items():
        show_one(key, r)


def show_one(key, r):
    """Print one stored result and whether it meets its target."""
    print(f"\n{key}: {r.get('command', '')}  ({r.get('wall_seconds', '?')} s)")
    if "mmgan" in r and isinstance(r["mmgan"], dict) and "acc" in r["mmgan"]:
        k = r["kmeans"]
        st = r.get("mmgan_selftrain") or []
        for label, m in [("MM-GAN", r["mmgan"])] + [(f"+ {len(st)} self-training rounds", x) for x in st[-1:]]:
            print(f"  {label}: ACC {m['acc']:.4f} NMI {m['nmi']:.4f} | k-means ACC {k['acc']:.4f} "
                  f"NMI {k['nmi']:.4f} | beats k-means (ACC, NMI): {m['acc'] > k['acc']}, {m['nmi'] > k['nmi']}"
                  f" | ACC ≥ 0.95: {m['acc'] >= 0.95}")
    if r.get("start") == "kmeans":                             # the control without a GAN
        k, st = r["kmeans"], r.get("kmeans_selftrain") or []
        for m in st[-1:]:
            print(f"  no GAN: k-means + {len(st)} self-training rounds: ACC {m['acc']:.4f} NMI {m['nmi']:.4f} | "
                  f"k-means ACC {k['acc']:.4f} NMI {k['nmi']:.4f}")
    if "models" in r and "HMoG" in r.get("models", {}):
        bm = {n: {(x["model"], x["block"], x.get("kind", "positive")): x["ratio"] for x in v["block_mass"]}
              for n, v in r["models"].items()}
        for key in sorted(bm["HMoG"]):
            h, m = bm["HMoG"][key], bm["MoG"][key]
            print(f"  {key[0]:7s} {key[1]}x{key[1]} {key[2]:8s}: HMoG {h:.3f} vs MoG {m:.3f} -> HMoG more: {h > m}")


def number(v):
    """argparse type: '2' -> 2, '0.5' -> 0.5 (epochs may be fractional)."""
    return int(v) if float(v).is_integer() else float(v)


def main(argv=None):
    global OUT
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["cluster", "tree", "sigma", "show"])
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--full", action="store_true", help="paper-scale settings (meant for a GPU)")
    size.add_argument("--quick", action="store_true", help="dry run with tiny settings (checks the pipeline)")
    size.add_argument("--long", action="store_true", help="cluster: the CPU GAN 3x longer, all 60k images, 10 rounds")
    ap.add_argument("--out", default=None, help="the results folder (default results/)")
    ap.add_argument("--steps", type=int, help="override the number of generator steps")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--c", type=float, help="cluster: override the GMM means' range c (μ_k ~ U[-c, c]^d)")
    ap.add_argument("--lr-decay", type=float, help="cluster: lr falls linearly to 0 over this last fraction of steps")
    ap.add_argument("--pack", type=int, help="cluster: PacGAN packing of D (2 = pairs of samples)")
    ap.add_argument("--clf-epochs", type=number, help="cluster: epochs of the classifier, in Algorithm 2 (and each "
                    "round unless --round-epochs)")
    ap.add_argument("--round-epochs", type=number, help="cluster: epochs of each self-training round's classifier, "
                    "over the half it keeps (fractions allowed; default: --clf-epochs)")
    ap.add_argument("--n-cluster", type=int, help="cluster: how many real images to cluster (the first n)")
    ap.add_argument("--refine", type=int, help="cluster: rounds of self-training after Algorithm 2 (A.self_train)")
    ap.add_argument("--relabel", choices=["argmax", "kmeans"],
                    help="cluster: how each self-training round labels the real images (A.self_train)")
    ap.add_argument("--reuse", action="store_true",
                    help="cluster: rerun Algorithm 2 (+ self-training) on the run's stored GAN, no training")
    ap.add_argument("--from-run", help="cluster --reuse: the stored run whose GAN (and settings) to use; the "
                    "results are written under this run's own name (default: the same run)")
    ap.add_argument("--start", default="gan", choices=["gan", "kmeans"],
                    help="cluster: start self-training from Algorithm 2 (gan) or, as a control without a GAN, "
                    "from k-means on the pixels (kmeans; the run is named <setting>-nogan[-tag])")
    ap.add_argument("--data", default="mnist", choices=["mnist", "fashionmnist"], help="cluster: the data set")
    ap.add_argument("--tag", default="", help="suffix of the run's name, e.g. c0.5 -> run cpu-c0.5")
    ap.add_argument("--device", default=None)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (the machine is shared)")
    ap.add_argument("--progress", action="store_true")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    OUT = Path(a.out) if a.out else None
    a.setting = "full" if a.full else "quick" if a.quick else "long" if a.long else "cpu"
    if a.long and a.what != "cluster":
        ap.error("--long is a cluster setting")
    table = dict(cluster=CLUSTER, tree=TREE, sigma=SIGMA).get(a.what)
    s = presets.setting(table, a.setting) if table else {}
    nogan = a.what == "cluster" and a.start == "kmeans"
    if nogan and (a.reuse or a.from_run):
        ap.error("--start kmeans trains no GAN: --reuse / --from-run do not apply")
    if a.from_run and not a.reuse:
        ap.error("--from-run needs --reuse")
    a.run = a.setting + ("-nogan" if nogan else "") + (f"-{a.tag}" if a.tag else "")
    # command-line overrides of the settings (--reuse keeps the stored run's settings except these)
    a.overrides = {k: v for k, v in dict(steps=a.steps, c=a.c, lr_decay=a.lr_decay, pack=a.pack,
                                         refine=a.refine, relabel=a.relabel, clf_epochs=a.clf_epochs,
                                         round_epochs=a.round_epochs, n_cluster=a.n_cluster).items()
                   if v is not None}
    s.update(a.overrides)
    RUN["command"] = "python benchmarks/analysis_targets.py " + " ".join(argv if argv is not None else sys.argv[1:])
    RUN["machine"] = results.describe_machine(train.pick_device(a.device))
    t0, c0 = time.perf_counter(), time.process_time()
    res = globals()[a.what](s, a)
    if res is not None:
        res["command"] = RUN["command"]
        res["wall_seconds"] = round(time.perf_counter() - t0, 1)
        res["cpu_seconds"] = round(time.process_time() - c0, 1)
        res["device"] = str(train.pick_device(a.device))
        res["torch_threads"] = a.threads
        data_name = a.data if a.what == "cluster" else "mnist"
        store(f"{a.what}/{data_name}/{a.run}", res, f"{a.what} run {a.run} on {data_name}: settings, command, "
              "wall time and numbers")


if __name__ == "__main__":
    main()
