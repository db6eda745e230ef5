"""`python -m mixgan.notebook NAME -p KEY VALUE`: values are Python literals checked against
the notebook's parameters cell; a bad key or value is one line on stderr and exit code 2.
And `make lab`: JupyterLab on the venv's own python3 kernel, started with --allow-root as root."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mixgan.notebook import main, notebook_parameters, parse_parameters, parse_value

ROOT = Path(__file__).resolve().parents[1]


def test_notebook_parameters_read_from_the_tagged_cell():
    params = notebook_parameters("00_quickstart")
    assert params["QUICK"] is True and "OUT_DIR" in params and "SEED" in params


@pytest.mark.parametrize("text, value", [("False", False), ("True", True), ("3", 3), ("0.5", 0.5),
                                         ("'ring8'", "ring8"), ("[1, 2]", [1, 2]), ("None", None)])
def test_values_are_python_literals(text, value):
    assert parse_value("X", text) == value and type(parse_value("X", text)) is type(value)


def test_quick_false_is_false_not_a_truthy_string():
    assert parse_parameters("00_quickstart", [("QUICK", "False")]) == {"QUICK": False}


def test_a_string_parameter_takes_a_bare_word():
    assert parse_parameters("00_quickstart", [("TOY", "ring8")]) == {"TOY": "ring8"}


@pytest.mark.parametrize("key, text, words", [
    ("QUICK", "Flase", ["QUICK", "not a Python literal"]),    # a typo must not become a truthy string
    ("QUICK", "1", ["QUICK", "True or False"]),
    ("SEED", "1.5", ["SEED", "integer"]),
    ("SEED", "[1,", ["SEED", "not a Python literal"]),
    ("NOPE", "1", ["unknown parameter 'NOPE'", "QUICK", "OUT_DIR", "SEED"]),
])
def test_bad_key_or_value_is_one_line_exit_2(key, text, words, capsys):
    with pytest.raises(SystemExit) as e:
        main(["00_quickstart", "-p", key, text])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)


def test_unknown_notebook_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["99_nothing"])
    assert e.value.code == 2 and "00_quickstart" in capsys.readouterr().err


def test_make_lab_runs_as_root_on_the_venv_kernel():
    out = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    lab = [line for line in out.splitlines() if "jupyter lab" in line]
    assert lab, out
    assert ("--allow-root" in lab[0]) == (os.geteuid() == 0), lab[0]
    assert "ipykernel install" not in out           # no second kernel: python3 is the venv's


def test_python3_kernel_is_this_python():
    """The notebooks ask for kernel 'python3'; started from this environment it runs this Python."""
    from jupyter_client.manager import KernelManager
    assert KernelManager(kernel_name="python3").format_kernel_cmd()[0] == sys.executable
