"""Named training recipes, each defined once and used by the notebooks and their tests."""

# Notebook 00: HMoG (depth 3) on the five-Gaussian toy 'hmog5' on one CPU thread, on top of the toy
# defaults of mixgan.models (WGAN-GP, Adam betas (0.5, 0.9), λ = 1): a larger learning rate and batch,
# and a learning rate that falls linearly to 0 over the last 30 % of the steps (it steadies the end).
# Use: toys.train_toy("hmog", "hmog5", seed=s, depth=3, **QUICKSTART).
QUICKSTART = dict(steps=1000, fit_kw=dict(lr=2e-3, batch_size=256, lr_decay=0.3))
