"""Evaluation during and after a run: FID against the test set, and early stopping on it.

    fid = FID(cfg, shape, device)          # extractor and real features, made once
    fid(model, 2000)                       # {"fid", "extractor", "n_real", "n_fake"}
    eval_fn = early_stopper(fid, 2000, patience=5, history={}, best_path="runs/a/best.pt")
    fit(model, data, steps, eval_every=1000, eval_fn=eval_fn)

FID = |mu_r - mu_f|^2 + Tr(S_r + S_f - 2 (S_r S_f)^(1/2)) of the extractor's features of real
test images and model samples (``mixgan.metrics.frechet_distance``); every result names the
extractor and the sample counts.
"""
import torch

from .. import data as mdata
from ..utils import seeded

EXTRACTORS = ("domain", "inception", "auto")


def fakes(model, n, seed, batch=500):
    """n samples [n, C, H, W] (float32, CPU) in batches of `batch`, seeded and RNG-neutral."""
    with seeded(seed):
        return torch.cat([model.sample(min(batch, n - i)).float().cpu() for i in range(0, n, batch)])


class FID:
    """FID of a model's samples against the test set of `cfg.data` in the features of
    `cfg.extractor` ("domain" | "inception" | "auto"), using up to max(cfg.fid_samples,
    cfg.eval_samples) test images.  In a dry run: an untrained classifier and fake 'reals'."""

    def __init__(self, cfg, shape, device):
        from .. import metrics
        n = max(cfg.fid_samples, cfg.eval_samples)
        if cfg.dry_run:
            with seeded(cfg.seed):
                self.ext = metrics.DomainClassifier(in_channels=shape[0], name="domain-untrained (dry run)")
                real = torch.rand(n, *shape) * 2 - 1
        else:
            self.ext = metrics.get_extractor(cfg.extractor, dataset=cfg.data, size=shape[-1], device=device)
            real = mdata.load_tensors(cfg.data, train=False, size=shape[-1], limit=n)[0]
        self.real = self.ext.features(real)
        self.report, self.seed = metrics.fid_report, cfg.seed

    def __call__(self, model, n):
        """dict(fid, extractor, dim, n_real, n_fake) of n samples against n test images."""
        fake = self.ext.features(fakes(model, n, self.seed + 1))
        return self.report(self.real[:n], fake, self.ext, features=True)


def early_stopper(fid, n, patience, history, best_path):
    """An eval_fn for ``fit``: FID on n samples, the best weights to `best_path`, and
    ``stop=True`` after `patience` evaluations without a new best (0: never), counting the
    evaluations already in a resumed `history` too."""
    scores = [e["fid"] for e in (history or {}).get("eval", []) if "fid" in e]

    def eval_fn(model):
        r = fid(model, n)
        scores.append(r["fid"])
        if r["fid"] <= min(scores):
            model.save(best_path)
        best_at = scores.index(min(scores))
        r["stop"] = bool(patience) and len(scores) - 1 - best_at >= patience
        return r

    return eval_fn
