"""Figures (matplotlib / seaborn): toy maps (`toy`), image grids and interpretability
figures (`figures`), the parameter-count benchmark (`benchmark`).  Every function returns
the matplotlib Figure it drew."""
from .benchmark import *  # noqa: F401,F403
from .figures import *  # noqa: F401,F403
from .toy import *  # noqa: F401,F403


def __getattr__(name):
    if name == "sigma_tradeoff_plot":
        raise AttributeError("mixgan.plots.sigma_tradeoff_plot was renamed mixgan.plots.scale_tradeoff_plot")
    raise AttributeError(f"module 'mixgan.plots' has no attribute {name!r}")
