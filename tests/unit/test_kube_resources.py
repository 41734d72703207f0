"""Resources and the scheduler's view of one pod: the one model plan and scale share."""

from __future__ import annotations

from typing import Any

import pytest

from campus.kube.resources import GIB, MIB, Resources, millicores, pod_request, total


def test_quantities_round_up_to_whole_millicores_and_bytes() -> None:
    assert millicores("250m") == 250
    assert millicores("0.0001") == 1  # as the scheduler rounds: never below what was asked
    assert millicores(2) == 2000
    assert Resources.of({"cpu": "1500m", "memory": "1Gi"}) == Resources(1500, GIB)
    assert Resources.of({}) == Resources()


def test_pod_request_counts_init_containers_and_overhead() -> None:
    spec: dict[str, Any] = {
        "containers": [
            {"resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}},
            {"resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}},
        ],
        "initContainers": [{"resources": {"requests": {"cpu": "2", "memory": "64Mi"}}}],
        "overhead": {"cpu": "10m", "memory": "1Mi"},
    }
    # CPU from the init container (2 > 0.5), memory from the containers together.
    assert pod_request(spec) == Resources(2010, 513 * MIB, 1)


def test_pod_request_of_a_pod_without_requests_is_one_pod_slot() -> None:
    assert pod_request({"containers": [{"name": "c"}, {"resources": {}}]}) == Resources(pods=1)


def test_arithmetic_and_comparisons() -> None:
    small, big = Resources(500, GIB, 1), Resources(2000, 4 * GIB, 10)
    assert small + small == small.times(2) == Resources(1000, 2 * GIB, 2)
    assert big - small == Resources(1500, 3 * GIB, 9)
    assert total([small, small, big]) == Resources(3000, 6 * GIB, 12)
    assert total([]) == Resources()
    assert small.fits_in(big) and not small.exceeds(big)
    assert big.exceeds(small) and not big.fits_in(small)
    # Any one dimension is enough to exceed: memory alone, or pod slots alone.
    assert Resources(100, 5 * GIB).exceeds(Resources(2000, 4 * GIB))
    assert Resources(pods=11).exceeds(Resources(2000, 4 * GIB, 10))
    assert Resources(100, GIB, 3).without_pods() == Resources(100, GIB)


def test_dominant_share() -> None:
    node = Resources(4000, 16 * GIB, 110)
    assert Resources(1000, 8 * GIB, 1).share_of(node) == pytest.approx(0.5)
    assert Resources(3000, GIB, 1).share_of(node) == pytest.approx(0.75)
    assert Resources(1000, GIB).share_of(Resources()) == 0.0


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Resources(5000, 28 * GIB), "5 CPU, 28.0 GiB"),
        (Resources(4750, 3 * GIB // 2), "4.75 CPU, 1.5 GiB"),
        (Resources(250, 512 * MIB), "0.25 CPU, 0.5 GiB"),
        (Resources(), "0 CPU, 0.0 GiB"),
    ],
)
def test_shown_as_cores_and_gibibytes(amount: Resources, shown: str) -> None:
    assert str(amount) == shown
