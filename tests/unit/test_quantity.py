from __future__ import annotations

from decimal import Decimal

import pytest

from campus.fleet.quantity import parse_cpu, parse_memory, parse_memory_input


@pytest.mark.parametrize(("text", "cores"), [("500m", "0.5"), ("2", "2"), ("1.5", "1.5")])
def test_cpu(text: str, cores: str) -> None:
    assert parse_cpu(text) == Decimal(cores)


def test_memory_binary_suffix() -> None:
    assert parse_memory("2Gi") == 2 * 1024**3


@pytest.mark.parametrize("bad", ["abc", "-1", "2GB"])
def test_bad_quantity_is_rejected(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes"):
        parse_memory(bad)


def test_memory_a_person_writes_is_never_in_millibytes() -> None:
    assert parse_memory("1000m") == 1  # as the API server may write it
    with pytest.raises(ValueError, match=r"'1000m' is in millibytes .*write Mi or Gi"):
        parse_memory_input("1000m")
    assert parse_memory_input("512Mi") == 512 * 1024**2
