"""Figures (matplotlib / seaborn): toy maps (`toy`), image grids and interpretability
figures (`figures`), the parameter-count benchmark (`benchmark`).  Every function returns
the matplotlib Figure it drew."""
from .benchmark import *  # noqa: F401,F403
from .figures import *  # noqa: F401,F403
from .toy import *  # noqa: F401,F403
