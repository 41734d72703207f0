"""The part of kustomize that Tutor's kustomization.yml uses, over plain objects.

Tutor renders a kustomization (resources, namespace, commonAnnotations, labels with
selectors and templates, configMapGenerator, strategic-merge patches from k8s-override)
and leaves building it to `kubectl kustomize`. campus builds it here so that rendering needs
no kubectl and stays in data. Anything else in a kustomization is refused, never ignored.
"""

from __future__ import annotations

import copy
import hashlib
import posixpath
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from campus.errors import CampusError
from campus.kube.objects import KubeObject
from campus.labels import NO_SUFFIX
from campus.render.documents import load, load_all

SUPPORTED = frozenset(
    {
        "apiVersion",
        "kind",
        "resources",
        "namespace",
        "commonAnnotations",
        "labels",
        "commonLabels",
        "configMapGenerator",
        "patches",
        "patchesStrategicMerge",
    }
)
CLUSTER_SCOPED = frozenset({"Namespace", "ClusterRole", "ClusterRoleBinding", "StorageClass"})
_WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"})


class KustomizeError(CampusError):
    pass


Reader = Callable[[str], str]  # a file's text by its path under Tutor's env/ folder


def _load_all(text: str) -> list[KubeObject]:
    return [doc for doc in load_all(text) if doc]


def _pod_template(obj: KubeObject) -> dict[str, Any] | None:
    if obj["kind"] in _WORKLOADS:
        template: dict[str, Any] = obj.setdefault("spec", {}).setdefault("template", {})
        return template
    if obj["kind"] == "CronJob":
        job_template = obj.setdefault("spec", {}).setdefault("jobTemplate", {})
        cron_template: dict[str, Any] = job_template.setdefault("spec", {}).setdefault(
            "template", {}
        )
        return cron_template
    return None


def _add_labels(obj: KubeObject, labels: dict[str, str], selectors: bool, templates: bool) -> None:
    metadata = obj.setdefault("metadata", {})
    metadata["labels"] = {**(metadata.get("labels") or {}), **labels}
    template = _pod_template(obj)
    if templates and template is not None:
        template_metadata = template.setdefault("metadata", {})
        template_metadata["labels"] = {**(template_metadata.get("labels") or {}), **labels}
    if not selectors:
        return
    spec = obj.get("spec") or {}
    if obj["kind"] == "Service" and spec.get("selector") is not None:
        spec["selector"] = {**spec["selector"], **labels}
    elif obj["kind"] in _WORKLOADS - {"Job"} and "selector" in spec:
        match = spec["selector"].setdefault("matchLabels", {})
        spec["selector"]["matchLabels"] = {**match, **labels}


def _add_annotations(obj: KubeObject, annotations: dict[str, str]) -> None:
    metadata = obj.setdefault("metadata", {})
    metadata["annotations"] = {**(metadata.get("annotations") or {}), **annotations}
    template = _pod_template(obj)
    if template is not None:
        template_metadata = template.setdefault("metadata", {})
        template_metadata["annotations"] = {
            **(template_metadata.get("annotations") or {}),
            **annotations,
        }


def _generated_config_map(read: Reader, spec: dict[str, Any]) -> KubeObject:
    unknown = set(spec) - {"name", "files", "literals", "options"}
    if unknown:
        raise KustomizeError(
            f"configMapGenerator {spec.get('name')}: unsupported {sorted(unknown)}"
        )
    data: dict[str, str] = {}
    for entry in spec.get("files") or []:
        key, _, source = str(entry).rpartition("=") if "=" in str(entry) else ("", "", entry)
        data[key or PurePosixPath(source).name] = read(source)
    for literal in spec.get("literals") or []:
        key, _, value = str(literal).partition("=")
        data[key] = value
    options = spec.get("options") or {}
    config_map: KubeObject = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": spec["name"], "labels": dict(options.get("labels") or {})},
        "data": data,
    }
    if options.get("annotations"):
        config_map["metadata"]["annotations"] = dict(options["annotations"])
    if options.get("disableNameSuffixHash"):
        config_map["metadata"]["annotations"] = {
            **config_map["metadata"].get("annotations", {}),
            NO_SUFFIX: "true",
        }
    return config_map


def content_suffix(data: dict[str, Any]) -> str:
    """A short content hash, as kustomize appends to generated names: a change of content
    gives a new name, so pods that mounted the old one keep it until they are replaced."""
    digest = hashlib.sha256(repr(sorted(data.items())).encode()).hexdigest()
    return digest[:10]


def _pod_references(spec: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    """(holder, key) pairs where a pod spec names a ConfigMap."""
    for volume in spec.get("volumes") or []:
        if "configMap" in volume:
            yield volume["configMap"], "name"
        for source in (volume.get("projected") or {}).get("sources") or []:
            if "configMap" in source:
                yield source["configMap"], "name"
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        for env_from in container.get("envFrom") or []:
            if "configMapRef" in env_from:
                yield env_from["configMapRef"], "name"
        for variable in container.get("env") or []:
            reference = (variable.get("valueFrom") or {}).get("configMapKeyRef")
            if reference:
                yield reference, "name"


def rename_config_maps(objects: list[KubeObject], renames: dict[str, str]) -> None:
    for obj in objects:
        template = _pod_template(obj)
        if template is None:
            continue
        for holder, key in _pod_references(template.get("spec") or {}):
            if holder.get(key) in renames:
                holder[key] = renames[holder[key]]


def strategic_merge(target: Any, patch: Any) -> Any:
    """Strategic merge as Kubernetes does it for the fields patches touch: maps merge,
    lists of named items (containers, env, volumes, ports) merge by name, other lists are
    replaced, and a null deletes."""
    if isinstance(target, dict) and isinstance(patch, dict):
        result = dict(target)
        for key, value in patch.items():
            if value is None:
                result.pop(key, None)
            elif key in result:
                result[key] = strategic_merge(result[key], value)
            else:
                result[key] = copy.deepcopy(value)
        return result
    named = isinstance(target, list) and isinstance(patch, list)
    if named and all(isinstance(i, dict) and "name" in i for i in (*target, *patch)):
        merged = {item["name"]: item for item in target}
        for item in patch:
            name = item["name"]
            merged[name] = strategic_merge(merged[name], item) if name in merged else item
        return list(merged.values())
    return copy.deepcopy(patch)


def _apply_patches(read: Reader, kustomization: dict[str, Any], objects: list[KubeObject]) -> None:
    entries = list(kustomization.get("patchesStrategicMerge") or [])
    for patch in kustomization.get("patches") or []:
        if set(patch) - {"path", "patch"}:
            raise KustomizeError(
                f"unsupported patch options: {sorted(set(patch) - {'path', 'patch'})}"
            )
        entries.append(patch.get("path") or {"inline": patch["patch"]})
    for entry in entries:
        text = entry["inline"] if isinstance(entry, dict) else read(entry)
        for document in load_all(text):
            if not document:
                continue
            name = document.get("metadata", {}).get("name")
            targets = [
                o
                for o in objects
                if o["kind"] == document.get("kind") and o["metadata"]["name"] == name
            ]
            if not targets:
                raise KustomizeError(
                    f"patch targets {document.get('kind')} {name}, which is not rendered"
                )
            for target in targets:
                target.update(strategic_merge(target, document))


def build(root: Path) -> list[KubeObject]:
    """Build Tutor's `env/kustomization.yml` under `root` (an env folder Tutor wrote)."""
    return _build(lambda name: (root / name).read_text(), str(root / "kustomization.yml"))


def build_files(files: Mapping[str, str]) -> list[KubeObject]:
    """Build from Tutor's env files rendered in memory, by their path under env/: the same
    objects as `build` on the folder Tutor would have written them to."""

    def read(name: str) -> str:
        text = files.get(posixpath.normpath(name))
        if text is None:
            raise KustomizeError(f"kustomization.yml names {name}, which Tutor did not render")
        # As reading the written file back would: text mode turns \r\n and \r into \n.
        return text.replace("\r\n", "\n").replace("\r", "\n")

    return _build(read, "Tutor's kustomization.yml")


def _build(read: Reader, where: str) -> list[KubeObject]:
    kustomization = load(read("kustomization.yml")) or {}
    unsupported = set(kustomization) - SUPPORTED
    if unsupported:
        raise KustomizeError(
            f"{where} uses {', '.join(sorted(unsupported))}, which campus "
            "does not build; please report the Tutor plugin that adds it"
        )
    objects: list[KubeObject] = []
    for resource in kustomization.get("resources") or []:
        objects += _load_all(read(resource))
    generated = [
        _generated_config_map(read, spec) for spec in kustomization.get("configMapGenerator") or []
    ]
    _apply_patches(read, kustomization, objects)
    objects += generated

    namespace = kustomization.get("namespace")
    for obj in objects:
        if namespace and obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = namespace
        if kustomization.get("commonAnnotations"):
            _add_annotations(obj, kustomization["commonAnnotations"])
        if kustomization.get("commonLabels"):
            _add_labels(obj, kustomization["commonLabels"], selectors=True, templates=True)
        for group in kustomization.get("labels") or []:
            _add_labels(
                obj,
                group.get("pairs") or {},
                bool(group.get("includeSelectors")),
                bool(group.get("includeTemplates")),
            )

    renames = {}
    for config_map in generated:
        annotations = config_map["metadata"].get("annotations") or {}
        if annotations.pop(NO_SUFFIX, None):
            continue
        name = config_map["metadata"]["name"]
        renames[name] = f"{name}-{content_suffix(config_map['data'])}"
        config_map["metadata"]["name"] = renames[name]
    rename_config_maps(objects, renames)
    return objects
