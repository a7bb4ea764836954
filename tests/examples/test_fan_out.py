"""examples/fan_out.py: renders run in parallel; gather waits for all; failures are reported."""

from __future__ import annotations

import time

from tests.e2e.conftest import Cluster
from tests.e2e.helpers import call

EXAMPLE = "examples.fan_out:app"


def test_every_image_is_rendered_in_parallel(example: Cluster) -> None:
    images = [f"img{i}.png" for i in range(10)]
    started = time.monotonic()
    published = call(example, "/Gallery/publish", images)
    elapsed = time.monotonic() - started
    assert published == {"thumbnails": [f"thumb-{i}" for i in images], "failed": []}
    assert elapsed < 10 * 0.3 * 0.8, elapsed  # each render takes 300 ms: not one after the other


def test_a_failed_render_is_reported_and_the_others_kept(example: Cluster) -> None:
    published = call(example, "/Gallery/publish", ["cat.png", "corrupt.png", "dog.png"])
    assert published == {
        "thumbnails": ["thumb-cat.png", "thumb-dog.png"],
        "failed": ["corrupt.png: unreadable image"],
    }
