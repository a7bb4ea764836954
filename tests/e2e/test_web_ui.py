"""The web UI (`/ui` on the admin port) in headless Chromium (Debian's chromium, driven by
Playwright from PyPI): list and filter invocations, describe one with its journal, kill it, see
services, deployments, a key's state and the cluster; a screenshot that is not blank."""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from node.local import http
from tests.e2e.conftest import Cluster

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does)")
    return found


def post(url: str, body: bytes) -> tuple[int, bytes]:
    status, _, out = http("POST", url, body, {"content-type": "application/json"}, timeout=10)
    return status, out


def distinct_colours(png: bytes) -> int:
    """How many different pixels a PNG screenshot has (8-bit RGB/RGBA, no interlace)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", data[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    seen: set[bytes] = set()
    previous = bytearray(stride)
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        filt, row = line[0], bytearray(line[1:])
        for x in range(stride):  # undo the PNG filters
            left = row[x - channels] if x >= channels else 0
            up, corner = previous[x], previous[x - channels] if x >= channels else 0
            if filt == 1:
                row[x] = (row[x] + left) & 0xFF
            elif filt == 2:
                row[x] = (row[x] + up) & 0xFF
            elif filt == 3:
                row[x] = (row[x] + (left + up) // 2) & 0xFF
            elif filt == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                row[x] = (row[x] + pred) & 0xFF
        if y % 8 == 0:
            seen.update(bytes(row[i : i + channels]) for i in range(0, stride, channels * 8))
        previous = row
    return len(seen)


def test_the_ui_lists_describes_and_kills_invocations_in_headless_chromium(
    cluster: Cluster, tmp_path: Path
) -> None:
    node = cluster.node
    executable = chromium()
    playwright = pytest.importorskip("playwright.sync_api")
    assert post(node.ingress_url + "/Counter/ui/add", b"5")[0] == 200
    assert post(node.ingress_url + "/Counter/ui/add", b"2")[0] == 200
    status, _ = post(node.ingress_url + "/Sleepy/forever/send", b'"ui"')
    assert status == 202

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            page: Any = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(node.admin_url + "/ui")
            page.wait_for_selector("#invocation-list tbody tr.row")
            assert "server " in page.inner_text("#version")

            # Filter: the sleeping invocation, suspended on its hour-long sleep.
            page.fill("#invocation-filter input[name=service]", "Sleepy")
            page.click("#invocation-filter button[type=submit]")
            page.wait_for_function(
                "document.querySelectorAll('#invocation-list tbody tr.row').length === 1"
            )
            row = page.locator("#invocation-list tbody tr.row").first
            assert "Sleepy/forever" in row.inner_text()
            assert "suspended" in row.inner_text()
            row.click()
            page.wait_for_selector("#journal tbody tr")
            assert "Sleepy/forever" in page.inner_text("#detail-title")
            journal = page.inner_text("#journal")
            assert "Sleep" in journal or "sleep" in journal, journal

            page.click("#invocation-detail button[data-op=kill]")
            page.wait_for_function(
                "document.querySelector('#action-result').textContent.includes('kill: done')"
            )
            page.wait_for_function(
                "document.querySelector('#detail-fields').textContent.includes('completed')"
            )
            assert "killed" in page.inner_text("#detail-fields")

            page.click("nav button[data-tab=services]")
            page.wait_for_selector("#service-list tbody tr")
            assert "Counter" in page.inner_text("#service-list")
            assert node.admin_url and "http://" in page.inner_text("#deployment-list")

            page.click("nav button[data-tab=state]")
            page.fill("#state-filter input[name=service]", "Counter")
            page.fill("#state-filter input[name=key]", "ui")
            page.click("#state-filter button[type=submit]")
            page.wait_for_function(
                "document.querySelector('#state-list tbody').textContent.includes('count')"
            )
            assert "7" in page.inner_text("#state-list tbody")

            page.click("nav button[data-tab=cluster]")
            page.wait_for_selector("#partition-list tbody tr")
            assert page.locator("#partition-list tbody tr").count() == 24

            page.click("nav button[data-tab=invocations]")
            page.wait_for_selector("#invocation-list tbody tr.row")
            shot = page.screenshot(path=str(tmp_path / "ui.png"))
            assert distinct_colours(shot) > 5, "the screenshot is blank"
            assert errors == []
        finally:
            browser.close()


def test_the_ui_is_served_by_the_admin_api_only(cluster: Cluster) -> None:
    node = cluster.node
    status, headers, body = http("GET", node.admin_url + "/ui")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b'<script src="/ui/app.js">' in body
    assert http("GET", node.admin_url + "/ui/app.js")[0] == 200
    assert http("GET", node.admin_url + "/ui/missing.js")[0] == 404
    assert http("POST", node.admin_url + "/ui", b"")[0] == 405
    assert http("GET", node.ingress_url + "/ui")[0] == 404
