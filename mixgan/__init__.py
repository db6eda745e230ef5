"""mixgan: a notebook-first teaching and analysis kit for mixture-of-generator GANs.

    import mixgan
    x, labels, spec = mixgan.data.toy("hmog5", 10_000, seed=0)
    model = mixgan.models.build("hmog", (2,), depth=3)
    history = mixgan.train.fit(model, x, steps=2000, seed=0)
    mixgan.metrics.toy_scores(model.sample(2500), spec)
"""
from . import analysis, data, losses, metrics, models, nets, plots, presets, results, train

__version__ = "0.1.0"
