"""Figures (matplotlib / seaborn): toy maps (`toy`), image grids and interpretability
figures (`figures`).  Every function returns the matplotlib Figure it drew."""
from .figures import *  # noqa: F401,F403
from .toy import *  # noqa: F401,F403
