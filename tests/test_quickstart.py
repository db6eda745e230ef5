"""The quickstart succeeds: with mixgan.presets.QUICKSTART, HMoG (depth 3) finds all five modes
of 'hmog5' with >= 80 % high-quality samples, for each of seeds 0-4, on one CPU thread
(each seed under a minute of training; the five take a few minutes in all)."""
import pytest

from mixgan import toys
from mixgan.presets import QUICKSTART


def test_quickstart_recipe_is_plain():
    assert set(QUICKSTART) <= {"steps", "fit_kw", "n"} and QUICKSTART["steps"] > 0


@pytest.mark.parametrize("seed", range(5))
def test_quickstart_succeeds_for_every_seed(seed):
    model, history = toys.train_toy("hmog", "hmog5", seed=seed, depth=3, **QUICKSTART)
    s = toys.score(model, history["spec"])          # as notebook 00 scores it
    assert s["modes"] == 5 and s["high_quality"] >= 0.80, (seed, s)
