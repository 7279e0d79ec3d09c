"""The load of the resume figure's last pipeline: it fails while a file named ``broken`` exists
beside the config, which is how the figure leaves a 10,000-step run failed, to be resumed."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def load(batch: Any) -> None:
    if (Path(__file__).parent / "broken").exists():
        raise ConnectionError("the target is down")
