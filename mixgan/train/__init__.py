"""Training: ``fit`` (the loop, checkpoints, resume, fixed-noise grids) and the command line
``python -m mixgan.train --model hmog --data mnist --depth 4 --steps N --out runs/NAME``
(``run(TrainConfig(...))`` from Python)."""
from .cli import TrainConfig, load_run, parse_args, run
from .loop import check_config, fit, fixed_latents, grid_sampler, load_checkpoint, pick_device

__all__ = ["fit", "load_checkpoint", "pick_device", "check_config", "grid_sampler", "fixed_latents",
           "TrainConfig", "parse_args", "run", "load_run"]
