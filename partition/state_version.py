"""Restate's content hash of a key's state (`StateMutationVersion::from_user_state`,
crates/types/src/state_mut.rs), which `restate state edit|patch|clear` send as `version`.

SHA-256 over the entries sorted by key: for entry i, i as 8 bytes big-endian, 0x01, the key,
0x02, the value, 0x03; then base64 URL-safe without padding. The same bytes give the same
text as Restate's, so a version the CLI computed from what it read matches ours.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable


def version(entries: Iterable[tuple[bytes, bytes]]) -> str:
    digest = hashlib.sha256()
    for i, (key, value) in enumerate(sorted(entries)):
        digest.update(i.to_bytes(8, "big"))
        digest.update(b"\x01" + key + b"\x02" + value + b"\x03")
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
