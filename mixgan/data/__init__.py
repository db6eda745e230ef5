"""Data: 2-D toy mixtures (`toy`) and image datasets in [-1, 1] (`images`, `load_tensors`)."""
from .images import channels, data_root, dataset_names, default_size, images, load_tensors
from .toy import ToySpec, toy, toy_names, toy_spec

__all__ = ["toy", "toy_names", "toy_spec", "ToySpec", "images", "load_tensors", "dataset_names",
           "channels", "default_size", "data_root"]
