"""Data-parallel training (mixgan.train.distributed): 2 CPU processes over gloo reproduce one
process with the same global batch, through fit and through ``torchrun -m mixgan.train``."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mixgan.train import TrainConfig, run, run_lock

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
for key in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
    ENV.pop(key, None)
pytestmark = pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                                reason="this torch has no gloo backend")

# fit over 2 processes, then (rank 0) over 1, in float64: without float32 rounding, which Adam's
# normalisation turns into steps of up to lr where a gradient is ~0, equality shows to ~1e-9.
FIT_WORKER = r'''
import sys, torch
import mixgan.train.loop as loop
from mixgan.models import build
from mixgan.train import distributed, fit
torch.set_default_dtype(torch.float64)
loop.check_tensors = lambda x, y, model: (x, y)          # keep the float64 data (fit casts to float32)
g = torch.Generator().manual_seed(0)
x, y = torch.rand(64, 1, 32, 32, generator=g) * 2 - 1, torch.randint(10, (64,), generator=g)

def train(name, dist=None):
    model = build(name, (1, 32, 32), base=8, batch_size=8, seed=0)
    history = fit(model, (x, y), 3, n_critic=1, progress=False, log_every=1, dist=dist)
    return {k: v.clone() for k, v in model.state_dict().items()}, history

with distributed.from_env(torch.device("cpu")) as dist:
    rank, two = dist.rank, {name: train(name, dist) for name in sys.argv[2].split(",")}
if rank == 0:
    torch.save({"two": two, "one": {name: train(name) for name in two}}, sys.argv[1])
'''

# mixgan.train under an audit hook: the files each rank opens for writing under --out.
CLI_WORKER = r'''
import atexit, json, os, runpy, sys
out = os.path.realpath(sys.argv[sys.argv.index("--out") + 1])
written = set()

def hook(event, args):
    if event in ("open", "os.rename") and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.path.realpath(os.fsdecode(args[1] if event == "os.rename" else args[0]))
        writes = event == "os.rename" or set(args[1] or "") & set("wax+") or (args[2] or 0) & (os.O_WRONLY | os.O_RDWR)
        if writes and path.startswith(out + os.sep):
            written.add(os.path.basename(path))
sys.addaudithook(hook)
atexit.register(lambda: open(f"{out}.writes{os.environ['RANK']}.json", "w").write(json.dumps(sorted(written))))
sys.argv = ["mixgan.train"] + sys.argv[1:]
runpy.run_module("mixgan.train", run_name="__main__")
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(*args, timeout=180):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()), *map(str, args)]
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def max_diff(a, b):
    return max((a[k].double() - b[k].double()).abs().max().item() for k in a if a[k].is_floating_point())


# every image model whose batch statistics are those of the global batch (MEGAN's load-balancing
# term and per-generator BatchNorm are taken per process; the README says so)
DDP_MODELS = ("hmog", "fc", "mog", "gan", "madgan", "mgan", "acgan", "mmgan_static")


def test_fit_on_two_processes_equals_one(tmp_path):
    worker, result = tmp_path / "worker.py", tmp_path / "result.pt"
    worker.write_text(FIT_WORKER)
    p = torchrun(worker, result, ",".join(DDP_MODELS))
    assert p.returncode == 0, p.stderr[-3000:]
    r = torch.load(result, weights_only=False)
    for name in DDP_MODELS:
        (two, h2), (one, h1) = r["two"][name], r["one"][name]
        diff = max_diff(two, one)
        print(f"{name}: max |Δparam| 2 vs 1 process (float64) = {diff:.2e}")
        assert two.keys() == one.keys()
        assert all(torch.allclose(two[k], one[k], rtol=0, atol=1e-8) for k in one), (name, diff)
        assert h2["step"] == h1["step"] == [1, 2, 3]
        assert h2["d_loss"] == pytest.approx(h1["d_loss"], rel=1e-12, abs=1e-12)   # the global batch's loss
        assert h2["g_loss"] == pytest.approx(h1["g_loss"], rel=1e-12, abs=1e-12)


def _cli(out, *more):
    return ["--dry-run", "--model", "hmog", "--batch", "8", "--n-critic", "2", "--log-every", "1", "--no-fid",
            "--no-progress", "--out", out, *more]


def test_torchrun_cli_resumes_to_the_single_process_run(tmp_path):
    worker, two = tmp_path / "cli.py", tmp_path / "two"
    worker.write_text(CLI_WORKER)
    first = torchrun(worker, *_cli(two, "--steps", "2"))
    assert first.returncode == 0, first.stderr[-3000:]
    assert json.loads((tmp_path / "two.writes1.json").read_text()) == []       # rank 1 wrote nothing
    assert {"ckpt.pt", "config.json", "metrics.json", "history.json"} <= set(
        json.loads((tmp_path / "two.writes0.json").read_text()))
    assert first.stdout.count("done: 2 steps") == 1                             # rank 0 alone reports
    again = torchrun(worker, *_cli(two, "--steps", "4", "--resume"))
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((tmp_path / "two.writes1.json").read_text()) == []

    metrics = run(TrainConfig(model="hmog", dry_run=True, batch=8, steps=4, log_every=1, fid=False, progress=False,
                              out=str(tmp_path / "one"), options={"n_critic": 2}))   # one process, uninterrupted
    assert metrics["world_size"] == 1
    a = torch.load(two / "ckpt.pt", weights_only=True)
    b = torch.load(tmp_path / "one" / "ckpt.pt", weights_only=True)
    assert a["step"] == b["step"] == 4
    # float32: summation order differs between 1 and 2 processes; Adam (g / (√v + eps)) turns that
    # rounding into steps of up to lr = 1e-4 where a gradient is ~0; elsewhere the weights agree.
    diff = torch.cat([(a["model"][k] - b["model"][k]).abs().flatten() for k in b["model"]
                      if b["model"][k].is_floating_point()])
    print(f"CLI float32: max |Δparam| = {diff.max():.2e}, share above 1e-6 = {(diff > 1e-6).float().mean():.2%}")
    assert diff.max() < 1e-4 and (diff > 1e-6).float().mean() < 0.05
    assert a["history"]["step"] == b["history"]["step"] == [1, 2, 3, 4]
    assert a["history"]["d_loss"] == pytest.approx(b["history"]["d_loss"], rel=1e-4)
    for name in ("config.json", "metrics.json"):
        assert json.loads((two / name).read_text())["world_size"] == 2
    assert json.loads((two / "metrics.json").read_text())["steps_this_run"] == 2


def launch_two(*args, script=None):
    """Two ranks of ``python -m mixgan.train`` (or of `script`) started as torchrun would:
    (return codes, stderr 0 lines, stderr 1)."""
    port = free_port()
    cmd = [sys.executable, *([str(script)] if script else ["-m", "mixgan.train"])]
    procs = [subprocess.Popen([*cmd, *map(str, args)], cwd=ROOT,
                              env={**ENV, "WORLD_SIZE": "2", "RANK": str(r), "LOCAL_RANK": str(r),
                                   "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in range(2)]
    (_, err0), (_, err1) = [p.communicate(timeout=120) for p in procs]
    return [p.returncode for p in procs], err0.strip().splitlines(), err1.strip()


def test_world_size_not_dividing_the_batch_is_one_error(tmp_path):
    codes, err0, err1 = launch_two(*_cli(tmp_path / "run", "--batch", "5"))
    assert codes == [2, 2]
    assert len(err0) == 1 and err0[0].startswith("mixgan.train: error: batch=5") and "2 processes" in err0[0]
    assert err1 == ""                                                           # rank 0 reports for all
    assert not (tmp_path / "run").exists()                                      # before any file


def test_a_busy_folder_stops_every_rank(tmp_path):
    """Rank 0 alone takes the folder's lock; its error reaches rank 1, which must not wait for it."""
    with run_lock(tmp_path / "run"):
        codes, err0, err1 = launch_two(*_cli(tmp_path / "run"))
    assert codes == [2, 2]
    assert len(err0) == 1 and "is in use by another run" in err0[0] and err1 == ""
    assert sorted(os.listdir(tmp_path / "run")) == [".lock"]


# mixgan.train where rank 1 alone cannot read the data
RANK1_WORKER = r'''
import os, runpy, sys
import mixgan.train.cli as cli
load = cli.load_data

def load_data(cfg):
    if os.environ["RANK"] == "1":
        raise PermissionError(13, "Permission denied", "/data/mnist")
    return load(cfg)
cli.load_data = load_data
sys.argv = ["mixgan.train"] + sys.argv[1:]
runpy.run_module("mixgan.train", run_name="__main__")
'''


def test_an_error_of_one_rank_alone_is_reported_by_that_rank(tmp_path):
    """Rank 1 says what went wrong there; rank 0, left alone in the job, says so in one line."""
    worker = tmp_path / "rank1.py"
    worker.write_text(RANK1_WORKER)
    codes, err0, err1 = launch_two(*_cli(tmp_path / "run"), script=worker)
    assert codes == [2, 2], (err0, err1)
    assert err1 == "mixgan.train: error (rank 1): Permission denied: /data/mnist"
    assert len(err0) == 1 and err0[0].startswith("mixgan.train: error: another process of the job stopped"), err0


def test_sharded_draws_are_slices_of_the_global_draw():
    from mixgan.nets import noise

    def draws():                                # 4 rows of each kind of training noise
        return (noise.randn(4, 3), noise.rand(4, 1, 1), noise.randint(10, 4),
                noise.gumbel_softmax_hard(torch.zeros(4, 5, requires_grad=True), 0.5))
    torch.manual_seed(0)
    whole = [torch.cat(parts) for parts in zip(*[_shard(draws, r, 2) for r in range(2)])]
    torch.manual_seed(0)
    one = (torch.randn(8, 3), torch.rand(8, 1, 1), torch.randint(10, (8,)),
           torch.nn.functional.gumbel_softmax(torch.zeros(8, 5), tau=0.5, hard=True))
    assert all(torch.equal(a, b) for a, b in zip(whole, one))
    assert noise.shard() == (0, 1)
    with pytest.raises(ValueError, match="rank"):
        with noise.sharded(2, 2):
            pass


def _shard(draws, rank, world):
    """The draws of rank `rank` of `world`, each rank starting from the same generator state."""
    from mixgan.nets import noise
    state = torch.get_rng_state()
    with noise.sharded(rank, world):
        out = draws()
    if rank < world - 1:
        torch.set_rng_state(state)
    return out
