"""The repository root on ``sys.path``, so SDK tests can import ``examples`` however pytest is run
(``pytest sdk/tests`` alone does not put it there)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
