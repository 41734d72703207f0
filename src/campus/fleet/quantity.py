"""Kubernetes quantities ("500m", "2Gi") as numbers, via lightkube's parser."""

from __future__ import annotations

from decimal import Decimal

from lightkube.utils.quantity import parse_quantity


def _parse(value: str | int | float, what: str) -> Decimal:
    try:
        parsed = parse_quantity(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not a Kubernetes {what} quantity") from None
    if parsed is None or parsed < 0:
        raise ValueError(f"{value!r} is not a Kubernetes {what} quantity")
    return parsed


def parse_cpu(value: str | int | float) -> Decimal:
    """CPU in cores: "500m" -> 0.5."""
    return _parse(value, "CPU")


def parse_memory(value: str | int | float) -> Decimal:
    """Memory in bytes: "2Gi" -> 2147483648."""
    return _parse(value, "memory")
