"""Named training recipes, each defined once and used by the notebooks and their tests."""

# Notebook 00: HMoG (depth 3) on the five-Gaussian toy 'hmog5', one CPU thread; with the toy
# defaults of models._toy_defaults.  toys.train_toy(name, toy, seed=s, depth=3, **QUICKSTART).
QUICKSTART = dict(steps=1000, fit_kw=dict(lr=2e-3, lr_decay=0.3))
