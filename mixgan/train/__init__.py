"""Training: ``fit`` (the loop, checkpoints, resume) and the command line
``python -m mixgan.train --model hmog --data mnist --depth 4 --steps N --out runs/NAME``."""
from .loop import check_config, fit, load_checkpoint, pick_device

__all__ = ["fit", "load_checkpoint", "pick_device", "check_config"]
