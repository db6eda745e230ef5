"""Settings used by the benchmarks and the notebooks alike, defined once.

    TOY_STEPS, toy_recipe("sharp", "grid25")    # 2-D toys: steps per toy, extra train_toy keywords
    CLUSTER["full"], TREE["cpu"], SIGMA["cpu"]  # benchmarks/analysis_targets.py settings by name

Clustering (Algorithm 2 of the MM-GAN paper) uses an unsupervised MM-GAN with the paper's d = 100,
var = 0.15 (Σ_k = var · I), b_D = 64, b_G = 128, lr 2e-4, but means μ_k ~ U[-c, c]^100 with c = 0.3
instead of 0.1: two means are about 8.2·c apart and the noise has std √0.15 = 0.39 along that
line, so c = 0.1 gives a gap of about 2 std (the Gaussians overlap) and c = 0.3 one of about 6.
`refine` rounds of self-training (`analysis.self_train`) follow Algorithm 2; `relabel` says how
each round labels the real images ("kmeans" on the classifier's features, or "argmax").

The tree runs (HMoG vs MoG): the HMoG paper trains with WGAN-GP (5 critic steps, lr 1e-4), the
full setting; the CPU setting uses the non-saturating loss (1 D step, lr 2e-4), which learns
faster per second of CPU.
"""

#: the models of notebook 01 and benchmarks/toy_modes.py (Normal prior, 2-D z)
TOY_MODELS = ("fc", "mog", "hmog", "madgan", "mgan", "megan")
#: generator steps per toy at the toy defaults (`models.toy_defaults`)
TOY_STEPS = {"hmog5": 2000, "ring8": 3000, "grid25": 3000}
#: recipes on top of the toy defaults, per toy: steps, build() and fit() keywords. "sharp" is the
#: grid25 recipe that covers its 25 modes: a BatchNorm toy body and a learning rate falling
#: linearly to 0 over the second half of 30,000 steps.
TOY_RECIPES = {"plain": {},
               "sharp": {"grid25": dict(steps=30_000, build=dict(body_norm="batch"), fit=dict(lr_decay=0.5))}}


def toy_recipe(recipe, toy):
    """(steps or None, `toys.train_toy` keywords) of a recipe for one toy: build options as
    keywords, fit options under fit_kw. Unknown recipe: ValueError."""
    if recipe not in TOY_RECIPES:
        raise ValueError(f"unknown toy recipe {recipe!r}; choose from {sorted(TOY_RECIPES)}")
    r = TOY_RECIPES[recipe].get(toy, {})
    kw = dict(r.get("build", {}))
    if r.get("fit"):
        kw["fit_kw"] = dict(r["fit"])
    return r.get("steps"), kw


_GAN = dict(c=0.3, var=0.15, relabel="kmeans")
CLUSTER = dict(
    quick=dict(_GAN, base=4, steps=2, M=20, clf_epochs=1, n_cluster=300, refine=1),
    cpu=dict(_GAN, base=16, steps=2000, M=1000, clf_epochs=2, n_cluster=10_000, refine=5),
    # the CPU GAN trained 3x longer, all 60,000 images and 10 rounds
    long=dict(_GAN, base=16, steps=6000, lr_decay=0.5, M=1000, clf_epochs=2, n_cluster=60_000, refine=10),
    full=dict(_GAN, base=64, steps=12_000, lr_decay=0.5, M=5000, clf_epochs=2, n_cluster=60_000, refine=5),
)
TREE = dict(quick=dict(base=2, steps=2, batch_size=16, n=200, loss="nonsaturating", lr=2e-4),
            cpu=dict(base=16, steps=600, batch_size=64, n=10_000, loss="nonsaturating", lr=2e-4),
            full=dict(base=64, steps=50_000, batch_size=128, n=10_000, loss="wgan_gp", lr=1e-4))
SIGMA = dict(quick=dict(n=20, seeds=2, n_train_feats=200),
             cpu=dict(n=500, seeds=3, n_train_feats=10_000),
             full=dict(n=2000, seeds=5, n_train_feats=60_000))


def setting(table, name):
    """A copy of one named setting of CLUSTER / TREE / SIGMA (ValueError naming the valid ones)."""
    if name not in table:
        raise ValueError(f"unknown setting {name!r}; choose from {sorted(table)}")
    return dict(table[name])


#: notebook 00 and tests/test_quickstart.py: HMoG (depth 3) on the five-Gaussian toy 'hmog5' on one CPU
#: thread, on top of the toy defaults of mixgan.models (WGAN-GP, Adam betas (0.5, 0.9), λ = 1): a larger
#: learning rate and batch, and a learning rate falling linearly to 0 over the last 30 % of the steps.
#: Use: toys.train_toy("hmog", "hmog5", seed=s, depth=3, **QUICKSTART).
QUICKSTART = dict(steps=1000, fit_kw=dict(lr=2e-3, batch_size=256, lr_decay=0.3))

#: notebook 00: the same single generator over a Gaussian-mixture latent (MM-GAN's static prior) on the
#: 2-D toys: K = 10 fixed means μ_k ~ U[-3, 3]^2, each with variance 0.02 (std 0.14), so that little of
#: p(z) lies between components. Use: toys.train_toy("fc", "hmog5", seed=s, **MIXTURE_LATENT, **QUICKSTART).
MIXTURE_LATENT = dict(prior="gmm", K=10, c=3.0, var=0.02, z_dim=2)

#: the Mixture Lab's training settings unless the caller gives their own: a critic batch and a generator
#: batch of 64, and at most 2 critic steps per generator step (WGAN-GP models take 5 elsewhere).  Each
#: generator step then costs a fraction of one with batch 128 and 5 critic steps, so on one CPU thread
#: HMoG (depth 3) on hmog5 covers its modes in fewer seconds, and a frame of 5 generator steps fits a live
#: display.  Notebook 01b (Exercise 1) compares the two settings.
LAB = dict(batch_size=64, g_batch_size=64, n_critic=2)
