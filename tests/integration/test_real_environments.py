"""Environments placed on the sandbox's real nodes (`cluster.real_nodes`): deployed
hardened, they run as processes, answer through their routes and probes (`campus
check`), run their init Jobs against a real database, and their NetworkPolicies keep
the other environment out while their own pods get in."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from lightkube import KubeConfig
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Pod, Secret

from campus.cli.main import cli
from campus.deploy.upgrading import Upgrade
from campus.kube.client import KubeClient
from campus.pipeline import deploy_requests, load
from campus.sandbox import cluster, ingress_controller
from campus.sandbox.build import ensure_binaries

pytestmark = pytest.mark.integration

FLEET = """\
cluster:
  sandbox: {sandbox}
  real_nodes: [real-a, real-b]
defaults:
  plugins: []
  size: small
  ingress: {{mode: ingress, class: traefik, controller_namespace: traefik}}
environments:
  real-a:
    hosts: {{lms: learn.a.example.org, cms: studio.a.example.org}}
  real-b:
    hosts: {{lms: learn.b.example.org}}
"""
CONNECT = (
    "import socket, sys\n"
    "try:\n"
    "    socket.create_connection((sys.argv[1], int(sys.argv[2])), 3).close()\n"
    "except OSError:\n"
    "    sys.exit(3)\n"
)


@pytest.fixture(scope="module")
def fleet(real_sandbox: cluster.SandboxInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("real") / "fleet.yml"
    path.write_text(FLEET.format(sandbox=real_sandbox.name))
    result = CliRunner().invoke(cli, ["deploy", "-f", str(path), "--timeout", "300"])
    assert result.exit_code == 0, result.output
    return path


def client_of(info: cluster.SandboxInfo) -> KubeClient:
    return KubeClient(KubeConfig.from_file(info.kubeconfig), field_manager="campus-test")


def test_every_pod_of_a_placed_environment_runs_on_the_real_node(
    fleet: Path, real_sandbox: cluster.SandboxInfo
) -> None:
    pods = list(client_of(real_sandbox).list(Pod, namespace="real-a"))
    assert pods
    assert {p.spec.nodeName for p in pods if p.spec} == {"real-0"}
    running = [p for p in pods if p.status and p.status.phase == "Running"]
    for pod in running:
        assert pod.status and all(s.ready for s in pod.status.containerStatuses or [])


def test_the_mysql_init_job_ran_its_real_command_against_mariadb(
    fleet: Path, real_sandbox: cluster.SandboxInfo
) -> None:
    client = client_of(real_sandbox)
    jobs = [
        j
        for j in client.list(Job, namespace="real-a")
        if j.metadata and "mysql" in (j.metadata.name or "")
    ]
    assert jobs and all(j.status and j.status.succeeded == 1 for j in jobs)
    kubectl = str(ensure_binaries().path("kubectl"))
    name = jobs[0].metadata.name if jobs[0].metadata else ""
    logs = subprocess.run(
        [kubectl, f"--kubeconfig={real_sandbox.kubeconfig}", "-n", "real-a", "logs", f"job/{name}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "MySQL is up and running" in logs


def test_check_answers_every_route_and_probe_and_says_what_stands_in(
    fleet: Path, real_sandbox: cluster.SandboxInfo
) -> None:
    # Right after a deploy the policy engine may not have synced the new pods yet (its
    # sync runs after theirs; kube-router takes ~0.3 s, more in a burst): Caddy's first
    # request to lms can be refused for a moment, as on any cluster with such an engine.
    args = ["check", "real-a", "-f", str(fleet), "-o", "json", "--wait", "60"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    answers = json.loads(result.stdout)
    routes = {a["name"] for a in answers if a["kind"] == "route"}
    assert {"learn.a.example.org/", "studio.a.example.org/"} <= routes
    assert any(a["kind"] == "probe" for a in answers)
    assert all(a["ok"] for a in answers)
    # lms answers through the ingress controller (Traefik, on the real node) and the real
    # Caddy, as the stand-in it is.
    lms = next(a for a in answers if a["name"] == "learn.a.example.org/")
    assert lms["standin"] and lms["status"] == 200
    entry = ingress_controller.address(real_sandbox.service_range)
    assert lms["url"] == f"http://{entry}/"


def test_check_fails_when_a_route_does_not_answer(
    fleet: Path, real_sandbox: cluster.SandboxInfo
) -> None:
    client = client_of(real_sandbox)
    client.patch(Deployment, "caddy", {"spec": {"replicas": 0}}, namespace="real-b")
    try:
        deadline = time.monotonic() + 90
        while list(
            client.list(Pod, namespace="real-b", labels={"app.kubernetes.io/name": "caddy"})
        ):
            assert time.monotonic() < deadline
            time.sleep(1)
        result = CliRunner().invoke(cli, ["check", "real-b", "-f", str(fleet), "-o", "json"])
        assert result.exit_code == 1, result.output
        routes = [a for a in json.loads(result.stdout) if a["kind"] == "route"]
        assert routes and not any(a["ok"] for a in routes)
    finally:
        redeployed = CliRunner().invoke(cli, ["deploy", "-f", str(fleet), "real-b"])
        assert redeployed.exit_code == 0, redeployed.output


def _lms_succeeds(info: cluster.SandboxInfo, namespace: str, script: str, *args: str) -> bool:
    """Whether `script` (exit 0, or 3 for no) succeeds in the environment's lms pod."""
    kubectl = str(ensure_binaries().path("kubectl"))
    result = subprocess.run(
        [
            kubectl, f"--kubeconfig={info.kubeconfig}", "-n", namespace, "exec", "deploy/lms",
            "--", "python3", "-c", script, *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode in (0, 3), result.stderr
    return result.returncode == 0


def _connects(info: cluster.SandboxInfo, namespace: str, host: str, port: int) -> bool:
    return _lms_succeeds(info, namespace, CONNECT, host, str(port))


def test_network_policies_keep_the_other_environment_out_of_mysql(
    fleet: Path, real_sandbox: cluster.SandboxInfo
) -> None:
    # By name, through the cluster DNS and the Service: as Open edX reaches its database.
    assert _connects(real_sandbox, "real-a", "mysql", 3306)
    assert not _connects(real_sandbox, "real-b", "mysql.real-a", 3306)
    assert _connects(real_sandbox, "real-b", "mysql", 3306)


RESOLVES = (
    "import socket, sys\n"
    "try:\n"
    "    socket.getaddrinfo(sys.argv[1], 80)\n"
    "except OSError:\n"
    "    sys.exit(3)\n"
)


def _resolves(info: cluster.SandboxInfo, namespace: str, name: str) -> bool:
    return _lms_succeeds(info, namespace, RESOLVES, name)


def _machine_connects(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), 3).close()
    except OSError:
        return False
    return True


def test_egress_lets_out_only_dns_and_the_environment_itself(
    fleet: Path, real_sandbox: cluster.SandboxInfo
) -> None:
    client = client_of(real_sandbox)
    # The cluster DNS runs on the machine, not as a pod: its own policy lets lookups out.
    assert _resolves(real_sandbox, "real-a", "mysql")
    assert _resolves(real_sandbox, "real-a", "kubernetes.default")
    assert _connects(real_sandbox, "real-a", "mysql", 3306)
    # A namespace with no policy of its own: Traefik's ping port answers the machine, but
    # not real-a's lms, whose egress allows the ingress controller only on 80 and 443.
    [traefik] = client.list(Pod, namespace=ingress_controller.NAMESPACE)
    assert traefik.status and traefik.status.podIP
    address = traefik.status.podIP
    assert _machine_connects(address, ingress_controller.PING_PORT)
    assert not _connects(real_sandbox, "real-a", address, ingress_controller.PING_PORT)
    # No token, no route: the API server is closed to a pod that does not need it.
    assert not _connects(real_sandbox, "real-a", "kubernetes.default", 443)


def _mariadb_accepts(info: cluster.SandboxInfo, password: str) -> bool:
    """A root login on real-a's MariaDB, the password given on stdin (never in argv)."""
    kubectl = str(ensure_binaries().path("kubectl"))
    script = 'read -r p; MYSQL_PWD="$p" mariadb -uroot -h127.0.0.1 -e "select 1" >/dev/null'
    result = subprocess.run(
        [kubectl, f"--kubeconfig={info.kubeconfig}", "-n", "real-a", "exec", "-i", "deploy/mysql",
         "--", "sh", "-c", script],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    return result.returncode == 0


def _job_secret_value(client: KubeClient, job: Job, variable: str) -> str:
    assert job.spec and job.spec.template.spec
    [container] = job.spec.template.spec.containers
    [ref] = [
        e.valueFrom.secretKeyRef for e in container.env or [] if e.name == variable and e.valueFrom
    ]
    assert ref is not None
    secret = client.get(Secret, ref.name or "", namespace="real-a")
    return base64.b64decode((secret.data or {})[ref.key]).decode()


def test_rotating_the_root_password_changes_it_on_the_real_database(
    fleet: Path, real_sandbox: cluster.SandboxInfo
) -> None:
    result = CliRunner().invoke(
        cli, ["secrets", "rotate", "real-a", "MYSQL_ROOT_PASSWORD", "-f", str(fleet)]
    )
    assert result.exit_code == 0, result.output
    client = client_of(real_sandbox)
    [job] = [
        j
        for j in client.list(Job, namespace="real-a")
        if j.metadata and (j.metadata.name or "").startswith("mysql-rotate-root")
    ]
    assert job.status and job.status.succeeded == 1
    old = _job_secret_value(client, job, "CAMPUS_OLD_PASSWORD")
    new = _job_secret_value(client, job, "CAMPUS_NEW_PASSWORD")
    assert old != new
    assert _mariadb_accepts(real_sandbox, new)
    assert not _mariadb_accepts(real_sandbox, old)


def _server_processes(pod: Pod, command: str) -> list[int]:
    """The machine's pids of `command` in the pod's containers (their cgroup names it)."""
    assert pod.metadata and pod.metadata.uid
    uid = pod.metadata.uid
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            in_pod = (
                uid in (proc / "cgroup").read_text()
                or uid.replace("-", "_") in (proc / "cgroup").read_text()
            )
            argv = (proc / "cmdline").read_bytes().split(b"\0")[0].decode()
        except OSError:
            continue
        # Redis rewrites its title ("redis-server *:6379"): the first word is the program.
        if in_pod and argv and Path(argv.split(" ")[0]).name == command:
            found.append(int(proc.name))
    return found


def test_a_killed_server_is_restarted_and_serves_again(
    fleet: Path, real_sandbox: cluster.SandboxInfo
) -> None:
    client = client_of(real_sandbox)
    [pod] = client.list(Pod, namespace="real-a", labels={"app.kubernetes.io/name": "redis"})
    assert pod.metadata and pod.metadata.name and pod.status
    name = pod.metadata.name
    [before] = pod.status.containerStatuses or []
    [pid] = _server_processes(pod, "redis-server")
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 120
    while True:
        pod = client.get(Pod, name, namespace="real-a")
        assert pod.status
        [after] = pod.status.containerStatuses or []
        if after.restartCount > before.restartCount and after.ready:
            break
        assert time.monotonic() < deadline, f"redis not restarted and Ready: {after}"
        time.sleep(1)
    # The same pod, a new process, serving again.
    assert _server_processes(pod, "redis-server") not in ([], [pid])
    kubectl = str(ensure_binaries().path("kubectl"))
    answer = subprocess.run(
        [
            kubectl, f"--kubeconfig={real_sandbox.kubeconfig}", "-n", "real-a", "exec",
            name, "--", "redis-cli", "ping",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert answer.stdout.strip() == "PONG", answer.stderr


def _wait_ready(client: KubeClient, name: str, generation: int) -> None:
    deadline = time.monotonic() + 120
    while True:
        deployment = client.get(Deployment, name, namespace="real-a")
        status = deployment.status
        if status and (status.observedGeneration or 0) >= generation and status.readyReplicas:
            return
        assert time.monotonic() < deadline, f"{name} not Ready: {status}"
        time.sleep(0.5)


def test_the_maintenance_page_is_served_through_the_ingress_and_renders_in_a_browser(
    fleet: Path, real_sandbox: cluster.SandboxInfo, tmp_path: Path
) -> None:
    """What `promote --maintenance` and `upgrade --maintenance` put up while the upgrade
    Jobs run, with their own code (`Upgrade.start_maintenance`), on the real node."""
    client = client_of(real_sandbox)
    [request] = deploy_requests(load(fleet), ["real-a"], client)
    page = Upgrade(
        client, None, request.objects, [], request.maintenance_page, "real-a", "real-a",  # type: ignore[arg-type]
        lambda where, message: None,
    )  # fmt: skip
    page.start_maintenance(lambda name, generation: _wait_ready(client, name, generation))
    try:
        args = ["check", "real-a", "-f", str(fleet), "-o", "json", "--wait", "60"]
        deadline = time.monotonic() + 60
        while True:
            answers = json.loads(CliRunner().invoke(cli, args).stdout)
            lms = next(a for a in answers if a["name"] == "learn.a.example.org/")
            if lms["status"] == 503:
                break
            assert time.monotonic() < deadline, lms
            time.sleep(1)
        # A browser on learn.a.example.org, resolved to the ingress controller's address.
        entry = ingress_controller.address(real_sandbox.service_range)
        screenshot = tmp_path / "maintenance.png"
        browser = [
            "chromium", "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--no-first-run", "--window-size=800,400",
            f"--host-resolver-rules=MAP learn.a.example.org {entry}",
        ]  # fmt: skip
        shot = subprocess.run(
            [*browser, f"--screenshot={screenshot}", "http://learn.a.example.org/"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert screenshot.exists() and screenshot.stat().st_size > 2000, shot.stderr
        assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        dom = subprocess.run(
            [*browser, "--dump-dom", "http://learn.a.example.org/"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "Down for maintenance" in dom.stdout, dom.stderr
    finally:
        page.end_maintenance()
    answers = json.loads(CliRunner().invoke(cli, args).stdout)
    assert next(a for a in answers if a["name"] == "learn.a.example.org/")["status"] == 200
