"""Test-session set-up shared by tests/ and the notebooks nbval collects.

One CPU thread for torch, here and in every notebook kernel the tests start (kernels inherit
the environment).  The models under test are tiny: a second OpenMP thread buys little on an
idle 2-core machine and costs 5-10x when the cores are busy (measured: the 3,000-step
resume test took 27 s with 1 thread and 128 s with 2, at load average 3.5 on 2 cores).
Set MIXGAN_TEST_THREADS=N to change it.  MIXGAN_HEADLESS=1: the notebooks' explorers show a
static figure instead of a live widget (see mixgan.widgets).

``make test`` runs a pytest-xdist worker per core; the longest tests are collected first, so that
no worker is left with one of them at the end while the others idle.
"""
import os

THREADS = os.environ.get("MIXGAN_TEST_THREADS", "1")
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = THREADS
os.environ["MIXGAN_HEADLESS"] = "1"

import torch  # noqa: E402  (after the environment is set)

torch.set_num_threads(int(THREADS))


# the tests that take a minute or more on a 2-core CPU, longest first (module::name prefixes)
LONGEST = ("test_notebooks.py::test_notebook_runs[00_quickstart]", "test_quickstart.py::",
           "test_notebooks.py::test_notebook_runs[01b_mixture_lab]", "test_benchmarks.py::test_analysis_targets_cluster",
           "test_distributed.py::", "test_reliability.py::test_reliability_quick")


def pytest_collection_modifyitems(config, items):
    def rank(item):
        node = item.nodeid.split("/")[-1]
        return next((i for i, p in enumerate(LONGEST) if node.startswith(p)), len(LONGEST))
    items.sort(key=rank)                      # stable: every other test keeps its place
