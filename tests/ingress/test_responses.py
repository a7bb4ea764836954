"""How outcomes become HTTP answers: a transient refusal (503) tells the client when to retry."""

from __future__ import annotations

from ingress.api import Rejected
from ingress.responses import render_outcome


def test_a_503_says_when_to_retry_and_other_refusals_do_not() -> None:
    full = render_outcome(Rejected(503, "the data directory's disk is full"))
    assert full.status == 503 and ("retry-after", "1") in full.headers
    bad = render_outcome(Rejected(400, "bad input", "inv_1x"))
    assert bad.status == 400 and not any(name == "retry-after" for name, _ in bad.headers)
    assert ("x-restate-id", "inv_1x") in bad.headers
