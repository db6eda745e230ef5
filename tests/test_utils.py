"""mixgan.utils: seeded blocks restore the RNG; atomic writes leave old-or-new, never a temp file."""
import json
import os

import pytest
import torch

from mixgan.utils import atomic_write, save_json, save_torch, seeded


def test_seeded_is_reproducible_and_restores_the_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with seeded(7):
        a = torch.rand(2)
    with seeded(7):
        b = torch.rand(2)
    assert torch.equal(a, b)
    assert torch.equal(torch.rand(3), expected)          # as if the blocks never ran


def test_atomic_write_replaces_and_cleans_up(tmp_path):
    path = tmp_path / "a.json"
    save_json({"a": 1}, path)
    save_json({"a": 2}, path)
    assert json.loads(path.read_text()) == {"a": 2}
    assert os.listdir(tmp_path) == ["a.json"]
    save_torch({"w": torch.ones(2)}, tmp_path / "b.pt")
    assert torch.equal(torch.load(tmp_path / "b.pt", weights_only=True)["w"], torch.ones(2))


def test_atomic_write_failure_keeps_the_old_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")

    def broken(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, broken)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_progress_bars_are_text_in_headless_runs(monkeypatch, capsys):
    """A papermill run stores a widget bar at 0 %; a text bar is stored where it ended."""
    import tqdm.auto
    from tqdm import tqdm as text_bar

    from mixgan.utils import headless, progress_bar
    monkeypatch.setenv("MIXGAN_HEADLESS", "1")
    assert headless()
    bar = progress_bar(range(3), desc="steps")
    assert type(bar) is text_bar and bar.mininterval == 10.0
    assert list(bar) == [0, 1, 2]
    assert "steps: 100%" in capsys.readouterr().err
    assert list(progress_bar(range(2), desc="inner", leave=False)) == [0, 1]
    assert "inner: 100%" in capsys.readouterr().err                          # kept where it ended
    monkeypatch.setenv("MIXGAN_HEADLESS", "0")
    assert not headless()
    with progress_bar(total=1, disable=True) as bar:
        assert isinstance(bar, tqdm.auto.tqdm)
