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
    """Memory in bytes: "2Gi" -> 2147483648. Lenient, for quantities the API server wrote
    (it may canonicalise memory to millibytes); what a person typed goes through
    `parse_memory_input`."""
    return _parse(value, "memory")


def parse_memory_input(value: str | int | float) -> Decimal:
    """Memory a person wrote (fleet file, command option), in bytes. Millibytes are legal
    Kubernetes but never meant: `1000m` is one byte, a typo for Mi."""
    parsed = _parse(value, "memory")
    if str(value).strip().endswith("m"):
        raise ValueError(
            f"{value!r} is in millibytes (1000m is one byte): write Mi or Gi for memory"
        )
    return parsed
