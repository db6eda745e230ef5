"""benchmarks/reliability.py --quick: concurrent starts on one folder, SIGKILLs at random
moments with bit-identical resumes, and one clear error for every bad input (the reliability targets,
at a size that runs in the suite)."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_reliability_quick():
    spec = importlib.util.spec_from_file_location("reliability", ROOT / "benchmarks" / "reliability.py")
    rel = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rel)
    f = rel.main(["--quick"])
    c, k, b = f["concurrent"], f["sigkill"], f["bad_inputs"]
    assert (c["finished"], c["mixed_folders"], c["unreadable_folders"], c["other_exits"]) == (1, 0, 0, 0)
    assert c["refused"] == c["refused_with_one_clear_line"] == c["starts"] - 1
    assert k["unreadable_checkpoints"] == 0 and k["resumes_bit_identical"] == k["runs"] == 2
    assert k["tmp_files_left_after_resume"] == 0
    assert b["one_clear_error"] == b["bad_inputs"] >= 40 and b["code_ran_from_a_pickle"] == 0
    assert f["targets_met"]
