"""Open edX's own log files: Tutor's settings write all.log and tracking.log, unrotated,
under /openedx/data/logs. campus's settings patch sends those records to the console only,
and, hardened, lms, cms and their workers have a size-limited emptyDir there, whose
overflow evicts the pod naming the volume."""

from __future__ import annotations

from typing import Any

from campus.harden import harden_all
from campus.render.model import RenderedEnvironment

LOG_DIR = "/openedx/data/logs"
OPENEDX = ("lms", "cms", "lms-worker", "cms-worker")


def _pod(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [found] = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name]
    spec: dict[str, Any] = found["spec"]["template"]["spec"]
    return spec


def _log_volume(spec: dict[str, Any]) -> dict[str, Any] | None:
    [container] = [c for c in spec["containers"] if c["name"] == spec["containers"][0]["name"]]
    names = [m["name"] for m in container.get("volumeMounts") or [] if m["mountPath"] == LOG_DIR]
    volumes = [v for v in spec.get("volumes") or [] if v["name"] in names]
    return volumes[0] if volumes else None


def test_tutor_settings_write_unrotated_files_in_the_log_directory(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    rendered = rendered_example["acme-prod"]
    settings = [o for o in rendered.objects if o["metadata"]["name"].startswith("openedx-settings")]
    text = "".join(str(value) for o in settings for value in (o.get("data") or {}).values())
    assert "WatchedFileHandler" in text and "tracking.log" in text
    for name in OPENEDX:
        assert _log_volume(_pod(rendered.objects, name)) is None  # the writable layer


def test_openedx_services_write_their_log_files_into_a_size_limited_empty_dir(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    for rendered in rendered_example.values():
        objects, _ = harden_all(rendered)
        for name in OPENEDX:
            volume = _log_volume(_pod(objects, name))
            assert volume is not None, f"{rendered.environment.name}/{name}"
            assert volume["emptyDir"] == {"sizeLimit": "512Mi"}
        assert _log_volume(_pod(objects, "mysql")) is None


def test_the_settings_campus_renders_send_those_records_to_the_console_only(
    rendered_example: dict[str, RenderedEnvironment],
) -> None:
    for rendered in rendered_example.values():
        for name in ("openedx-settings-lms", "openedx-settings-cms"):
            [settings] = [
                o
                for o in rendered.objects
                if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith(name)
            ]
            for text in (settings.get("data") or {}).values():
                if "tracking.log" not in text:
                    continue
                files = text.index("tracking.log")
                for handler in ("local", "tracking"):
                    replaced = (
                        f'LOGGING["handlers"]["{handler}"] = {{"class": "logging.NullHandler"}}'
                    )
                    assert text.find(replaced, files) > files, (rendered.environment.name, name)
