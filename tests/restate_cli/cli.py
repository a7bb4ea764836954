"""The official restate CLI (npm `@restatedev/restate`), installed once under .tools/ and run
against a Perdure node's admin API, non-interactively.

    cli = RestateCli.installed()              # pytest.skip when the npm registry is unreachable
    out = cli.ok(node.admin_url, "invocations", "list")      # stdout; fails on a non-zero exit

Every run gets `--yes` (prompts auto-confirmed), no colours, a HOME of its own (no config of
the machine's user) and `RESTATE_ADMIN_URL`; `editor` sets `RESTATE_EDITOR` (the program
`state edit` and `services config edit` open on their file).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from node.local import ROOT

VERSION = "1.7.12"
TOOLS = ROOT / ".tools" / f"restate-cli-{VERSION}"
# npm's messages when it cannot reach the registry (DNS, refused, timed out, offline).
_UNREACHABLE = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET", "ENETUNREACH")


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass(frozen=True)
class RestateCli:
    executable: Path

    @classmethod
    def installed(cls) -> RestateCli:
        return cls(_install())

    def run(
        self, admin_url: str, *args: str, editor: Path | None = None, timeout: float = 60
    ) -> Run:
        with tempfile.TemporaryDirectory(prefix="restate-cli-home-") as home:
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": home,
                "RESTATE_ADMIN_URL": admin_url,
                "NO_COLOR": "1",
                "CLICOLOR": "0",
                "TERM": "dumb",
                "DO_NOT_TRACK": "1",
            }
            if editor is not None:
                env["RESTATE_EDITOR"] = str(editor)
            proc = subprocess.run(
                [str(self.executable), "--yes", *args],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, admin_url: str, *args: str, editor: Path | None = None) -> str:
        """stdout (and stderr, where the CLI writes its notices) of a run that must succeed."""
        result = self.run(admin_url, *args, editor=editor)
        assert result.code == 0, f"restate {' '.join(args)} exited {result.code}:\n{result.output}"
        return result.output


def _install() -> Path:
    found = _executable()
    if found is not None:
        return found
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed, so the restate CLI cannot be installed")
    TOOLS.mkdir(parents=True, exist_ok=True)
    with open(TOOLS / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install when several test processes start
        found = _executable()
        if found is not None:
            return found
        proc = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(TOOLS),
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                f"@restatedev/restate@{VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    found = _executable()
    if proc.returncode != 0 or found is None:
        if any(code in proc.stderr for code in _UNREACHABLE):
            pytest.skip(
                f"the npm registry cannot be reached to install the restate CLI: "
                f"{proc.stderr.strip().splitlines()[-1]}"
            )
        raise RuntimeError(f"npm install @restatedev/restate@{VERSION} failed:\n{proc.stderr}")
    return found


def _executable() -> Path | None:
    """The platform binary npm installed (the package's node wrapper only finds and runs it)."""
    for candidate in sorted((TOOLS / "node_modules" / "@restatedev").glob("restate-*/bin/restate")):
        if os.access(candidate, os.X_OK):
            return candidate
    wrapper = TOOLS / "node_modules" / ".bin" / "restate"
    return wrapper if wrapper.exists() else None
