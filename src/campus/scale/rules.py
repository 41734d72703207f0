"""What a scale or autoscale change must not break, and how to say why. Pure.

The rules themselves live in `campus.harden`; here they are asked about the environment
after the change, so that `campus scale` refuses exactly what `campus lint` would reject.
"""

from __future__ import annotations

from campus.fleet.model import Autoscaling, Environment
from campus.harden import RULES, Violation, availability
from campus.harden.availability import autoscaling_for, desired_replicas
from campus.harden.rule import pod_spec, service_of
from campus.kube.objects import KubeObject
from campus.render.model import RenderedEnvironment


def _bare(environment: Environment) -> RenderedEnvironment:
    """The availability rule decides counts from the environment alone."""
    return RenderedEnvironment(environment=environment, objects=[])


def autoscaling(environment: Environment, service: str) -> Autoscaling | None:
    """The HPA range of a service, explicit or by the production default."""
    return autoscaling_for(_bare(environment), service)


def describe(environment: Environment, service: str) -> str:
    """How a service's count is decided, in a few words."""
    scaling = autoscaling(environment, service)
    if scaling:
        return f"autoscaled {scaling.min}-{scaling.max} at {scaling.cpu}% CPU"
    count = desired_replicas(_bare(environment), service)
    default = "" if service in environment.replicas else " (default)"
    return f"{count} replica{'s' if count != 1 else ''}{default}"


def services(objects: list[KubeObject]) -> list[str]:
    """The services an environment runs: its Deployments."""
    return sorted(service_of(o) for o in objects if o["kind"] == "Deployment")


def unknown_service(environment: str, service: str, known: list[str]) -> str | None:
    if service in known:
        return None
    return f"{environment} runs no service {service!r}; its services: {', '.join(known)}"


def autoscaled_refusal(environment: Environment, service: str, count: int) -> str | None:
    """A fixed count for a service an HPA owns would be overwritten by the HPA."""
    scaling = autoscaling(environment, service)
    if scaling is None:
        return None
    origin = (
        f"autoscaling.{service}: min {scaling.min}, max {scaling.max}"
        if service in environment.autoscaling
        else f"by the production default: min {scaling.min}, max {scaling.max}"
    )
    floor = max(count, 2 if environment.production else 1)
    return (
        f"{service} in {environment.name} is autoscaled ({origin}): its "
        f"HorizontalPodAutoscaler owns the replica count. Change its range instead: "
        f"campus autoscale {environment.name} {service} --min {floor} "
        f"--max {max(scaling.max, floor)}"
    )


def _claims(obj: KubeObject) -> list[str]:
    spec = pod_spec(obj) or {}
    return [
        str(volume["persistentVolumeClaim"]["claimName"])
        for volume in spec.get("volumes") or []
        if volume.get("persistentVolumeClaim")
    ]


def data_volume_refusal(objects: list[KubeObject], service: str, count: int) -> str | None:
    """A service on a ReadWriteOnce volume runs one pod: a second one either waits for the
    volume forever (another node) or writes the same files at once (same node)."""
    for obj in objects:
        if obj["kind"] == "Deployment" and service_of(obj) == service and count > 1:
            claims = _claims(obj)
            if claims:
                return (
                    f"{service} keeps its data on the volume {', '.join(claims)} "
                    f"(ReadWriteOnce): a second pod could not mount it on another node, or "
                    f"would write the same files on the same one; {service} runs 1 replica"
                )
    return None


def _violations(environment: Environment, objects: list[KubeObject]) -> set[Violation]:
    rendered = _bare(environment)
    return {v for rule in RULES for v in rule.check(rendered, objects)}


def rule_refusals(
    before: tuple[Environment, list[KubeObject]],
    after: tuple[Environment, list[KubeObject]],
    what: str,
) -> list[str]:
    """Every hardening rule the change would newly break. `what` names the change for the
    message ("1 replica", "a floor of 1")."""
    environment = after[0]
    reasons = []
    for found in sorted(_violations(*after) - _violations(*before), key=str):
        if (found.rule, found.check) == (availability.NAME, availability.WEB_REPLICAS):
            reasons.append(
                f"{found.name} in {environment.name} is a production web service: it needs 2 "
                f"or more replicas, so that its PodDisruptionBudget (maxUnavailable 1) lets a "
                f"node drain without downtime and a lost node leaves a pod serving; {what} "
                f"breaks that rule (availability, see docs/hardening.md)"
            )
        else:
            reasons.append(f"{what} breaks a hardening rule: {found}")
    return reasons
