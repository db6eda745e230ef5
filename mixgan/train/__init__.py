"""Training: ``fit`` (the loop, verified checkpoints, resume, fixed-noise grids) and the command
line ``python -m mixgan.train --model hmog --data mnist --depth 4 --steps N --out runs/NAME``
(``run(TrainConfig(...))`` from Python).

    loop.py        fit, grid_sampler, fixed_latents, load_checkpoint, pick_device
    checks.py      checks on what enters training (values, data, paths, a resumed checkpoint)
    checkpoint.py  write_checkpoint / read_checkpoint: sha256, finite values, atomic writes
    lock.py        run_lock: one run per folder
    distributed.py one run over several processes (torchrun, DDP): batch split, synchronised BatchNorm
    evaluate.py    FID and early stopping
    cli.py         TrainConfig, the argparse command line, run
    rundir.py      load_run: a finished run folder as a dict
"""
from .checkpoint import CheckpointError, read_checkpoint, write_checkpoint
from .checks import check_config
from .cli import TrainConfig, UsageError, parse_args, run
from .lock import RunFolderBusy, run_lock
from .loop import fit, fixed_latents, grid_sampler, load_checkpoint, pick_device
from .rundir import load_run

__all__ = ["fit", "load_checkpoint", "pick_device", "check_config", "grid_sampler", "fixed_latents",
           "TrainConfig", "parse_args", "run", "load_run", "read_checkpoint", "write_checkpoint",
           "CheckpointError", "RunFolderBusy", "run_lock", "UsageError"]
