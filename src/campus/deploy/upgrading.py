"""Carrying out an upgrade plan (`campus.deploy.upgrade`) inside a deploy: data services
moved through their intermediate versions before the backing services take the new
release's images, the release steps as Jobs before the init Jobs, maintenance mode around
them; and what a failure left behind, for the operator."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lightkube import Client
from lightkube.resources.apps_v1 import Deployment
from lightkube.types import PatchType

from campus.deploy import maintenance
from campus.deploy.prepare import owned, versioned_job
from campus.deploy.upgrade import StepKind, UpgradePlan, step_job
from campus.kube.apply import apply_object, delete_object
from campus.kube.errors import ApiFailure, NotFound
from campus.kube.objects import KubeObject, key_of

# Not `campus`: the release's own image comes back with the backing phase's apply.
UPGRADE_MANAGER = "campus-upgrade"

Say = Callable[[str, str], None]
RunJob = Callable[[KubeObject], None]
WaitRollout = Callable[[str, int], None]


@dataclass
class Trail:
    """What an upgrade changed so far: said when it fails, since a previous release that
    keeps serving may now run against data a newer one converted."""

    jobs: list[str] = field(default_factory=list)  # started, in order
    data: list[str] = field(default_factory=list)  # "mongodb: image A -> image B"
    maintenance: str = ""  # "on", "restored", "" (never switched)

    def left_behind(self) -> list[str]:
        lines = ["the applications were not switched: the previous release keeps serving"]
        if self.jobs:
            lines.append("upgrade Jobs left in the namespace: " + ", ".join(self.jobs))
        if self.data:
            lines.append(
                "data services changed (the data may be converted; take care before going "
                "back): " + "; ".join(self.data)
            )
        if self.maintenance == "on":
            lines.append("the public sites still serve the maintenance page")
        elif self.maintenance == "restored":
            lines.append("the public sites were routed back from the maintenance page")
        return lines


class Upgrade:
    """One environment's release change, driven by the engine at two points of its phases."""

    def __init__(
        self,
        client: Client,
        plan: UpgradePlan,
        objects: list[KubeObject],
        init_jobs: list[KubeObject],
        maintenance_page: list[KubeObject],
        environment: str,
        namespace: str,
        say: Say,
    ) -> None:
        self.client, self.plan, self.objects = client, plan, objects
        self.maintenance_page = maintenance_page
        self.init_jobs, self.environment, self.namespace = init_jobs, environment, namespace
        self.say = say
        self.trail = Trail()

    def say_plan(self) -> None:
        self.say("upgrade", self.plan.describe())
        data, tasks = len(self.plan.data_steps), len(self.plan.task_steps)
        self.say(
            "upgrade",
            f"the applications switch after {data} data step(s) (before the backing "
            f"services), {tasks} release step(s) and the init Jobs",
        )
        for reason in self.plan.overridden:
            self.say("upgrade", f"forced: {reason}")

    def start_maintenance(self, wait_rollout: WaitRollout) -> None:
        routes = maintenance.routes(self.objects)
        if not routes:
            self.say("maintenance", "no Ingress or HTTPRoute to switch (caddy mode): skipped")
            return
        self.say("maintenance", "starting the maintenance page")
        generation = 1
        for obj in self.maintenance_page:
            applied = apply_object(self.client, owned(obj, self.environment, self.namespace))
            if obj["kind"] == "Deployment":
                generation = applied.result["metadata"].get("generation", 1)
        wait_rollout(maintenance.MAINTENANCE, generation)
        for route in routes:
            self.say("maintenance", f"routing {key_of(route)} to the maintenance page")
            apply_object(self.client, maintenance.switched(route))
        self.trail.maintenance = "on"

    def end_maintenance(self) -> None:
        """Routes back to the environment's own Service, then the page goes."""
        if self.trail.maintenance != "on":
            return
        for route in maintenance.routes(self.objects):
            self.say("maintenance", f"routing {key_of(route)} back")
            apply_object(self.client, route)
        self.trail.maintenance = "restored"
        for obj in self.maintenance_page:
            delete_object(self.client, key_of(owned(obj, self.environment, self.namespace)))

    def data_steps(self, wait_rollout: WaitRollout, run_job: RunJob) -> None:
        """Each data service through its intermediate versions, in order; each Ready, and
        its command (a feature compatibility version) done, before the next. A service
        already at one of them (an upgrade that failed after converting it, deployed again)
        resumes there: its data files cannot go back to an earlier version."""
        reached = self._reached()
        for index, planned in enumerate(self.plan.steps, start=1):
            step = planned.step
            if step.kind is not StepKind.DATA or index < reached.get(step.service, 0):
                continue
            self.say("upgrade", f"leaving {planned.release}: {step.what}")
            if index != reached.get(step.service) and not self._roll(
                step.service, step.image, wait_rollout
            ):
                continue
            job = step_job(planned, index, self.init_jobs)
            if job is not None:
                self._run(job, run_job)

    def _reached(self) -> dict[str, int]:
        """Service -> the index of the plan's step whose image it runs now; past the last
        when it already runs the new release's own image (a failed attempt got beyond the
        backing services)."""
        found: dict[str, int] = {}
        rendered = {
            obj["metadata"]["name"]: obj["spec"]["template"]["spec"]["containers"][0]["image"]
            for obj in self.objects
            if obj["kind"] == "Deployment"
        }
        for index, planned in enumerate(self.plan.steps, start=1):
            step = planned.step
            if step.kind is not StepKind.DATA:
                continue
            live = self._image(step.service)
            if live == step.image:
                found[step.service] = index
            elif live and live == rendered.get(step.service):
                found[step.service] = len(self.plan.steps) + 1
        return found

    def _image(self, service: str) -> str:
        try:
            live = self.client.get(Deployment, service, namespace=self.namespace)
        except NotFound:
            return ""
        except ApiFailure as error:
            raise error.saying(f"cannot read {service}: {error.reason}") from None
        spec = live.spec.template.spec if live.spec else None
        return (spec.containers[0].image or "") if spec else ""

    def task_steps(self, run_job: RunJob) -> None:
        for index, planned in enumerate(self.plan.steps, start=1):
            if planned.step.kind is not StepKind.TASK:
                continue
            self.say("upgrade", f"leaving {planned.release}: {planned.step.what}")
            job = step_job(planned, index, self.init_jobs)
            if job is not None:
                self._run(job, run_job)

    def _run(self, job: KubeObject, run_job: RunJob) -> None:
        prepared = versioned_job(owned(job, self.environment, self.namespace))
        self.trail.jobs.append(prepared["metadata"]["name"])
        run_job(prepared)

    def _roll(self, service: str, image: str, wait_rollout: WaitRollout) -> bool:
        """False when the service does not run in the namespace (an external database:
        converting it is its operator's business, as Tutor says)."""
        try:
            live = self.client.get(Deployment, service, namespace=self.namespace)
        except NotFound:
            self.say("upgrade", f"{service} is not running here: nothing to convert")
            return False
        except ApiFailure as error:
            raise error.saying(f"cannot read {service}: {error.reason}") from None
        assert live.spec is not None and live.spec.template.spec is not None
        before = live.spec.template.spec.containers[0].image or ""
        patched = self.client.patch(
            Deployment,
            service,
            [{"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": image}],
            namespace=self.namespace,
            patch_type=PatchType.JSON,
            field_manager=UPGRADE_MANAGER,
        )
        self.trail.data.append(f"{service}: {before} -> {image}")
        generation = (patched.metadata.generation if patched.metadata else None) or 1
        wait_rollout(service, generation)
        return True
