"""`make run` in a real (pseudo) terminal: Ctrl-C stops the node and the example services
within 2 s, and make exits 0 (no "a process exited", no "Interrupt")."""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import time
from pathlib import Path

import pytest

from node.local import ROOT, free_port


def read_until(fd: int, marker: bytes, timeout: float) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while marker not in out:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no {marker!r} within {timeout} s: {out[-2000:]!r}")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the terminal closed: the child is gone
                break
            if not chunk:
                break
            out += chunk
    return out


def test_ctrl_c_stops_make_run_cleanly_within_two_seconds(tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {
        **os.environ,
        "PERDURE_DATA_DIR": str(tmp_path / "data"),
        "PERDURE_INGRESS_PORT": str(free_port()),
        "PERDURE_ADMIN_PORT": str(free_port()),
        "PERDURE_GRPC_PORT": str(free_port()),
        "PERDURE_RAFT_PORT": str(free_port()),
        "EXAMPLES_PORT": str(free_port()),
    }
    pid, fd = pty.fork()
    if pid == 0:  # the child: make, on the pseudo terminal, as a user's shell would run it
        os.chdir(ROOT)
        os.execvpe("make", ["make", "--no-print-directory", "run"], env)
    try:
        out = read_until(fd, b"Press Ctrl-C to stop", 180)
        started = time.monotonic()
        os.write(fd, b"\x03")  # Ctrl-C: the terminal sends SIGINT to its foreground group
        out += read_until(fd, b"\x00never", 10)  # everything until the terminal closes
        _, status = os.waitpid(pid, 0)
        took = time.monotonic() - started
        pid = 0
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    text = out.decode(errors="replace")
    print(f"Ctrl-C to exit: {took:.2f} s")
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (status, text[-1500:])
    assert took < 2.0, text[-1500:]
    assert "a process exited" not in text and "Interrupt" not in text, text[-1500:]
