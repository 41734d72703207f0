"""Release changes in the fleet file: `upgrade` pins ENV to a Tutor version, `promote`
copies SRC's pins (and named settings) onto DST. Both read the cluster first: an upgrade
that the deploy would refuse (a downgrade, a skipped release) is refused before anything
is written, and a promotion needs SRC to have deployed its release successfully."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lightkube import Client

from campus.deploy.history import list_revisions
from campus.deploy.lock import last_deploy_unfinished
from campus.deploy.upgrade import plan_upgrade, release_name
from campus.errors import CampusError
from campus.fleet.edit import set_release, set_setting
from campus.fleet.load import load_fleet
from campus.fleet.model import EXACT_VERSION, Environment
from campus.scale.change import Change, Comparison, Edit, apply_change


class PromoteRefused(CampusError):
    """The release change cannot be made; nothing was written."""


def _last_version(client: Client | None, environment: Environment) -> str:
    """The Tutor version of the environment's last recorded deploy ("" if none or unknown)."""
    if client is None:
        return ""
    revisions = list_revisions(client, environment.namespace, environment.name)
    return revisions[-1].tutor_version if revisions else ""


def _no_checks(seen: Comparison) -> list[str]:
    return seen.rule_refusals("the release change")


def upgrade(
    fleet_file: Path,
    name: str,
    version: str,
    client: Client | None,
    *,
    plugins: dict[str, str] | None = None,
    force: bool = False,
) -> Change:
    """`environments.<name>.release.tutor: VERSION` (and plugin pins of the same release),
    refused with nothing written when the deploy would refuse it (see
    `campus.deploy.upgrade.plan_upgrade`) and not forced."""
    for pinned in (version, *(plugins or {}).values()):
        if not EXACT_VERSION.match(pinned):
            raise PromoteRefused(f"{pinned!r} is not an exact release such as 22.0.3")
    environment = load_fleet(fleet_file).environment(name)
    last = _last_version(client, environment)
    plan = plan_upgrade(name, last, version, plugins=frozenset(environment.plugins), force=force)

    def make_edit(text: str, before: Environment) -> Edit:
        was = before.release.tutor if before.release else None
        what = f"release {was or 'installed Tutor'} -> {version} ({release_name(version)})"
        notes = (plan.describe(),) if plan is not None else ()
        return Edit(set_release(text, before.name, version, plugins), (), what, notes)

    change = apply_change(fleet_file, name, make_edit, _no_checks, client)
    change.summary.append(f"release: {last or 'none recorded'} -> {version}")
    return change


def promote(
    fleet_file: Path,
    source: str,
    target: str,
    settings: Sequence[str],
    client: Client | None,
    *,
    force: bool = False,
) -> Change:
    """SRC's release pins, and the Tutor settings named, onto DST."""
    fleet = load_fleet(fleet_file)
    src, dst = fleet.environment(source), fleet.environment(target)
    if src.release is None or src.release.tutor is None:
        raise PromoteRefused(f"{source} pins no Tutor release (release.tutor): nothing to promote")
    version = src.release.tutor
    if client is not None:
        if last_deploy_unfinished(client, src.namespace):
            raise PromoteRefused(
                f"{source}'s last deploy did not finish: deploy it successfully before "
                f"promoting its release; nothing written"
            )
        revisions = list_revisions(client, src.namespace, src.name)
        ran = revisions[-1].tutor_version if revisions else ""
        if ran != version:
            raise PromoteRefused(
                f"{source} never ran Tutor {version}: its last deploy recorded "
                f"{ran or 'no version'}; deploy {source} first; nothing written"
            )
        ran_plugins = revisions[-1].plugin_versions
        for plugin, pinned in sorted((src.release.plugins or {}).items()):
            if ran_plugins and ran_plugins.get(plugin) != pinned:
                raise PromoteRefused(
                    f"{source} never ran {plugin} {pinned}: its last deploy recorded "
                    f"{ran_plugins.get(plugin) or 'none'}; deploy {source} first; nothing written"
                )
    values = {}
    for key in settings:
        if key not in src.tutor:
            raise PromoteRefused(f"{source} has no Tutor setting {key}")
        value = src.tutor[key]
        if not isinstance(value, bool | int | str):
            raise PromoteRefused(f"{key} is not a single value; copy it by hand")
        values[key] = value
    plan = plan_upgrade(
        target,
        _last_version(client, dst),
        version,
        plugins=frozenset(dst.plugins),
        force=force,
    )

    def make_edit(text: str, before: Environment) -> Edit:
        text = set_release(text, before.name, version, src.release.plugins if src.release else None)
        for key, value in values.items():
            text = set_setting(text, before.name, key, value)
        notes = (plan.describe(),) if plan is not None else ()
        return Edit(text, (), f"{source}'s release {version} on {target}", notes)

    change = apply_change(fleet_file, target, make_edit, _no_checks, client)
    change.summary.append(f"release of {target}: {version} ({release_name(version)}) from {source}")
    change.summary += [f"tutor.{key} from {source}" for key in values]
    return change
