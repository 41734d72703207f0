"""The example fleet as the KWOK-only test sandbox takes it."""

from __future__ import annotations

import re
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "fleet.yml"


def example_on_kwok() -> str:
    """The example fleet without its placement on real nodes (`cluster.real_nodes`), which
    the test sandbox has none of (tests/integration/test_real_environments.py has them)."""
    return re.sub(r"^  real_nodes:.*\n", "", EXAMPLE.read_text(), flags=re.MULTILINE)
