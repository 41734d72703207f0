"""The one path from a fleet file to hardened objects: load -> select -> render (Tutor) ->
harden, and from there deploy requests. Every command that needs an environment's objects
(render, lint, deploy, diff, plan, scale) goes through `build`."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lightkube import Client

from campus.deploy.model import DeployRequest
from campus.fleet.model import Environment, Fleet
from campus.kube.objects import KubeObject
from campus.render.model import RenderedEnvironment


def load(fleet_file: Path) -> Fleet:
    """The fleet, with each `resources` entry checked against its size's profile."""
    from campus.fleet.checks import limits_below_requests
    from campus.fleet.load import load_fleet, locate
    from campus.harden.sizing import resources_for

    fleet = load_fleet(fleet_file)
    problems = limits_below_requests(fleet, resources_for)
    if problems:
        raise locate(Path(fleet.source), problems)
    return fleet


def connect_fleet(fleet_file: Path, kubeconfig: str | None) -> tuple[Fleet, Client]:
    from campus.kube.connect import connect

    fleet = load(fleet_file)
    return fleet, connect(fleet.cluster, kubeconfig)


def fleet_hash(fleet: Fleet) -> str:
    """What a revision records of the fleet file it came from: a digest of its bytes."""
    return hashlib.sha256(Path(fleet.source).read_bytes()).hexdigest()


@dataclass(frozen=True)
class Built:
    """One environment rendered by Tutor and hardened by campus."""

    rendered: RenderedEnvironment
    objects: list[KubeObject]
    init_jobs: list[KubeObject]

    @property
    def environment(self) -> Environment:
        return self.rendered.environment

    def request(self, fleet_digest: str) -> DeployRequest:
        return DeployRequest(
            environment=self.environment.name,
            namespace=self.environment.namespace,
            objects=self.objects,
            init_jobs=self.init_jobs,
            tutor_version=self.rendered.tutor_version,
            fleet_hash=fleet_digest,
        )


def build(
    fleet: Fleet, names: Sequence[str] = (), jobs: int | None = None, check_services: bool = True
) -> list[Built]:
    """Render and harden the named environments (all when none are named), in fleet order.
    The services named under replicas, autoscaling and resources must be Deployments Tutor
    rendered (`check_services`: a caller that refuses unknown names itself may skip it)."""
    from campus.fleet.checks import unknown_services
    from campus.fleet.load import locate
    from campus.harden import harden_all
    from campus.render import render_fleet

    selected = fleet.select(names)
    rendered = render_fleet(fleet, [e.name for e in selected], jobs=jobs)
    running = {
        r.environment.name: {o["metadata"]["name"] for o in r.objects if o["kind"] == "Deployment"}
        for r in rendered
    }
    problems = unknown_services(fleet, running) if check_services else []
    if problems:
        raise locate(Path(fleet.source), problems)
    return [Built(r, *harden_all(r)) for r in rendered]


def deploy_requests(fleet: Fleet, names: Sequence[str] = ()) -> list[DeployRequest]:
    """What `deploy` applies for the named environments (all when none are named)."""
    digest = fleet_hash(fleet)
    return [built.request(digest) for built in build(fleet, names)]
