"""Sharded sweeps: a grid of (model, K, seed) cells, N disjoint shards of it, one JSON file per
shard that a rerun resumes, and the merge of the shard files back into the grid's rows.

    cells = grid(["fc", "hmog"], Ks=[4, 16], seeds=[0, 1])
    # [("fc", 1, 0), ("fc", 1, 1), ("hmog", 4, 0), ("hmog", 4, 1), ("hmog", 16, 0), ("hmog", 16, 1)]
    mine = shard(cells, 1, 4)                 # cells[1::4]
    i, n = parse_shard("1/4")                 # the command line's --shard I/N
    rows = merge(["runs/fig9"])               # every shard file of a folder -> rows in grid order

Grid order: model by model as given, then K (FC has no K: one cell with K = 1), then seed.
Shard i of n is the round-robin slice cells[i::n], i = 0 … n-1: the n shards are disjoint,
together they are the grid, and each gets the models in turn, so their costs are close.

A shard file (``shard_file(folder, i, n)`` = <folder>/shard-I-of-N.json), rewritten atomically
after every finished cell:

    {"format": "mixgan-sweep-shard/1", "grid": {...}, "shard": "1/4", "rows": [{...}, ...],
     "runs": [{"command": "...", "machine": "...", "device": "..."}, ...]}

"grid" holds everything that defines a cell's result (models, Ks, seeds, steps, base, data,
n_train, n_eval, image shape, extractor, the 5-NN rule, batch sizes ...); a file is resumed or
merged only with the same grid.  "runs" says where it ran: one entry per process that worked on
the file, oldest first (a shard resumed on another machine keeps both).
"""
import fcntl
import json
import os
import re
from contextlib import contextmanager
from pathlib import Path

from .config import MODELS
from .utils import save_json

FORMAT = "mixgan-sweep-shard/1"
_SHARD = re.compile(r"(\d+)/(\d+)")
_NAME = re.compile(r"shard-(\d+)-of-(\d+)\.json")


def _ints(name, values, least):
    values = list(values)
    if not values:
        raise ValueError(f"{name} is empty")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < least:
            raise ValueError(f"{name} must be integers >= {least}, got {v!r}")
    if len(set(values)) < len(values):
        raise ValueError(f"{name} lists a value twice: {values}")
    return values


def grid(models, Ks, seeds):
    """The cells [(model, K, seed)] of a sweep, in grid order (see the module docstring).
    FC gets K = 1; HMoG's K must be a power of two (its tree has depth log2 K)."""
    models = list(models)
    if not models or len(set(models)) < len(models):
        raise ValueError(f"models must be a non-empty list without repeats, got {models}")
    for m in models:
        if m not in MODELS:
            raise ValueError(f"unknown model {m!r} in models; choose from {sorted(MODELS)}")
    Ks, seeds = _ints("Ks", Ks, 1), _ints("seeds", seeds, 0)
    if "hmog" in models and any(K < 2 or K & (K - 1) for K in Ks):
        raise ValueError(f"hmog needs every K to be a power of two >= 2 (a tree of depth log2 K), got Ks={Ks}")
    return [(m, K, s) for m in models for K in ([1] if m == "fc" else Ks) for s in seeds]


def shard(cells, i, n):
    """Shard i of n (0 <= i < n): the round-robin slice cells[i::n]."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"the number of shards must be an integer >= 1, got {n!r}")
    if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n:
        raise ValueError(f"shard index must be an integer with 0 <= i < {n}, got {i!r}")
    return list(cells)[i::n]


def parse_shard(text):
    """'I/N' -> (I, N) with 0 <= I < N (0-based, as SLURM's $SLURM_ARRAY_TASK_ID with --array=0-(N-1))."""
    m = _SHARD.fullmatch(str(text).strip())
    if not m or not int(m[1]) < int(m[2]):
        raise ValueError(f"--shard takes I/N with 0 <= I < N (0-based, e.g. 0/4 ... 3/4), got {text!r}")
    return int(m[1]), int(m[2])


def shard_file(folder, i, n):
    """<folder>/shard-I-of-N.json."""
    return Path(folder) / f"shard-{i}-of-{n}.json"


def cell_of(row):
    """The (model, K, seed) of a row."""
    return row["model"], row["K"], row["seed"]


def read_shard(path):
    """A shard file as a dict {grid, shard, rows, ...}; ValueError when it is not one."""
    try:
        d = json.loads(Path(path).read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not a shard file (not JSON: {e})") from None
    if not isinstance(d, dict) or d.get("format") != FORMAT or not {"grid", "shard", "rows"} <= set(d):
        raise ValueError(f"{path} is not a shard file (no format {FORMAT!r} with grid, shard and rows)")
    return d


def same_grid(first, second, what):
    """ValueError '<what>: steps 300 vs 200' naming the first field (sorted) where two grids differ."""
    for k in sorted(set(first) | set(second)):
        a, b = first.get(k, "(absent)"), second.get(k, "(absent)")
        if a != b:
            raise ValueError(f"{what}: {k} {a} vs {b}")


class ShardBusy(RuntimeError):
    """Another live process is writing the shard file."""


@contextmanager
def shard_lock(path):
    """Hold the lock file .<name>.lock beside the shard file for the block (``flock``: released
    when the process ends, however it ends); a second process on the same shard file is refused."""
    path = Path(path)
    fd = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ShardBusy(f"shard file {path} is being written by another process") from None
        yield
    finally:
        os.close(fd)


def open_shard(path, spec, i, n):
    """(rows, runs) already in `path` (empty lists when it does not exist yet; runs: see
    ``shard_runs``); refuses a file of another grid or another shard, and rows that are not cells
    of shard i/n."""
    if not Path(path).exists():
        return [], []
    d = read_shard(path)
    same_grid(d["grid"], spec, f"shard file {path} is from another grid (file vs this run)")
    if d["shard"] != f"{i}/{n}":
        raise ValueError(f"shard file {path} holds shard {d['shard']}, not {i}/{n}")
    stray = _strays(d["rows"], grid(spec["models"], spec["Ks"], spec["seeds"]), i, n)
    if stray:
        raise ValueError(f"shard file {path} has rows of cells outside shard {i}/{n}: {stray[:3]}")
    return list(d["rows"]), shard_runs(d)


def _strays(rows, cells, i, n, within=None):
    """The cells of `rows` that are not in shard i/n of `cells` (only those in `within`, if given)."""
    mine = set(shard(cells, i, n))
    return [c for c in map(cell_of, rows) if c not in mine and (within is None or c in within)]


def write_shard(path, spec, i, n, rows, runs=()):
    """Atomically write the shard file (runs: one dict per process that worked on it, such as
    {command, machine, device}, oldest first)."""
    save_json({"format": FORMAT, "grid": spec, "shard": f"{i}/{n}", "runs": list(runs), "rows": rows}, path)


def shard_runs(d):
    """The processes that worked on a shard file read by `read_shard` (its "runs"; a file with
    command / machine / device at the top instead: that one entry)."""
    if "runs" in d:
        return list(d["runs"])
    head = {k: d[k] for k in ("command", "machine", "device") if k in d}
    return [head] if head else []


def shard_files(paths):
    """Files and folders -> the shard files (a folder gives its shard-I-of-N.json files, sorted)."""
    out = []
    for p in map(Path, [paths] if isinstance(paths, (str, os.PathLike)) else paths):
        if p.is_dir():
            found = sorted((f for f in p.iterdir() if _NAME.fullmatch(f.name)),
                           key=lambda f: tuple(map(int, _NAME.fullmatch(f.name).groups()))[::-1])
            if not found:
                raise ValueError(f"no shard files (shard-I-of-N.json) in {p}")
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise ValueError(f"no shard file or folder {p}")
    return out


def merge(paths):
    """The rows of the shard files (or folders of them) in grid order, refusing files of
    different grids, shards given twice or of different N, rows of cells outside a file's
    shard, cells in two files, and missing cells, each with one ValueError naming the files / cells."""
    files = shard_files(paths)
    if not files:
        raise ValueError("merge needs at least one shard file or folder")
    shards = [(f, read_shard(f)) for f in files]
    (f0, d0), spec = shards[0], shards[0][1]["grid"]
    seen, index = {}, {}
    for f, d in shards:
        same_grid(spec, d["grid"], f"shard files {f0} and {f} are from different grids")
        i, n = index[f] = parse_shard(d["shard"])
        if n != parse_shard(d0["shard"])[1]:
            raise ValueError(f"shard files of different N: {f0} is shard {d0['shard']}, {f} is shard {d['shard']}")
        if i in seen:
            raise ValueError(f"shard {d['shard']} is given twice: {seen[i]} and {f}")
        seen[i] = f
    cells, where = grid(spec["models"], spec["Ks"], spec["seeds"]), {}
    known = set(cells)
    for f, d in shards:
        i, n = index[f]
        stray = _strays(d["rows"], cells, i, n, within=known)      # cells outside the grid: below
        if stray:
            raise ValueError(f"{f} (shard {i}/{n}) has rows of cells of other shards: {stray[:3]}")
        for r in d["rows"]:
            c = cell_of(r)
            if c in where:
                raise ValueError(f"cell {c} is listed twice in {f}" if where[c][0] == f
                                 else f"cell {c} is in two shard files: {where[c][0]} and {f}")
            where[c] = (f, r)
    outside = [c for c in where if c not in known]
    if outside:
        raise ValueError(f"{where[outside[0]][0]} has rows of cells outside its grid: {outside[:3]}")
    missing = [c for c in cells if c not in where]
    if missing:
        n = parse_shard(d0["shard"])[1]
        absent = [f"{i}/{n}" for i in range(n) if i not in seen]
        raise ValueError(f"{len(missing)} of {len(cells)} cells are missing, e.g. {missing[:3]}"
                         + (f"; shards not given: {', '.join(absent[:5])}" if absent else "")
                         + "; run the shards (a rerun finishes the missing cells) and merge again")
    return [where[c][1] for c in cells]
