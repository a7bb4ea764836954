"""Network namespaces a test creates (and deletes) so it can cut and degrade the network
between real node processes, with iptables, as ../shared/research/ecosystem-tools.md describes.

    with Network(3) as net:               # skips the test when this machine cannot
        net.host(i), net.ns(i)            # node i's address and namespace
        net.root_host                     # this process's address on the same bridge
        net.cut(i)                        # node i hears from and reaches no other node
        net.lossy(0.2)                    # every node drops 20 % of its peers' packets
        net.heal()

One bridge in a "switch" namespace joins a namespace per node and a veth into the root
namespace (so the test and the deployment, which run here, reach every node). Every name has a
random tag of its own and everything is deleted on exit; nothing can leave the machine (the
addresses are private and routed nowhere else). Only what this process created is touched.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import subprocess
from types import TracebackType

import pytest


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=30)


def unavailable() -> str | None:
    """Why network namespaces cannot be used here, or None."""
    if os.geteuid() != 0:
        return "network fault tests need root (network namespaces, iptables)"
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            return f"network fault tests need `{tool}` (apt-get install -y iproute2 iptables)"
    return None


class Network:
    def __init__(self, size: int) -> None:
        self.size = size
        self.tag = "pd" + secrets.token_hex(3)
        self.subnet = f"10.{random.randint(200, 250)}.{random.randint(0, 255)}"
        self._made: list[str] = []

    def ns(self, i: int) -> str:
        return f"{self.tag}n{i}"

    def host(self, i: int) -> str:
        return f"{self.subnet}.{i + 1}"

    @property
    def root_host(self) -> str:
        return f"{self.subnet}.254"

    def __enter__(self) -> Network:
        why = unavailable()
        if why is not None:
            pytest.skip(why)
        try:
            self._create()
        except (subprocess.CalledProcessError, OSError) as exc:
            self._delete()
            stderr = getattr(exc, "stderr", b"") or b""
            pytest.skip(f"cannot create network namespaces here: {exc} {stderr.decode()[:200]}")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._delete()

    def _create(self) -> None:
        sw, br = f"{self.tag}sw", f"{self.tag}br"
        _run("ip", "netns", "add", sw)
        self._made.append(sw)
        _run("ip", "-n", sw, "link", "add", br, "type", "bridge")
        _run("ip", "-n", sw, "link", "set", br, "up")
        for i in range(self.size):
            ns, here, there = self.ns(i), f"{self.tag}h{i}", f"{self.tag}p{i}"
            _run("ip", "netns", "add", ns)
            self._made.append(ns)
            _run("ip", "link", "add", here, "type", "veth", "peer", "name", there)
            _run("ip", "link", "set", here, "netns", ns)
            _run("ip", "link", "set", there, "netns", sw)
            _run("ip", "-n", sw, "link", "set", there, "master", br)
            _run("ip", "-n", sw, "link", "set", there, "up")
            _run("ip", "-n", ns, "link", "set", "lo", "up")
            _run("ip", "-n", ns, "addr", "add", f"{self.host(i)}/24", "dev", here)
            _run("ip", "-n", ns, "link", "set", here, "up")
        # This (root) namespace joins the bridge too: the test and the deployment live here.
        here, there = f"{self.tag}r0", f"{self.tag}r1"
        _run("ip", "link", "add", here, "type", "veth", "peer", "name", there)
        self._made.append(f"link:{here}")
        _run("ip", "link", "set", there, "netns", sw)
        _run("ip", "-n", sw, "link", "set", there, "master", br)
        _run("ip", "-n", sw, "link", "set", there, "up")
        _run("ip", "addr", "add", f"{self.root_host}/24", "dev", here)
        _run("ip", "link", "set", here, "up")

    def _delete(self) -> None:
        for name in reversed(self._made):
            if name.startswith("link:"):
                subprocess.run(["ip", "link", "del", name[5:]], capture_output=True, timeout=30)
            else:
                subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=30)
        self._made.clear()

    def _iptables(self, i: int, *rule: str) -> None:
        _run("ip", "netns", "exec", self.ns(i), "iptables", *rule)

    def _peers(self, i: int) -> list[str]:
        return [self.host(j) for j in range(self.size) if j != i]

    def cut(self, i: int) -> None:
        """Node i neither hears from nor reaches the other nodes (the test still reaches it)."""
        for peer in self._peers(i):
            self._iptables(i, "-A", "INPUT", "-s", peer, "-j", "DROP")
            self._iptables(i, "-A", "OUTPUT", "-d", peer, "-j", "DROP")

    def lossy(self, probability: float) -> None:
        """Every node drops `probability` of the packets its peers send it."""
        for i in range(self.size):
            for peer in self._peers(i):
                self._iptables(
                    i,
                    "-A",
                    "INPUT",
                    "-s",
                    peer,
                    "-m",
                    "statistic",
                    "--mode",
                    "random",
                    "--probability",
                    str(probability),
                    "-j",
                    "DROP",
                )

    def heal(self) -> None:
        for i in range(self.size):
            self._iptables(i, "-F")
