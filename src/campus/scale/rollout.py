"""Taking a scale change to the cluster: the connection it checks capacity on, and the
deploy that follows the edit."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from lightkube import Client

from campus.deploy.model import DeployOptions, DeployResult, Progress
from campus.errors import ClusterError
from campus.scale.change import Change


def change_client(
    fleet_file: Path, kubeconfig: str | None, no_deploy: bool, note: Callable[[str], None]
) -> Client | None:
    """The fleet's cluster; with --no-deploy one out of reach only skips the capacity check."""
    from campus.pipeline import connect_fleet

    try:
        return connect_fleet(fleet_file, kubeconfig)[1]
    except ClusterError as error:
        if not no_deploy:
            raise
        note(f"capacity not checked: {error}")
        return None


def deploy_change(
    change: Change,
    client: Client,
    options: DeployOptions,
    progress: Progress,
    note: Callable[[str], None],
) -> list[DeployResult]:
    """Deploy the changed environment; a Deployment given to a new autoscaler keeps its
    running count while the autoscaler takes over (instead of dropping to one)."""
    from campus.deploy.engine import deploy_fleet
    from campus.scale.cluster import hand_replicas_to_autoscaler

    request = change.request
    for deployment in change.autoscaled_now:
        kept = hand_replicas_to_autoscaler(client, request.namespace, deployment)
        if kept is not None:
            note(f"{deployment}: {kept} replicas kept while its autoscaler takes over")
    return deploy_fleet(client, [request], options, progress)
