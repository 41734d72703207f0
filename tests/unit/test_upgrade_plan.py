"""Upgrade planning: the releases a Tutor version change crosses, their steps, refusals."""

from __future__ import annotations

import re

import pytest

from campus.deploy import maintenance
from campus.deploy.upgrade import (
    RELEASES,
    PlannedStep,
    StepKind,
    UpgradeRefused,
    plan_upgrade,
    release_name,
    step_job,
)


def test_release_names_follow_tutor_major_versions() -> None:
    assert release_name("21.0.9") == "ulmo"
    assert release_name("22.0.3") == "verawood"
    assert release_name("20.0.1") == "teak"
    assert release_name("13.3.1") == "maple"
    assert release_name("99.0.0") == ""
    assert release_name("") == ""


def test_the_table_follows_tutors_own_list_of_release_names() -> None:
    """Tutor's `OPENEDX_RELEASE_NAMES` (the installed Tutor) in the same order."""
    from tutor.commands.upgrade import OPENEDX_RELEASE_NAMES

    assert [r.name for r in RELEASES][: len(OPENEDX_RELEASE_NAMES)] == OPENEDX_RELEASE_NAMES
    majors = [r.major for r in RELEASES]
    assert majors == sorted(majors) and majors[1:] == list(range(10, 10 + len(majors) - 1))


def test_unchanged_or_unrecorded_version_plans_nothing() -> None:
    assert plan_upgrade("dev", "21.0.9", "21.0.9") is None
    assert plan_upgrade("dev", "", "22.0.3") is None  # a first deploy, or an old revision


def test_a_patch_upgrade_crosses_no_release() -> None:
    plan = plan_upgrade("dev", "21.0.1", "21.0.9")
    assert plan is not None and plan.crossed == () and plan.steps == ()


def test_ulmo_to_verawood_crosses_one_release_without_tutor_steps() -> None:
    plan = plan_upgrade("prod", "21.0.9", "22.0.3")
    assert plan is not None
    assert plan.crossed == ("ulmo",) and plan.steps == ()
    assert "21.0.9 (ulmo) -> 22.0.3 (verawood)" in plan.describe()


def test_steps_come_in_release_order_and_plugin_steps_only_with_the_plugin() -> None:
    plan = plan_upgrade("prod", "18.1.0", "20.0.0", plugins=frozenset({"mfe"}))
    assert plan is not None
    assert plan.crossed == ("redwood", "sumac")
    assert [(p.release, p.step.service) for p in plan.steps] == [("redwood", "lms")]
    assert "enable_navigation_sidebar" in plan.steps[0].step.command
    with_forum = plan_upgrade("prod", "18.1.0", "19.0.0", plugins=frozenset({"mfe", "forum"}))
    assert with_forum is not None and len(with_forum.steps) == 2
    without = plan_upgrade("prod", "18.1.0", "19.0.0")
    assert without is not None and without.steps == ()


def test_leaving_quince_moves_mongodb_one_major_version_at_a_time() -> None:
    plan = plan_upgrade("prod", "17.0.6", "18.0.0")
    assert plan is not None
    images = [p.step.image for p in plan.data_steps]
    assert images == [
        "docker.io/mongo:5.0.26",
        "docker.io/mongo:6.0.14",
        "docker.io/mongo:7.0.28",
    ]
    assert "confirm: 1" in plan.data_steps[-1].step.command
    assert "confirm" not in plan.data_steps[0].step.command


def test_a_downgrade_is_refused_with_the_reason_unless_forced() -> None:
    with pytest.raises(UpgradeRefused) as refused:
        plan_upgrade("prod", "22.0.3", "21.0.9")
    message = str(refused.value)
    assert "prod" in message and "older than 22.0.3 (verawood)" in message
    assert "--force" in message
    with pytest.raises(UpgradeRefused):
        plan_upgrade("prod", "22.0.3", "22.0.1")  # a patch downgrade too
    forced = plan_upgrade("prod", "22.0.3", "21.0.9", force=True)
    assert forced is not None and forced.downgrade and forced.steps == ()
    assert forced.overridden and "older" in forced.overridden[0]


def test_skipping_past_a_release_that_converts_data_is_refused_unless_forced() -> None:
    with pytest.raises(UpgradeRefused) as refused:
        plan_upgrade("prod", "17.0.6", "19.0.0")
    assert "leaving quince" in str(refused.value)
    assert "upgrade to Tutor 18.x.x (redwood) first" in str(refused.value)
    forced = plan_upgrade("prod", "17.0.6", "19.0.0", force=True)
    assert forced is not None and len(forced.data_steps) == 3


def test_the_last_release_crossed_may_convert_data() -> None:
    plan = plan_upgrade("prod", "15.3.0", "16.0.0")  # olive: MongoDB 4.2, 4.4 and MySQL 8.1
    assert plan is not None
    assert [p.step.service for p in plan.data_steps] == ["mongodb", "mongodb", "mysql"]


def test_steps_tutor_leaves_to_the_operator_are_refused() -> None:
    with pytest.raises(UpgradeRefused, match="mysql_upgrade"):
        plan_upgrade("old", "10.5.0", "11.0.0")


def test_an_unknown_release_is_refused() -> None:
    with pytest.raises(UpgradeRefused, match=r"no Open edX release for Tutor 23\.0\.0"):
        plan_upgrade("dev", "22.0.3", "23.0.0")


def init_job(name: str, image: str) -> dict:  # type: ignore[type-arg]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": name}},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "c", "image": image, "args": ["x"]}],
                }
            }
        },
    }


def test_a_task_step_runs_in_its_services_job_template() -> None:
    plan = plan_upgrade("prod", "14.0.0", "15.0.0")
    assert plan is not None
    jobs = [init_job("mysql-init-1-aa", "mysql:8"), init_job("lms-init-2-bb", "openedx:14")]
    job = step_job(plan.steps[0], 1, jobs)
    assert job is not None
    assert job["metadata"]["name"] == "upgrade-nutmeg-1-lms"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "openedx:14"
    assert container["command"] == ["sh", "-e", "-c"]
    assert "compute_grades" in container["args"][0]
    assert job["spec"]["backoffLimit"] == 0


def test_a_data_step_runs_from_the_intermediate_image() -> None:
    plan = plan_upgrade("prod", "17.0.6", "18.0.0")
    assert plan is not None
    job = step_job(plan.steps[0], 1, [init_job("lms-init-1-aa", "openedx:17")])
    assert job is not None
    assert job["spec"]["template"]["spec"]["containers"][0]["image"] == "docker.io/mongo:5.0.26"
    mysql_only = PlannedStep("olive", plan_upgrade("p", "15.0.0", "16.0.0").steps[-1].step)  # type: ignore[union-attr]
    assert mysql_only.step.kind is StepKind.DATA and step_job(mysql_only, 4, []) is None


def test_maintenance_switches_every_backend_and_keeps_the_hosts() -> None:
    ingress = {
        "kind": "Ingress",
        "metadata": {"name": "openedx"},
        "spec": {
            "rules": [
                {
                    "host": h,
                    "http": {"paths": [{"path": "/", "backend": {"service": {"name": "caddy"}}}]},
                }
                for h in ("a.example.org", "b.example.org")
            ]
        },
    }
    switched = maintenance.switched(ingress)
    assert maintenance.backends(switched) == {maintenance.MAINTENANCE}
    assert [r["host"] for r in switched["spec"]["rules"]] == ["a.example.org", "b.example.org"]
    assert maintenance.backends(ingress) == {"caddy"}  # the rendered route is untouched
    route = {
        "kind": "HTTPRoute",
        "metadata": {"name": "openedx"},
        "spec": {"rules": [{"backendRefs": [{"name": "caddy", "port": 80}]}]},
    }
    assert maintenance.backends(maintenance.switched(route)) == {maintenance.MAINTENANCE}


def test_the_maintenance_page_is_hardened() -> None:
    objects = maintenance.objects("ns", [])
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] and security["runAsNonRoot"]
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert container["resources"]["limits"] and container["readinessProbe"]


def test_the_maintenance_page_runs_one_nginx_worker_whatever_the_node() -> None:
    """The image's nginx.conf says `worker_processes auto`: one worker per CPU of the node,
    64 on a 64-CPU node, past the page's 32Mi limit."""
    objects = maintenance.objects("ns", [])
    config = next(o for o in objects if o["kind"] == "ConfigMap")
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == "/etc/nginx/nginx.conf"]
    text = config["data"][mount["subPath"]]
    assert re.search(r"^worker_processes 1;$", text, re.MULTILINE)
    assert "include /etc/nginx/conf.d/*.conf;" in text and "pid /tmp/nginx.pid;" in text
    assert container["resources"]["limits"]["memory"] == "32Mi"


# The directives by which nginx opens a file or directory for writing, and the values that
# open nothing on the root filesystem: nginx's own stderr, the container's stdout and stderr.
_WRITES = ("pid", "error_log", "access_log", *(f"{m}_temp_path" for m in (
    "client_body", "proxy", "fastcgi", "uwsgi", "scgi",
)))  # fmt: skip
_STREAMS = ("stderr", "/dev/stdout", "/dev/stderr", "off")


def test_the_maintenance_page_writes_only_to_its_writable_volume() -> None:
    """The root is read-only and the image may be Debian's nginx, whose /var/log/nginx is a
    directory of root's (only the upstream image links its log files to stdout and stderr):
    a log there made nginx exit at start, the pod never Ready on the real node."""
    objects = maintenance.objects("ns", [])
    config = next(o for o in objects if o["kind"] == "ConfigMap")
    pod = next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"]
    empty = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    writable = [m["mountPath"] for m in container["volumeMounts"] if m["name"] in empty]
    assert writable == ["/tmp"]
    written = [
        (name, match.group(1), match.group(2))
        for name, text in config["data"].items()
        if name.endswith(".conf")
        for match in re.finditer(
            rf"(?:^|[{{;]) *({'|'.join(_WRITES)}) +([^ ;]+)", text, re.MULTILINE
        )
    ]
    # Every one said in nginx.conf, none left to the image's compiled-in default.
    assert {directive for name, directive, _ in written if name == "nginx.conf"} == set(_WRITES)
    for name, directive, path in written:
        inside = any(path.startswith(folder.rstrip("/") + "/") for folder in writable)
        assert path in _STREAMS or inside, f"{name}: {directive} {path} on the read-only root"


def test_the_maintenance_page_answers_with_retry_after() -> None:
    """`error_page 503` answers from the page's own location, with only that location's
    headers: Retry-After has to be said there as well."""
    config = next(o for o in maintenance.objects("ns", []) if o["kind"] == "ConfigMap")
    server = config["data"]["default.conf"]
    assert "error_page 503 /index.html;" in server
    page = re.search(r"location = /index\.html \{([^}]*)\}", server)
    assert page and "add_header Retry-After 600 always;" in page.group(1)
