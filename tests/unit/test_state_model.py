"""Each environment's Tutor state: settling the cluster's copy and the local cache, the
Secret that holds it, the encrypted bundle, and rendering from the cluster's copy."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from campus.fleet.model import Fleet
from campus.render import render_environment
from campus.render.state import cached_settings, is_confirmed, write_cached_settings
from campus.state.bundle import BundleError, seal, unseal
from campus.state.model import (
    ClusterCopies,
    Origin,
    Settled,
    StateConflict,
    TutorState,
    decode,
    encode,
    settle,
    stamped,
    to_store,
)
from campus.state.rotation import RotationRefused, ages, check_rotatable

STORED = TutorState("acme-dev", {"ID": "abc", "MYSQL_ROOT_PASSWORD": "s3cret-stored"})


def settled(cached: dict[str, str] | None, confirmed: bool = True, **kwargs: object) -> Settled:
    options: dict[str, object] = {
        "cached": cached,
        "confirmed": confirmed,
        "stored": STORED,
        "unconsulted": None,
        "fleet_keys": frozenset({"LMS_HOST"}),
        "cache": ".campus/acme-dev/config.yml",
    }
    return settle("acme-dev", "acme-dev", **{**options, **kwargs})


def test_the_clusters_copy_fills_an_empty_cache() -> None:
    result = settled(None)
    assert result.origin is Origin.CLUSTER and dict(result.seed) == dict(STORED.values)


def test_a_deployed_cache_that_disagrees_is_refused_naming_settings_not_values() -> None:
    cached = {"ID": "abc", "MYSQL_ROOT_PASSWORD": "s3cret-local", "LMS_HOST": "other"}
    with pytest.raises(StateConflict) as refused:
        settled(cached)
    message = str(refused.value)
    assert "MYSQL_ROOT_PASSWORD" in message and "LMS_HOST" not in message
    assert "s3cret" not in message
    assert "campus state pull acme-dev" in message and "campus state push acme-dev" in message


def test_values_generated_here_and_never_deployed_give_way_to_the_clusters() -> None:
    result = settled({"ID": "new", "MYSQL_ROOT_PASSWORD": "x"}, confirmed=False)
    assert result.origin is Origin.CLUSTER and result.seed["ID"] == "abc"


def test_without_a_cluster_the_cache_or_a_first_install_says_so() -> None:
    cache = settled({"ID": "abc"}, stored=None, unconsulted="no cluster at hand: down")
    assert cache.origin is Origin.CACHE and "no cluster at hand" in cache.describe()
    new = settled(None, stored=None, unconsulted="no cluster at hand: down")
    assert new.origin is Origin.NEW and not new.seed
    first = settled(None, stored=None)
    assert first.origin is Origin.NEW and "deploy stores it" in first.describe()
    # Why the cluster was not asked is the whole command's: said once, apart.
    assert (cache.unasked, new.unasked, first.unasked) == ("no cluster at hand: down",) * 2 + ("",)
    assert (cache.describe_alone(), new.describe_alone()) == ("local cache", "new (first install)")
    assert first.describe_alone() == first.describe()


def test_a_deploy_stores_new_state_adds_new_settings_and_refuses_other_values() -> None:
    assert to_store("acme-dev", "acme-dev", None, STORED) == STORED
    assert to_store("acme-dev", "acme-dev", STORED, STORED) is None
    grown = TutorState("acme-dev", {**STORED.values, "FORUM_KEY": "k"})
    added = to_store("acme-dev", "acme-dev", STORED, grown)
    assert added is not None and dict(added.values) == dict(grown.values)
    other = TutorState("acme-dev", {"ID": "xyz"})
    with pytest.raises(StateConflict, match=r"differ in ID\."):
        to_store("acme-dev", "acme-dev", STORED, other)


def test_the_secret_round_trips_and_is_kept_as_data() -> None:
    secret = encode(STORED, "acme-dev")
    assert secret["metadata"]["labels"]["campus.openedx.org/data"] == "true"
    payload = json.loads(base64.b64decode(secret["data"]["values.json"]))
    assert payload == dict(STORED.values)
    assert decode(secret) == STORED
    assert "s3cret" not in repr(STORED)


def test_the_bundle_is_encrypted_and_needs_the_passphrase() -> None:
    bundle = seal([STORED], "correct horse")
    assert b"s3cret" not in bundle and b"MYSQL" not in bundle
    [back] = unseal(bundle, "correct horse")
    assert back == STORED
    with pytest.raises(BundleError, match="wrong passphrase"):
        unseal(bundle, "wrong horse")
    with pytest.raises(BundleError, match="empty passphrase"):
        seal([STORED], "")


def test_a_render_from_the_clusters_copy_is_identical_without_a_cache(
    example_fleet: Fleet, tmp_path: Path
) -> None:
    environment = example_fleet.environment("acme-dev")
    first = render_environment(environment, tmp_path / "one")
    assert not is_confirmed(tmp_path / "one", "acme-dev")  # generated here, never deployed
    stored = TutorState("acme-dev", first.tutor_state)
    assert {"ID", "MYSQL_ROOT_PASSWORD", "JWT_RSA_PRIVATE_KEY"} <= set(stored.values)
    assert "LMS_HOST" not in stored.values and "PLUGINS" not in stored.values
    again = render_environment(environment, tmp_path / "two", ClusterCopies({"acme-dev": stored}))
    assert again.objects == first.objects and again.secret_values == first.secret_values
    assert again.state_origin.startswith("cluster") and is_confirmed(tmp_path / "two", "acme-dev")


def test_a_conflicting_cache_is_refused_before_tutor_writes(
    example_fleet: Fleet, tmp_path: Path
) -> None:
    environment = example_fleet.environment("acme-dev")
    first = render_environment(environment, tmp_path)
    stored = TutorState("acme-dev", first.tutor_state)
    write_cached_settings(tmp_path, "acme-dev", {"OPENEDX_MYSQL_PASSWORD": "changed-here"})
    before = (tmp_path / "acme-dev" / "config.yml").read_bytes()
    with pytest.raises(StateConflict, match="OPENEDX_MYSQL_PASSWORD"):
        render_environment(environment, tmp_path, ClusterCopies({"acme-dev": stored}))
    assert (tmp_path / "acme-dev" / "config.yml").read_bytes() == before
    assert (cached_settings(tmp_path, "acme-dev") or {})["OPENEDX_MYSQL_PASSWORD"] == "changed-here"


def test_rotation_names_what_it_refuses_and_why() -> None:
    with pytest.raises(RotationRefused) as refused:
        check_rotatable("acme-dev", ["ID", "PLATFORM_NAME", "MEILISEARCH_API_KEY"], STORED)
    message = str(refused.value)
    assert "ID: part of every Deployment's immutable selector" in message
    assert "PLATFORM_NAME: not one of" in message
    assert "MEILISEARCH_API_KEY: derived from MEILISEARCH_MASTER_KEY" in message
    with pytest.raises(RotationRefused, match="OPENEDX_SECRET_KEY: not in acme-dev"):
        check_rotatable("acme-dev", ["OPENEDX_SECRET_KEY"], STORED)
    check_rotatable(
        "acme-dev",
        ["OPENEDX_MYSQL_PASSWORD"],
        TutorState("acme-dev", {"OPENEDX_MYSQL_PASSWORD": "x"}),
    )


def test_each_setting_keeps_the_time_its_value_was_set() -> None:
    first = stamped(None, STORED, "2026-01-01T00:00:00+00:00", "ops@laptop")
    assert set(first.changed_at.values()) == {"2026-01-01T00:00:00+00:00"}
    changed = TutorState("acme-dev", {**STORED.values, "MYSQL_ROOT_PASSWORD": "new-one"})
    second = stamped(first, changed, "2026-03-01T00:00:00+00:00", "ci@runner")
    assert second.changed_at == {
        "ID": "2026-01-01T00:00:00+00:00",
        "MYSQL_ROOT_PASSWORD": "2026-03-01T00:00:00+00:00",
    }
    assert decode(encode(second, "acme-dev")).changed_at == second.changed_at
    found = {a.name: a for a in ages(second, datetime(2026, 3, 3, tzinfo=UTC))}
    assert found["MYSQL_ROOT_PASSWORD"].seconds == 2 * 86400
    assert found["ID"].rotation.startswith("no: part of every Deployment's")
