"""Upgrades between Open edX releases: the named releases a move between two Tutor versions
crosses, the steps each needs, and the Jobs that carry them out. Pure.

What campus knows here it learned by reading Tutor (22.0.3), the release that defines them:

- the releases, in order, are `tutor.commands.upgrade.OPENEDX_RELEASE_NAMES`; each Tutor major
  version is one release (Tutor 3 was ironwood, 10 juniper, one more per release since:
  20 teak, 21 ulmo, 22 verawood);
- `tutor k8s upgrade --from=RELEASE` (`tutor/commands/upgrade/k8s.py`, `upgrade_from`)
  walks from RELEASE to the next until it reaches its own, doing what leaving each one
  needs: moving MongoDB or MySQL through intermediate versions, running a management
  command in the LMS or CMS image (`common.py`), or telling the operator what to do by
  hand; `tutor k8s launch` then runs the init tasks (migrations), which campus's init
  phase runs anyway;
- Tutor exposes those steps only as code, so they are a typed table here (`LEAVING`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import Enum

from campus.errors import CampusError
from campus.kube.objects import KubeObject
from campus.labels import NAME


class StepKind(Enum):
    # A shell command in a service's image, as Tutor's job runner runs it (`run_task`, or
    # `kubectl exec` for the few Tutor runs in the live container).
    TASK = "task"
    # A data service rolled to an intermediate version (its data files are converted when
    # it starts), then, if given, a command against it from that version's image.
    DATA = "data"
    # What Tutor itself leaves to the operator on Kubernetes; campus cannot do it either.
    MANUAL = "manual"


@dataclass(frozen=True)
class Step:
    kind: StepKind
    service: str  # lms, cms, mongodb, mysql
    what: str  # one line for progress and errors
    command: str = ""
    image: str = ""  # DATA: the intermediate image the service runs
    plugin: str = ""  # only when this Tutor plugin is enabled


@dataclass(frozen=True)
class ReleaseInfo:
    name: str
    major: int  # Tutor's major version for this release
    leaving: tuple[Step, ...] = ()  # what moving to the next release needs

    @property
    def one_at_a_time(self) -> bool:
        """Data files converted by intermediate versions of a data service: the release
        after this one must be deployed (and checked) before going further."""
        return any(step.kind is StepKind.DATA for step in self.leaving)


def _mongodb(image_version: str, compatibility: str) -> Step:
    """MongoDB moved one major version: run that version, then raise the feature
    compatibility version (`get_mongo_upgrade_parameters`: 7.0 asks for `confirm: 1`)."""
    major = int(image_version.split(".")[0])
    confirm = ", confirm: 1" if major >= 7 else ""
    shell = "mongosh" if major >= 6 else "mongo"
    command = (
        f"{shell} --host mongodb --eval "
        f"'db.adminCommand({{setFeatureCompatibilityVersion: \"{compatibility}\"{confirm}}})'"
    )
    return Step(
        StepKind.DATA,
        "mongodb",
        f"MongoDB to {image_version} (compatibility {compatibility})",
        command,
        image=f"docker.io/mongo:{image_version}",
    )


def _manage(service: str, arguments: str, plugin: str = "") -> Step:
    command = f"./manage.py {service} {arguments}"
    return Step(StepKind.TASK, service, command, command, plugin=plugin)


# The Palm move of the ORA2 upload folder (Tutor's PALM_RENAME_ORA2_FOLDER_COMMAND, in words).
_ORA2 = (
    "if stat '/openedx/data/ora2/SET-ME-PLEASE (ex. bucket-name)' 2> /dev/null; then "
    "mv '/openedx/data/ora2/SET-ME-PLEASE (ex. bucket-name)' /openedx/data/ora2/openedxuploads; fi"
)
_FORUM_FLAG = (
    "(./manage.py lms waffle_flag --list | grep forum_v2.enable_mysql_backend) || "
    "./manage.py lms waffle_flag --create --deactivate forum_v2.enable_mysql_backend"
)

RELEASES: tuple[ReleaseInfo, ...] = (
    ReleaseInfo("ironwood", 3, (_mongodb("3.4.24", "3.4"), _mongodb("3.6.18", "3.6"))),
    ReleaseInfo(
        "juniper",
        10,
        (Step(StepKind.MANUAL, "mysql", "run mysql_upgrade in the mysql container (5.6 to 5.7)"),),
    ),
    ReleaseInfo("koa", 11, (_mongodb("4.0.25", "4.0"),)),
    ReleaseInfo(
        "lilac",
        12,
        (
            Step(
                StepKind.MANUAL,
                "lms",
                "enable the forum and mfe plugins, and delete every Deployment and Service",
            ),
        ),
    ),
    ReleaseInfo(
        "maple",
        13,
        (
            _manage("lms", "migrate user_tours"),
            _manage("lms", "backpopulate_user_tours"),
            _manage("cms", "migrate contentstore"),
            _manage("cms", "migrate split_modulestore_django"),
            _manage("cms", "backfill_course_tabs"),
            _manage("cms", "migrate course_overviews"),
            _manage("cms", "simulate_publish"),
        ),
    ),
    ReleaseInfo("nutmeg", 14, (_manage("lms", "compute_grades -v1 --all_courses"),)),
    ReleaseInfo(
        "olive",
        15,
        (
            Step(StepKind.TASK, "lms", "move the ORA2 upload folder", _ORA2),
            _mongodb("4.2.17", "4.2"),
            _mongodb("4.4.22", "4.4"),
            # MySQL 5.7 reaches 8.4 through 8.1, which rebuilds the data dictionary on start.
            Step(StepKind.DATA, "mysql", "MySQL to 8.1.0", image="docker.io/mysql:8.1.0"),
        ),
    ),
    ReleaseInfo("palm", 16),
    ReleaseInfo(
        "quince",
        17,
        (_mongodb("5.0.26", "5.0"), _mongodb("6.0.14", "6.0"), _mongodb("7.0.28", "7.0")),
    ),
    ReleaseInfo(
        "redwood",
        18,
        (
            _manage(
                "lms", "waffle_flag --create --everyone courseware.enable_navigation_sidebar", "mfe"
            ),
            Step(StepKind.TASK, "lms", "keep forum data in MongoDB", _FORUM_FLAG, plugin="forum"),
        ),
    ),
    ReleaseInfo("sumac", 19),
    ReleaseInfo("teak", 20),
    ReleaseInfo("ulmo", 21),
    ReleaseInfo("verawood", 22),
)
_BY_MAJOR = {release.major: release for release in RELEASES}


def release_name(tutor_version: str) -> str:
    """The Open edX release a Tutor version renders ("21.0.9" -> "ulmo"), or "" if unknown."""
    known = _BY_MAJOR.get(_parts(tutor_version)[0]) if tutor_version else None
    return known.name if known else ""


def _parts(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:3] if part.isdigit())


def _named(version: str) -> str:
    name = release_name(version)
    return f"{version} ({name})" if name else version


class UpgradeRefused(CampusError):
    """A release change campus will not make without --force; nothing was written or applied."""

    def __init__(self, environment: str, reasons: list[str]) -> None:
        self.reasons = reasons
        lines = "\n".join(f"  {reason}" for reason in reasons)
        super().__init__(
            f"{environment}: release change refused, nothing changed:\n{lines}\n"
            "  (--force makes it anyway)"
        )


@dataclass(frozen=True)
class PlannedStep:
    release: str  # the release being left
    step: Step


@dataclass(frozen=True)
class UpgradePlan:
    """A move from the Tutor version of the last deploy to the one rendered now."""

    environment: str
    from_version: str
    to_version: str
    crossed: tuple[str, ...]  # the releases left, in order
    steps: tuple[PlannedStep, ...]
    overridden: tuple[str, ...] = ()  # refusals --force overrode
    downgrade: bool = False

    @property
    def data_steps(self) -> tuple[PlannedStep, ...]:
        return tuple(p for p in self.steps if p.step.kind is StepKind.DATA)

    @property
    def task_steps(self) -> tuple[PlannedStep, ...]:
        return tuple(p for p in self.steps if p.step.kind is StepKind.TASK)

    def describe(self) -> str:
        path = " -> ".join([*self.crossed, release_name(self.to_version)] if self.crossed else [])
        kind = "downgrade" if self.downgrade else "upgrade"
        return (
            f"{kind} {_named(self.from_version)} -> {_named(self.to_version)}"
            + (f" through {path}" if path else "")
            + f": {len(self.steps)} step(s)"
        )


def plan_upgrade(
    environment: str,
    previous: str,
    current: str,
    *,
    plugins: frozenset[str] = frozenset(),
    force: bool = False,
) -> UpgradePlan | None:
    """The steps from `previous` (the Tutor version the last revision recorded; "" when
    none was) to `current`; None when the version did not change or nothing was recorded.
    Refuses, unless `force`: a downgrade, a release campus knows no steps for, skipping
    past a release whose data must be converted one release at a time, a step Tutor leaves
    to the operator. Forced, a downgrade runs no steps (none exist backwards)."""
    if not previous or not current or _parts(previous) == _parts(current):
        return None
    old, new = _parts(previous), _parts(current)
    reasons: list[str] = []
    if new < old:
        reasons.append(
            f"{_named(current)} is older than {_named(previous)}, which {environment} last "
            "deployed: Open edX migrates its databases forward only; restore the backup taken "
            "before the upgrade instead"
        )
        return _decided(
            UpgradePlan(environment, previous, current, (), (), downgrade=True), reasons, force
        )
    crossed: list[ReleaseInfo] = []
    if old[0] != new[0]:
        if old[0] not in _BY_MAJOR or new[0] not in _BY_MAJOR:
            unknown = previous if old[0] not in _BY_MAJOR else current
            reasons.append(
                f"campus knows no Open edX release for Tutor {unknown}, so no upgrade steps"
            )
        else:
            crossed = [r for r in RELEASES if old[0] <= r.major < new[0]]
    for release in crossed[:-1]:
        if release.one_at_a_time:
            after = RELEASES[RELEASES.index(release) + 1]
            reasons.append(
                f"leaving {release.name} converts data one version at a time "
                f"({'; '.join(s.what for s in release.leaving if s.kind is StepKind.DATA)}): "
                f"upgrade to Tutor {after.major}.x.x ({after.name}) first, check it, then go on"
            )
    steps = [
        PlannedStep(release.name, step)
        for release in crossed
        for step in release.leaving
        if not step.plugin or step.plugin in plugins
    ]
    for planned in steps:
        if planned.step.kind is StepKind.MANUAL:
            reasons.append(
                f"leaving {planned.release} needs a step Tutor leaves to the operator on "
                f"Kubernetes: {planned.step.what}"
            )
    runnable = tuple(p for p in steps if p.step.kind is not StepKind.MANUAL)
    plan = UpgradePlan(environment, previous, current, tuple(r.name for r in crossed), runnable)
    return _decided(plan, reasons, force)


def _decided(plan: UpgradePlan, reasons: list[str], force: bool) -> UpgradePlan:
    if reasons and not force:
        raise UpgradeRefused(plan.environment, reasons)
    return UpgradePlan(
        plan.environment,
        plan.from_version,
        plan.to_version,
        plan.crossed,
        plan.steps,
        tuple(reasons),
        plan.downgrade,
    )


def step_job(planned: PlannedStep, index: int, init_jobs: list[KubeObject]) -> KubeObject | None:
    """The Job that runs one step, built as Tutor's runner builds a task's Job: from the
    service's Job template (here the hardened init Job of that service, which has its
    settings, volumes and security context), its script run by `sh -e -c`. A DATA step
    runs its command from the intermediate image, against the service. None: nothing to
    run (a DATA step that only rolls its service)."""
    step = planned.step
    if not step.command:
        return None
    base = _template(step.service, init_jobs)
    job = copy.deepcopy(base)
    name = f"upgrade-{planned.release}-{index}-{step.service}"
    metadata = job["metadata"]
    metadata["name"] = name
    metadata.setdefault("labels", {})[NAME] = name
    for key in ("resourceVersion", "uid", "creationTimestamp"):
        metadata.pop(key, None)
    job.pop("status", None)
    container = job["spec"]["template"]["spec"]["containers"][0]
    container["command"] = ["sh", "-e", "-c"]
    container["args"] = [step.command]
    if step.image:
        container["image"] = step.image
    job["spec"]["backoffLimit"] = 0  # a failed data or task step is for a person to look at
    return job


def _template(service: str, init_jobs: list[KubeObject]) -> KubeObject:
    """The first init Job of `service` (Tutor names them `<service>-init-N`), else of the
    LMS (a data step's command only needs the namespace's network and a shell)."""
    for prefix in (f"{service}-init-", "lms-init-", ""):
        for job in init_jobs:
            if job["metadata"]["name"].startswith(prefix):
                return job
    raise CampusError(f"no init Job to build the {service} upgrade step from")
