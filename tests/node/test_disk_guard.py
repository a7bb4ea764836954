"""The disk guard (node/disk.py): full below its reserve, back only above the reserve with
some margin (no flapping at the edge), never full without a reserve."""

from __future__ import annotations

from pathlib import Path

from node.disk import RESUME_FACTOR, DiskGuard, free_bytes


def test_full_below_the_reserve_and_back_only_with_a_margin(tmp_path: Path) -> None:
    free = free_bytes(tmp_path)
    guard = DiskGuard(tmp_path, min_free_bytes=free * 2)
    assert guard.check() and guard.full
    assert "disk is full" in guard.message() and str(tmp_path) in guard.message()
    guard.min_free_bytes = int(free / RESUME_FACTOR) + (1 << 30)  # free is above, not by enough
    assert guard.check()
    guard.min_free_bytes = free // 4
    assert not guard.check()


def test_no_reserve_never_fills(tmp_path: Path) -> None:
    assert not DiskGuard(tmp_path, min_free_bytes=0).check()


def test_a_missing_directory_keeps_the_last_verdict(tmp_path: Path) -> None:
    guard = DiskGuard(tmp_path / "gone", min_free_bytes=1)
    assert not guard.check()
