"""``cotlit export`` never runs code from a checkpoint and never writes over its input."""

from __future__ import annotations

import pickle

import pytest
import torch

from cotlit.cli import main


class CreatesFile:
    """Unpickling it creates ``path`` (what a crafted checkpoint could do with any code)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.parametrize("container", ["torch.save", "pickle"])
def test_crafted_checkpoint_is_refused_and_runs_nothing(tmp_path, capsys, container):
    marker = tmp_path / "pwned"
    ckpt = tmp_path / "evil.ckpt"
    payload = {"state_dict": {}, "hyper_parameters": CreatesFile(str(marker))}
    if container == "torch.save":
        torch.save(payload, ckpt)
    else:
        ckpt.write_bytes(pickle.dumps(payload))
        pickle.loads(ckpt.read_bytes())  # the file is really malicious: plain unpickling runs it
        marker.unlink()
    assert main(["export", "--ckpt", str(ckpt), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert not marker.exists() and not (tmp_path / "out").exists()
    assert err.count("\n") == 1 and "refusing to load a checkpoint that would run code" in err
    assert ("GLOBAL io.open" if container == "torch.save" else "Unsupported operand") in err


@pytest.mark.parametrize(("out", "message"), [("ckpt", "would overwrite the input"), ("file", "a file is in the way")])
def test_export_refuses_an_out_that_is_its_input_or_a_file(tmp_path, capsys, out, message):
    ckpt = tmp_path / "last.ckpt"
    torch.save({"state_dict": {}}, ckpt)
    (tmp_path / "file").write_text("keep me")
    target = ckpt if out == "ckpt" else tmp_path / "file"
    before = target.read_bytes()
    assert main(["export", "--ckpt", str(ckpt), "--out", str(target)]) == 2
    assert message in capsys.readouterr().err and target.read_bytes() == before


def test_truncated_checkpoint_is_one_line(tmp_path, capsys):
    ckpt = tmp_path / "last.ckpt"
    torch.save({"state_dict": {"w": torch.zeros(256)}}, ckpt)
    ckpt.write_bytes(ckpt.read_bytes()[:300])
    assert main(["export", "--ckpt", str(ckpt), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "corrupt, truncated or not a checkpoint" in err and str(ckpt) in err
