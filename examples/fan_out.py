"""Fan-out / fan-in with ``gather``: render every image of a gallery in parallel.

``Gallery.publish`` calls ``Thumbnailer.render`` once per image without awaiting, then waits
for all the calls with ``restate.gather``. Each call is its own durable invocation, retried on
its own; the gallery's journal records every result, so a crash of the gallery never renders an
image twice. A rendering that fails terminally is reported, not fatal to the others.

Try it (served with ``python -m perdure serve examples.fan_out:app --port 9080``)::

    curl localhost:8080/Gallery/publish --json '["cat.png", "dog.png", "corrupt.png"]'
    # {"thumbnails": ["thumb-cat.png", "thumb-dog.png"],
    #  "failed": ["corrupt.png: unreadable image"]}
"""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

import perdure as restate

thumbnailer = restate.Service("Thumbnailer")
gallery = restate.Service("Gallery")


class Published(TypedDict):
    thumbnails: list[str]
    failed: list[str]


def _render(image: str) -> str:
    """Stands for the actual image processing."""
    if image.startswith("corrupt"):
        raise restate.TerminalError("unreadable image", status_code=422)
    return f"thumb-{image}"


@thumbnailer.handler()
async def render(ctx: restate.Context, image: str) -> str:
    await ctx.sleep(timedelta(milliseconds=300))  # rendering takes a while
    return await ctx.run_typed("render", _render, image=image)


@gallery.handler()
async def publish(ctx: restate.Context, images: list[str]) -> Published:
    renders = [ctx.service_call(render, arg=image) for image in images]
    await restate.gather(*renders)
    published = Published(thumbnails=[], failed=[])
    for image, rendering in zip(images, renders, strict=True):
        try:
            published["thumbnails"].append(await rendering)
        except restate.TerminalError as e:
            published["failed"].append(f"{image}: {e.message}")
    return published


app = restate.app(services=[gallery, thumbnailer])
