"""The example programs are plain restate-sdk programs: `import perdure as restate` is their only
mention of Perdure, and everything they use through `restate.` exists in restate-sdk 1.2's public
API, so each runs on Restate with that one line changed to `import restate`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import perdure
from node.local import ROOT

EXAMPLES = ["saga", "approval_workflow", "awakeable", "fan_out"]

# restate.__all__ of restate-sdk 1.2.0 (research/sdk-python-api.md section 1).
RESTATE_API = {
    "Service",
    "VirtualObject",
    "Workflow",
    "Context",
    "ObjectContext",
    "ObjectSharedContext",
    "WorkflowContext",
    "WorkflowSharedContext",
    "DurablePromise",
    "RestateDurableFuture",
    "RestateDurableCallFuture",
    "RestateDurableSleepFuture",
    "SendHandle",
    "ScopedContext",
    "RunOptions",
    "TerminalError",
    "JournalValueCodec",
    "JournalValueCodecProvider",
    "app",
    "create_test_harness",
    "test_harness",
    "HarnessEnvironment",
    "gather",
    "as_completed",
    "wait_completed",
    "select",
    "logging",
    "RestateLoggingFilter",
    "InvocationRetryPolicy",
    "SdkInternalBaseException",
    "is_internal_exception",
    "getLogger",
    "RestateClient",
    "RestateClientSendHandle",
    "HttpError",
    "create_client",
}


def _tree(name: str) -> ast.Module:
    return ast.parse((ROOT / "examples" / f"{name}.py").read_text(), filename=f"{name}.py")


@pytest.mark.parametrize("name", EXAMPLES)
def test_the_only_perdure_import_is_import_perdure_as_restate(name: str) -> None:
    imports = []
    for node in ast.walk(_tree(name)):
        if isinstance(node, ast.Import):
            imports += [(a.name, a.asname) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            imports += [(f"{node.module}.{a.name}", a.asname) for a in node.names]
    ours = [i for i in imports if i[0].split(".")[0] in {"perdure", "restate"}]
    assert ours == [("perdure", "restate")]
    project = {"node", "partition", "ingress", "log", "bench", "tests", "scripts", "examples"}
    assert not [i for i in imports if i[0].split(".")[0] in project]


@pytest.mark.parametrize("name", EXAMPLES)
def test_everything_used_through_restate_is_restate_sdk_public_api(name: str) -> None:
    used = {
        node.attr
        for node in ast.walk(_tree(name))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "restate"
    }
    assert used, "the example uses nothing through `restate.`?"
    assert used <= RESTATE_API, used - RESTATE_API
    assert used <= set(perdure.__all__), used - set(perdure.__all__)
    names = {n.id for n in ast.walk(_tree(name)) if isinstance(n, ast.Name)}
    assert "perdure" not in names  # no other use of the module under its own name


@pytest.mark.parametrize("name", EXAMPLES)
def test_each_example_defines_an_app(name: str) -> None:
    source = Path(ROOT / "examples" / f"{name}.py").read_text()
    assert "\napp = restate.app(services=[" in source
