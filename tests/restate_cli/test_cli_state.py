"""`restate state get|edit|clear` against a real Perdure node: the CLI reads a key's state with
/query and writes it with POST /services/{name}/state, carrying Restate's content-hash version
of what it read; an edit made from a state that changed meanwhile is dropped."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from node.local import wait_until
from tests.restate_cli.conftest import Perdure


def editor(perdure: Perdure, name: str, new_state: object, add_first: int | None = None) -> Path:
    """A program for RESTATE_EDITOR that writes `new_state` into the file the CLI opens (after
    adding `add_first` to the counter through the ingress, to change the state meanwhile)."""
    script = perdure.tmp / name
    lines = [f"#!{sys.executable}", "import sys, urllib.request"]
    if add_first is not None:
        url = perdure.node.ingress_url + "/Counter/bob/add"
        headers = {"content-type": "application/json"}
        lines.append(
            f"urllib.request.urlopen(urllib.request.Request({url!r}, "
            f"data=b'{add_first}', headers={headers!r}))"
        )
    lines.append(f"open(sys.argv[1], 'w').write({json.dumps(new_state)!r})")
    script.write_text("\n".join(lines) + "\n")
    script.chmod(0o755)
    return script


def state_of(perdure: Perdure, key: str) -> dict[str, str]:
    rows = perdure.query(
        "SELECT key, value_utf8 FROM state WHERE service_name = 'Counter' "
        f"AND service_key = '{key}'"
    )
    return {r["key"]: r["value_utf8"] for r in rows}


def test_state_get_shows_a_keys_values(perdure: Perdure) -> None:
    status, _, out = perdure.call("/Counter/alice/add", 3)
    assert status == 200, out
    shown = perdure.restate("state", "get", "Counter", "alice")
    assert "count" in shown and " 3 " in shown


def test_state_edit_replaces_the_state_when_the_version_matches(perdure: Perdure) -> None:
    status, _, out = perdure.call("/Counter/carol/add", 5)
    assert status == 200, out
    script = editor(perdure, "edit-carol", {"count": 42, "note": "edited"})
    out = perdure.restate("state", "edit", "Counter", "carol", editor=script)
    assert "42" in out
    wait_until(
        lambda: state_of(perdure, "carol") == {"count": "42", "note": '"edited"'}, 10, "the edit"
    )
    status, _, out = perdure.call("/Counter/carol/add", 1)
    assert (status, out) == (200, 43)  # the handler sees the edited state


def test_state_edit_made_from_a_stale_state_is_dropped(perdure: Perdure) -> None:
    status, _, out = perdure.call("/Counter/bob/add", 1)
    assert status == 200, out
    # The editor adds 10 through the ingress while "open": the CLI's version is stale.
    script = editor(perdure, "edit-bob", {"count": 1000}, add_first=10)
    perdure.restate("state", "edit", "Counter", "bob", editor=script)
    status, _, out = perdure.call("/Counter/bob/get", None)  # after the edit in the log
    assert (status, out) == (200, 11)
    assert state_of(perdure, "bob") == {"count": "11"}
    # --force sends no version: applied whatever the state is.
    perdure.restate(
        "state",
        "edit",
        "--force",
        "Counter",
        "bob",
        editor=editor(perdure, "force-bob", {"count": 7}),
    )
    wait_until(lambda: state_of(perdure, "bob") == {"count": "7"}, 10, "the forced edit")


def test_state_clear_empties_a_key_and_only_that_key(perdure: Perdure) -> None:
    for key in ("dave", "erin"):
        status, _, out = perdure.call(f"/Counter/{key}/add", 9)
        assert status == 200, out
    out = perdure.restate("state", "clear", "Counter/dave")
    assert "dave" in out
    wait_until(lambda: state_of(perdure, "dave") == {}, 10, "the state to be cleared")
    assert state_of(perdure, "erin") == {"count": "9"}
