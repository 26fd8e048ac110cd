"""Atomic writes: whole files or nothing, with ordinary permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from twoface.fileio import atomic_path, atomic_write_text


def test_atomic_write_replaces_and_keeps_the_umask_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    old = os.umask(0o022)
    try:
        atomic_write_text(target, "one")
        atomic_write_text(target, "two")
    finally:
        os.umask(old)
    assert target.read_text() == "two"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_bad_device_is_a_user_error() -> None:
    from twoface.device import pick_device
    from twoface.errors import TwofaceError

    assert pick_device("cpu").type == "cpu"
    with pytest.raises(TwofaceError, match="not a device name"):
        pick_device("gpu")
