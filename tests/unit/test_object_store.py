"""The sandbox's backup store objects (`campus.sandbox.object_store`): pure."""

from __future__ import annotations

from pathlib import Path

from campus.sandbox import ingress_controller, object_store
from campus.sandbox.node_config import REAL_NODE

STORAGE = Path("/state/nodes/real-a/object-store")


def _by_kind(kind: str) -> list[dict]:  # type: ignore[type-arg]
    return [o for o in object_store.objects("10.96.0.0/16", STORAGE) if o["kind"] == kind]


def test_its_address_is_fixed_and_not_the_ingress_controllers() -> None:
    assert object_store.address("10.96.0.0/16") == "10.96.0.13"
    assert object_store.address("10.96.0.0/16") != ingress_controller.address("10.96.0.0/16")
    [service] = _by_kind("Service")
    assert service["spec"]["clusterIP"] == "10.96.0.13"
    assert service["spec"]["ports"][0]["port"] == object_store.PORT
    assert object_store.repository() == "s3:http://s3.campus-backups.svc:7070/campus"


def test_it_runs_hardened_on_a_real_node_keeping_objects_on_the_node() -> None:
    [deployment] = _by_kind("Deployment")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    pod = deployment["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {REAL_NODE: "true"}
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] != 0
    [container] = pod["containers"]
    context = container["securityContext"]
    assert context["readOnlyRootFilesystem"] and not context["allowPrivilegeEscalation"]
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert container["imagePullPolicy"] == "Never"
    assert container["readinessProbe"]["httpGet"]["path"] == object_store.HEALTH
    assert "--health=/health" in container["args"]
    [volume] = pod["volumes"]
    assert volume["hostPath"]["path"] == str(STORAGE)
    # The gateway's root account is the Secret's S3 key pair, read from the Secret.
    names = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]}
    assert names["ROOT_ACCESS_KEY_ID"] == {"name": "store", "key": "AWS_ACCESS_KEY_ID"}
    assert names["ROOT_SECRET_ACCESS_KEY"]["key"] == "AWS_SECRET_ACCESS_KEY"


def test_the_secret_holds_keys_and_encryption_key_each_random() -> None:
    first, second = object_store.secret_data(), object_store.secret_data()
    assert set(first) == set(object_store.SECRET_KEYS)
    assert all(first[key] != second[key] for key in first)
    assert all(len(value) >= 12 for value in first.values())
    secret = object_store.secret(first)
    assert secret["metadata"] == {
        "name": "store",
        "namespace": "campus-backups",
        "labels": {"app.kubernetes.io/managed-by": "campus-sandbox"},
    }
    # Nothing secret in the Deployment itself.
    [deployment] = _by_kind("Deployment")
    assert not any(value in str(deployment) for value in first.values())


def test_the_namespace_comes_first() -> None:
    kinds = [o["kind"] for o in object_store.objects("10.96.0.0/16", STORAGE)]
    assert kinds == ["Namespace", "Deployment", "Service"]
