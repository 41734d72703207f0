from __future__ import annotations

from decimal import Decimal

import pytest

from campus.fleet.quantity import parse_cpu, parse_memory


@pytest.mark.parametrize(("text", "cores"), [("500m", "0.5"), ("2", "2"), ("1.5", "1.5")])
def test_cpu(text: str, cores: str) -> None:
    assert parse_cpu(text) == Decimal(cores)


def test_memory_binary_suffix() -> None:
    assert parse_memory("2Gi") == 2 * 1024**3


@pytest.mark.parametrize("bad", ["abc", "-1", "2GB"])
def test_bad_quantity_is_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes"):
        parse_memory(bad)
