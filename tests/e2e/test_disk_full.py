"""A full disk (issue 11): on a small tmpfs the test mounts as the node's data directory, the
node refuses new work with 503 and a clear message while the disk is over its reserve, keeps
serving reads, loses nothing it acknowledged, and takes work again by itself once space is back.
Needs root (to mount); skipped with a message otherwise. The tmpfs is always unmounted."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from node.disk import free_bytes
from node.local import LocalDeployment, LocalNode, http, wait_until

JSON = {"content-type": "application/json"}
SIZE_MIB = 96
RESERVE = 24 * 1024 * 1024  # the node's min_free_disk_bytes


@contextmanager
def tmpfs(mount_point: Path, size_mib: int) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("the disk-full test mounts a tmpfs, which needs root")
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount_point)], check=False)


def add(node: LocalNode, n: int) -> tuple[int, dict[str, str], bytes]:
    return http("POST", node.ingress_url + "/Counter/disk/add", str(n).encode(), JSON)


def fill(disk: Path, leave: int) -> Path:
    """A file taking all but `leave` bytes of the file system's free space."""
    filler = disk / "filler"
    with open(filler, "wb") as fh:
        block = b"\0" * (1 << 20)
        while free_bytes(disk) > leave + len(block):
            fh.write(block)
            fh.flush()
    return filler


def test_full_disk_refuses_new_work_keeps_reads_loses_nothing_and_recovers(
    tmp_path: Path,
) -> None:
    with tmpfs(tmp_path / "disk", SIZE_MIB) as disk:
        deployment = LocalDeployment(tmp_path / "deployment.log")
        # The data directory is the mount point: the node's own log file stays outside it.
        node = LocalNode(disk, extra_env={"PERDURE_MIN_FREE_DISK_BYTES": str(RESERVE)})
        try:
            deployment.start()
            node.start()
            node.register(deployment.uri)
            acknowledged = 0
            for n in (1, 2, 3):
                status, _, body = add(node, n)
                assert status == 200, body
                acknowledged += n
                assert json.loads(body) == acknowledged
            status, headers, _ = add(node, 4)
            acknowledged += 4
            done, done_output = headers["x-restate-id"], acknowledged

            filler = fill(disk, leave=RESERVE // 2)

            def refused() -> bool:
                nonlocal acknowledged
                status, _, body = add(node, 1)  # until the guard notices, still acknowledged
                if status == 200:
                    acknowledged = json.loads(body)
                return status == 503

            wait_until(refused, 10, "the node to refuse new work")
            status, headers, body = add(node, 100)
            assert status == 503 and headers.get("retry-after") == "1"
            message = json.loads(body)["message"]
            assert "disk is full" in message and "min_free_disk_bytes" in message
            # Reads go on: a finished invocation's output, the admin API and its queries.
            status, _, body = http("GET", f"{node.ingress_url}/restate/invocation/{done}/output")
            assert (status, json.loads(body)) == (200, done_output)
            query = json.dumps({"query": "SELECT count(*) AS n FROM sys_invocation"}).encode()
            status, _, body = http(
                "POST", node.admin_url + "/query", query, {**JSON, "accept": "application/json"}
            )
            assert status == 200, body
            assert http("GET", node.admin_url + "/services")[0] == 200
            # Admin writes that add data are refused the same way; those that free it are not.
            for method, path, payload in (
                ("POST", "/deployments", {"uri": deployment.uri, "force": True}),
                ("POST", "/services/Counter/state", {"object_key": "x", "new_state": {"n": [49]}}),
                ("POST", "/services/Counter/state", {"object_key": "x", "new_state": {}}),
                ("PATCH", f"/invocations/{done}/restart-as-new", None),
            ):
                admin = node.admin_url + path
                if payload is None:
                    status, headers, body = http(method, admin)
                else:
                    status, headers, body = http(method, admin, json.dumps(payload).encode(), JSON)
                if payload == {"object_key": "x", "new_state": {}}:  # clearing frees space
                    assert status == 202, body
                    continue
                assert (status, headers.get("retry-after")) == (503, "1"), (path, body)
                assert "disk is full" in json.loads(body)["message"]

            before = free_bytes(disk)
            filler.unlink()
            assert free_bytes(disk) > before
            wait_until(lambda: add(node, 0)[0] == 200, 10, "the node to take work again")
            status, _, body = add(node, 5)
            assert (status, json.loads(body)) == (200, acknowledged + 5)  # nothing lost
            node.process.require_alive()  # type: ignore[union-attr]
        finally:
            node.stop()
            deployment.stop()


def stopped_for_lack_of_space(log: str) -> bool:
    """The node said it stopped because the disk is full (the journal's write, or the store's,
    whichever failed first)."""
    return any(
        "CRITICAL node: stopping:" in line and "No space left on device" in line
        for line in log.splitlines()
    )


PADDING = b" " * 4096  # JSON whitespace: each add journals ~4 KiB, so the disk fills quickly


def test_a_real_enospc_stops_the_node_cleanly_and_a_restart_loses_nothing(tmp_path: Path) -> None:
    """With no reserve, the disk really fills: a request whose append failed is answered 503
    ("may or may not have been accepted"), the node stops with one line saying why and exit
    status 74 (node/fatal.py), restarting it on the still-full disk stops it the same way, and
    once space is back a restart serves again with every acknowledged increment, and none made
    twice."""
    with tmpfs(tmp_path / "disk", 48) as disk:
        deployment = LocalDeployment(tmp_path / "deployment.log")
        node = LocalNode(disk, extra_env={"PERDURE_MIN_FREE_DISK_BYTES": "0"})
        try:
            deployment.start()
            node.start()
            node.register(deployment.uri)
            process = node.process
            assert process is not None and process.proc is not None
            acknowledged, uncertain = 0, 0
            for n in (1, 2, 3):
                status, _, body = add(node, n)
                assert status == 200, body
                acknowledged = json.loads(body)
            filler = fill(disk, leave=256 * 1024)
            refusals: list[str] = []
            for _ in range(2000):  # ~60 adds fill what is left; bounded either way
                try:
                    status, _, body = http(
                        "POST", node.ingress_url + "/Counter/disk/add", b"1" + PADDING, JSON
                    )
                except OSError:  # the node is stopping or stopped: it may have taken it
                    uncertain += 1
                    break
                if status == 200:
                    acknowledged = json.loads(body)
                    continue
                assert status == 503, (status, body)
                uncertain += 1
                refusals.append(json.loads(body)["message"])
                if not process.alive():
                    break
            process.proc.wait(30)
            log = process.output()
            assert process.proc.returncode == 74, (refusals, log[-3000:])
            # The journal or the store, whichever found the disk full first: a request whose
            # append failed is refused saying why; one whose apply failed sees the node stop
            # (and one arriving while it stops is refused for that).
            why = [m for m in refusals if "No space left on device" in m]
            assert all("may or may not have been accepted" in m for m in why), refusals
            assert stopped_for_lack_of_space(log), (refusals, log[-3000:])
            assert "Traceback" not in log, log[-3000:]

            # Started again on the disk still full (what the stop freed taken too): it stops
            # again, the same way.
            with open(filler, "ab") as more:
                more.write(b"\0" * max(0, free_bytes(disk)))
            node.launch()
            process = node.process
            assert process is not None and process.proc is not None
            process.proc.wait(60)
            log = process.output()
            assert process.proc.returncode == 74, log[-3000:]
            assert log.count("CRITICAL") == 2 and stopped_for_lack_of_space(log), log[-3000:]
            assert "Traceback" not in log

            filler.unlink()
            node.start()
            status, _, body = add(node, 0)
            assert status == 200, body
            count = json.loads(body)
            print(f"acknowledged {acknowledged}, uncertain {uncertain}, counted {count}")
            assert acknowledged <= count <= acknowledged + uncertain  # nothing lost, none twice
        finally:
            node.stop()
            deployment.stop()
