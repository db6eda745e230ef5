"""The quickstart succeeds: with mixgan.presets.QUICKSTART, HMoG (depth 3) finds all five modes
of 'hmog5' with >= 80 % high-quality samples, on one CPU thread (under a minute of training).
Here seeds 1 and 2, side by side; seed 0 is notebook 00's own run, which checks the same
(tests/test_notebooks.py runs it).  Other seeds: MIXGAN_QUICKSTART_SEEDS=0,1,2,3,4 pytest tests/test_quickstart.py
"""
import os

from mixgan import toys
from mixgan.presets import QUICKSTART

SEEDS = [int(s) for s in os.environ.get("MIXGAN_QUICKSTART_SEEDS", "1,2").split(",")]


def test_quickstart_recipe_is_plain():
    assert set(QUICKSTART) <= {"steps", "fit_kw", "n"} and QUICKSTART["steps"] > 0


def test_quickstart_succeeds_for_every_seed():
    runs = toys.train_toys({seed: dict(name="hmog", toy="hmog5", seed=seed, depth=3, **QUICKSTART)
                            for seed in SEEDS}, progress=False)
    scores = {seed: toys.score(model, history["spec"]) for seed, (model, history) in runs.items()}  # as notebook 00
    bad = {seed: s for seed, s in scores.items() if not (s["modes"] == 5 and s["high_quality"] >= 0.80)}
    assert not bad, bad
