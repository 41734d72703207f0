"""Building Tutor's kustomization from files rendered in memory."""

from __future__ import annotations

import pytest

from campus.render.kustomize import KustomizeError, build_files

KUSTOMIZATION = """
resources: [k8s/services.yml]
namespace: ns
configMapGenerator:
  - name: settings
    files: [apps/lms.py, renamed.yml=apps/config.yml]
"""
SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {name: lms}\nspec: {selector: {app: lms}}\n"


def test_files_in_memory_build_as_files_read_back() -> None:
    files = {
        "kustomization.yml": KUSTOMIZATION,
        "k8s/services.yml": SERVICE,
        "apps/lms.py": "A = 1\r\nB = 2\r",
        "apps/config.yml": "x: 1\n",
    }
    service, config_map = build_files(files)
    assert service["metadata"] == {"name": "lms", "namespace": "ns"}
    # Text mode reading the written file back gives \n for \r\n and \r: so does memory.
    assert config_map["data"] == {"lms.py": "A = 1\nB = 2\n", "renamed.yml": "x: 1\n"}
    assert config_map["metadata"]["name"].startswith("settings-")


def test_a_file_tutor_did_not_render_is_named() -> None:
    with pytest.raises(KustomizeError, match=r"names apps/lms.py, which Tutor did not render"):
        build_files({"kustomization.yml": KUSTOMIZATION, "k8s/services.yml": SERVICE})
