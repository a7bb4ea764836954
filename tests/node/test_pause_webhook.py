"""The pause webhook's request: where it goes and what it says."""

from __future__ import annotations

import orjson
import pytest

from node.pause_webhook import Target, payload
from partition import actions as act


def test_a_keyed_invocations_notification_names_its_key_and_target() -> None:
    paused = act.Paused("inv_1abc", "Counter", "add", "alice", True, 500, "boom", 1_764_547_200_000)
    assert orjson.loads(payload(paused)) == {
        "invocation_id": "inv_1abc",
        "target": "Counter/alice/add",
        "service": "Counter",
        "handler": "add",
        "key": "alice",
        "status": "paused",
        "last_failure": {"code": 500, "message": "boom"},
        "paused_at": "2025-12-01T00:00:00.000Z",
    }


def test_the_webhook_url_is_parsed_once_and_a_bad_one_is_refused() -> None:
    assert Target.parse("https://hooks.example/p?x=1") == Target(
        "https", "hooks.example", 443, "/p?x=1"
    )
    assert Target.parse("http://127.0.0.1:8000") == Target("http", "127.0.0.1", 8000, "/")
    for bad in ("http://", "ftp://x/", "hooks.example/p"):
        with pytest.raises(ValueError, match="pause_webhook_url"):
            Target.parse(bad)
