"""Every label and annotation key campus writes or reads, in one place: the ones it puts on
what it manages, the well-known ones Kubernetes sets, and the sandbox's own."""

# Kubernetes' recommended labels, on every object campus manages.
MANAGED_BY = "app.kubernetes.io/managed-by"
PART_OF = "app.kubernetes.io/part-of"
NAME = "app.kubernetes.io/name"
COMPONENT = "app.kubernetes.io/component"

# Set by Kubernetes itself.
JOB_NAME = "job-name"  # on a Job's pods
HOSTNAME = "kubernetes.io/hostname"  # on nodes; a topology key
ZONE = "topology.kubernetes.io/zone"  # on nodes; a topology key
NAMESPACE_NAME = "kubernetes.io/metadata.name"  # on namespaces

# campus's own.
ENVIRONMENT = "campus.openedx.org/environment"
REVISION = "campus.openedx.org/revision"
# Objects whose loss loses data: never pruned, and destroyed only on request.
DATA = "campus.openedx.org/data"
PRUNE = "campus.openedx.org/prune"
# Why a rule was deliberately not applied to an object, for the linter and the reader.
EXEMPT_PREFIX = "campus.openedx.org/exempt-"
# The service catalogue's facts about a workload's service as resolved for its environment
# (known entry, fallback classification or the fleet file's `services.<name>`), carried by
# the workload and its pod template: deploy, diff and rollback order by the phase; drills,
# drains and status count by the kind and statelessness, never by re-deriving from a name.
PHASE = "campus.openedx.org/phase"
SERVICE_KIND = "campus.openedx.org/service-kind"
# On an HTTPRoute of `ingress.mode: gateway` when the environment asks for TLS: the
# cert-manager annotation its Gateway's listeners need (`cert-manager.io/cluster-issuer:
# NAME`), so a deploy can check that the Gateway terminates TLS for every host.
GATEWAY_TLS = "campus.openedx.org/gateway-tls"
STATELESS = "campus.openedx.org/stateless"
# A generated ConfigMap that keeps its name (kustomize's disableNameSuffixHash).
NO_SUFFIX = "campus.openedx.org/no-suffix"
# A deploy revision's record: `REVISION_PREFIX + "digest"`, `... + "deployed-at"`, ...
REVISION_PREFIX = "campus.openedx.org/"
DEPLOYED_AT = REVISION_PREFIX + "deployed-at"
# The release a revision rendered with: Tutor's version, and its plugins' ("mfe=21.0.2,...").
TUTOR_VERSION = REVISION_PREFIX + "tutor-version"
PLUGIN_VERSIONS = REVISION_PREFIX + "plugin-versions"
# On the deploy Lease: the holder of a deploy that did not finish, and a JSON list of
# [apiVersion, kind, namespace, name] of objects it may have created that no revision records.
UNFINISHED = "campus.openedx.org/unfinished-deploy"
UNRECORDED = "campus.openedx.org/unrecorded-objects"
# On the RBAC objects of `campus access`.
ACCESS_LABEL = "campus.openedx.org/access"
# On the pods of a service that talks to the Kubernetes API (`campus.harden.api_access`):
# the one label NetworkPolicy admits to the API server by, which pods KubeSpawner starts
# (carrying the hub's own app.kubernetes.io/name) never get.
API_ACCESS = "campus.openedx.org/api-access"
# On a NetworkPolicy for a destination the fleet file declares: its `reason`.
EGRESS_REASON = "campus.openedx.org/egress-reason"
# The Secret holding an environment's Tutor state (its generated IDs, passwords and keys).
TUTOR_STATE = "campus.openedx.org/tutor-state"

# The sandbox's simulated nodes.
SANDBOX = "sandbox.campus.openedx.org/name"
# KWOK heartbeats exactly the nodes carrying this label; taking it away is how a node
# "dies" (no kubelet heartbeats, so the real node controller marks it NotReady and evicts).
HEARTBEAT = "sandbox.campus.openedx.org/heartbeat"
KWOK_NODE = "kwok.x-k8s.io/node"  # "fake" on a node KWOK simulates
METRICS_PATH = "metrics.k8s.io/resource-metrics-path"
NODE_TTL = "node.alpha.kubernetes.io/ttl"
OS = "kubernetes.io/os"
ARCH = "kubernetes.io/arch"
WORKER_ROLE = "node-role.kubernetes.io/worker"
NODE_TYPE = "type"  # "kwok", by KWOK's convention
DEFAULT_STORAGE_CLASS = "storageclass.kubernetes.io/is-default-class"
