"""Which optional kinds the cluster serves, asked once of its discovery documents."""

from __future__ import annotations

from lightkube import Client

from campus.kube.client import KubeClient
from campus.kube.connect import fresh_client
from campus.kube.errors import ApiFailure, NotFound


def serves(client: Client, api_version: str, plural: str) -> bool:
    """Whether the API server serves `plural` (say `prometheusrules`) at `api_version`
    (GROUP/VERSION): one GET of the group version's discovery document, which every
    authenticated user may read, so even an identity confined to its namespaces can ask.
    A group version the server does not know is not served; any other failure is raised
    (guessing "not served" would prune what a deploy applied before)."""
    asking = client if isinstance(client, KubeClient) else fresh_client(client)
    try:
        document = asking.discovery(api_version)
    except NotFound:
        return False
    except ApiFailure as error:
        raise error.saying(
            f"cannot ask the API server whether it serves {plural} ({api_version}): {error.reason}"
        ) from None
    return any(resource.get("name") == plural for resource in document.get("resources") or [])
