"""Reading a finished run folder (what ``python -m mixgan.train --out FOLDER`` wrote).

    run = load_run("runs/hmog_mnist")      # {"folder", "metrics", "history", "config", "grids"}
"""
import json
from pathlib import Path


def load_run(folder):
    """A run folder as a dict: metrics, history, config (each None when its file is missing),
    grids (the samples_*.png paths, in step order) and folder.  None if `folder` holds no
    metrics.json (no finished run there)."""
    folder = Path(folder)
    if not (folder / "metrics.json").is_file():
        return None

    def read(name):
        p = folder / name
        return json.loads(p.read_text()) if p.is_file() else None

    return {"folder": folder, "metrics": read("metrics.json"), "history": read("history.json"),
            "config": read("config.json"), "grids": sorted(folder.glob("samples_*.png"))}
