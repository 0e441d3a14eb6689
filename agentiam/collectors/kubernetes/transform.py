"""A cluster snapshot -> normalised records. Pure: no I/O, no clients, the same for a live read and an export.

- Service accounts become identities, with their cloud links (IRSA, Azure Workload Identity, GKE Workload
  Identity) as bindings and, when the snapshot knows the cluster's OIDC issuer, the alias federations name them by.
- Pods, and the pod templates of controllers whose pods the snapshot does not hold (manifests), become workloads
  with what matters about them: service account, effective token automount, host access, images, owner chain,
  environment (secret metadata only) and the secrets they reference, with who else can read each.
- Agents: pods that match a configured label selector, or are owned (through ReplicaSets, Deployments, Jobs, ...) by
  or selected by an agent custom resource. The evidence is recorded on the workload; the pipeline carries agent
  status on to the service account and the cloud identities it links to.
- RBAC: see rbac.py.

A malformed object is skipped with an error issue that names it and what is wrong, never quoting a value; the rest of
the snapshot is transformed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from agentiam.collectors.kubernetes.rbac import describe, issue, transform_rbac
from agentiam.collectors.kubernetes.selectors import Selector, SelectorError, label_selector_matcher, parse_selector
from agentiam.collectors.kubernetes.snapshot import KubernetesSnapshot, RawObject, object_key
from agentiam.collectors.kubernetes.uids import oidc_alias, service_account_uid, workload_uid
from agentiam.collectors.secrets import DetectedSecret, detect_secret
from agentiam.config import KubernetesSettings
from agentiam.findings.data.secret_patterns import ENV_SECRET
from agentiam.findings.policy.kubernetes import CLUSTER, SECRET_READS, RoleGrant, can_read_secret
from agentiam.inventory.records import (
    AnyRecord,
    BindingRecord,
    CredentialRecord,
    Evidence,
    IdentityRecord,
    IssueRecord,
    WorkloadRecord,
)

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
AZURE_CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
AZURE_USE_LABEL = "azure.workload.identity/use"
GKE_ANNOTATION = "iam.gke.io/gcp-service-account"
LINK_ANNOTATIONS = (IRSA_ANNOTATION, AZURE_CLIENT_ID_ANNOTATION, GKE_ANNOTATION)

# Controllers whose pod template is a workload of its own when the snapshot holds no pod it owns (manifests):
# kind -> path to the pod template.
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
NAMESPACED_KINDS = {"Pod", "ServiceAccount", "Role", "RoleBinding", *TEMPLATE_PATHS}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
READERS_SHOWN = 25
LISTING_KINDS = ("ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
MAX_OWNER_DEPTH = 10  # owner references can form a cycle in a hand-written export


def _meta(obj: RawObject) -> dict[str, Any]:
    return obj.get("metadata") or {}


def _ns(obj: RawObject) -> str:
    return str(_meta(obj).get("namespace") or "default")


def _name(obj: RawObject) -> str:
    return str(_meta(obj)["name"])


def _labels(meta: dict[str, Any]) -> dict[str, str]:
    labels = meta.get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _problem(obj: Any) -> str | None:
    """What makes an object unusable, or None."""
    if not isinstance(obj, dict):
        return "not an object"
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta["name"]:
        return "metadata.name is missing"
    if meta.get("namespace") is not None and not isinstance(meta["namespace"], str):
        return "metadata.namespace is not a string"
    kind = obj.get("kind")
    if kind == "Pod":
        return _pod_spec_problem(obj)
    if kind in ("RoleBinding", "ClusterRoleBinding") and not isinstance(obj.get("subjects") or [], list):
        return "subjects is not a list"
    if kind in ("RoleBinding", "ClusterRoleBinding") and not isinstance(obj.get("roleRef"), dict):
        return "roleRef is missing"
    return None


def _pod_spec_problem(obj: RawObject) -> str | None:
    template = _pod_template(obj)
    if not isinstance(template, dict) or not isinstance(template.get("spec"), dict):
        return "has no pod spec"
    containers = template["spec"].get("containers")
    if not isinstance(containers, list) or not all(isinstance(c, dict) for c in containers):
        return "spec.containers is not a list of objects"
    return None


def _pod_template(obj: RawObject) -> Any:
    """A pod itself (metadata + spec), or a controller's pod template."""
    if obj.get("kind") == "Pod":
        return obj
    node: Any = obj
    for key in TEMPLATE_PATHS.get(str(obj.get("kind")), ()):
        node = node.get(key) if isinstance(node, dict) else None
    return node


# -- the pod spec ------------------------------------------------------------------------------------------------


def _containers(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(kind, c) for kind in CONTAINER_LISTS for c in (spec.get(kind) or []) if isinstance(c, dict)]


def host_access(spec: dict[str, Any]) -> dict[str, Any]:
    """Privileged containers, host namespaces and hostPath volumes, any container included (init, ephemeral)."""
    privileged = sorted(
        str(c.get("name")) for _, c in _containers(spec) if (c.get("securityContext") or {}).get("privileged") is True
    )
    host_paths = sorted(
        str((v.get("hostPath") or {}).get("path"))
        for v in spec.get("volumes") or []
        if isinstance(v, dict) and isinstance(v.get("hostPath"), dict)
    )
    return {
        "privileged": bool(privileged),
        "privileged_containers": privileged,
        "host_network": spec.get("hostNetwork") is True,
        "host_pid": spec.get("hostPID") is True,
        "host_ipc": spec.get("hostIPC") is True,
        "host_paths": host_paths,
    }


@dataclass
class Environment:
    names: list[str] = field(default_factory=list)
    secret_refs: list[dict[str, Any]] = field(default_factory=list)
    credentials: list[CredentialRecord] = field(default_factory=list)


Detector = Callable[[str, str], DetectedSecret | None]


def environment(holder: str, spec: dict[str, Any], detect: Detector = detect_secret) -> Environment:
    """Variable names, referenced secrets, and credential records (metadata only) for literal secrets."""
    found = Environment()
    for _, container in _containers(spec):
        container_name = str(container.get("name"))
        literals: dict[str, str] = {}
        for variable in container.get("env") or []:
            if not isinstance(variable, dict) or not isinstance(variable.get("name"), str):
                continue
            found.names.append(variable["name"])
            if isinstance(variable.get("value"), str):
                literals[variable["name"]] = variable["value"]
            ref = (variable.get("valueFrom") or {}).get("secretKeyRef")
            if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                found.secret_refs.append(
                    {
                        "container": container_name,
                        "variable": variable["name"],
                        "secret": ref["name"],
                        "key": ref.get("key"),
                    }
                )
        for source in container.get("envFrom") or []:
            ref = (source or {}).get("secretRef") if isinstance(source, dict) else None
            if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                found.secret_refs.append(
                    {"container": container_name, "variable": None, "secret": ref["name"], "key": None}
                )
        found.credentials.extend(
            CredentialRecord(
                uid=f"{holder}/container/{container_name}/env/{secret.name}",
                holder_uid=holder,
                credential_kind=ENV_SECRET,
                name=secret.name,
                fingerprint=secret.fingerprint,
                attributes={
                    "secret_kind": secret.kind,
                    "matched_by": list(secret.matched_by),
                    "location": f"container {container_name}",
                },
            )
            for secret in (detect(name, value) for name, value in sorted(literals.items()))
            if secret is not None
        )
    found.names = sorted(set(found.names))
    return found


def images(spec: dict[str, Any]) -> list[str]:
    return sorted({str(c.get("image")) for _, c in _containers(spec) if c.get("image")})


# -- the transform -----------------------------------------------------------------------------------------------


@dataclass
class _Cluster:
    """Indexes over one snapshot's objects."""

    snapshot: KubernetesSnapshot
    settings: KubernetesSettings
    records: list[AnyRecord] = field(default_factory=list)
    by_uid: dict[str, RawObject] = field(default_factory=dict)
    by_name: dict[tuple[str, str, str], RawObject] = field(default_factory=dict)  # (key, ns, name)
    service_accounts: dict[tuple[str, str], RawObject] = field(default_factory=dict)
    selectors: list[Selector] = field(default_factory=list)
    grants: list[RoleGrant] = field(default_factory=list)
    # Replicas share their spec and owners: each answer is worked out once per transform.
    readers: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    chains: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # by id() of an owner
    detected: dict[tuple[str, str], DetectedSecret | None] = field(default_factory=dict)

    def detect(self, name: str, value: str) -> DetectedSecret | None:
        if (name, value) not in self.detected:
            self.detected[(name, value)] = detect_secret(name, value)
        return self.detected[(name, value)]

    @cached_property
    def secret_grants(self) -> dict[str, list[RoleGrant]]:
        """The grants that read some secret, by scope: the only ones worth asking about one secret."""
        by_scope: dict[str, list[RoleGrant]] = defaultdict(list)
        for grant in self.grants:
            if any(rule.allows(verb, "", "secrets") for rule in grant.rules for verb in SECRET_READS):
                by_scope[grant.scope].append(grant)
        return by_scope

    @property
    def cluster(self) -> str:
        return self.snapshot.cluster

    def report(self, obj: RawObject, problem: str) -> None:
        self.records.append(issue(self.snapshot.source, obj, problem))


def _usable_objects(state: _Cluster) -> dict[str, list[RawObject]]:
    usable: dict[str, list[RawObject]] = defaultdict(list)
    for key, objects in state.snapshot.objects.items():
        for position, obj in enumerate(objects):
            problem = _problem(obj)
            if problem is not None:
                named = isinstance(obj, dict) and isinstance(obj.get("metadata"), dict) and obj["metadata"].get("name")
                source = f"{state.snapshot.source}: {describe(obj) if named else f'{key} #{position}'}"
                state.records.append(IssueRecord(subject_uid=None, source=source, problem=f"skipped: {problem}"))
                continue
            usable[key].append(obj)
            meta = _meta(obj)
            namespace = _ns(obj) if key in NAMESPACED_KINDS or "/" in key else ""
            state.by_name[(key, namespace, meta["name"])] = obj
            if meta.get("uid"):
                state.by_uid[str(meta["uid"])] = obj
    return usable


def _owner(state: _Cluster, obj: RawObject) -> tuple[str, RawObject | None, dict[str, Any]] | None:
    """The controlling owner reference of an object: (its key, the owner if the snapshot holds it, the reference)."""
    refs = [r for r in _meta(obj).get("ownerReferences") or [] if isinstance(r, dict)]
    ref = next((r for r in refs if r.get("controller")), refs[0] if refs else None)
    if ref is None:
        return None
    key = object_key({"kind": ref.get("kind"), "apiVersion": ref.get("apiVersion", "")})
    owner = state.by_uid.get(str(ref.get("uid"))) or state.by_name.get((key, _ns(obj), str(ref.get("name"))))
    return key, owner, ref


def owner_chain(state: _Cluster, obj: RawObject, depth: int = 0) -> list[dict[str, Any]]:
    """The controlling owners, nearest first (ReplicaSet, Deployment, custom resource), as far as the snapshot goes."""
    found = _owner(state, obj) if depth < MAX_OWNER_DEPTH else None
    if found is None:
        return []
    key, owner, ref = found
    link = {"kind": key, "name": ref.get("name"), "in_snapshot": owner is not None}
    if owner is None:
        return [link]
    if id(owner) not in state.chains:
        state.chains[id(owner)] = owner_chain(state, owner, depth + 1)
    return [link, *state.chains[id(owner)]]


def _agent_evidence(
    state: _Cluster, labels: dict[str, str], namespace: str, chain: list[dict[str, Any]], crs: list[RawObject]
) -> list[Evidence]:
    evidence = [
        Evidence(reason="agent-label-selector", detail=selector.text)
        for selector in state.selectors
        if selector.matches(labels)
    ]
    evidence += [
        Evidence(reason="agent-custom-resource", detail=f"owned by {link['kind']} {namespace}/{link['name']}")
        for link in chain
        if link["kind"] in state.settings.agent_crds
    ]
    for cr in crs:
        if _ns(cr) == namespace and label_selector_matcher((cr.get("spec") or {}).get("selector"))(labels):
            evidence.append(
                Evidence(reason="agent-custom-resource", detail=f"selected by {object_key(cr)} {namespace}/{_name(cr)}")
            )
    return evidence


def _secret_readers(state: _Cluster, namespace: str, secret: str) -> list[str]:
    key = (namespace, secret)
    if key not in state.readers:
        state.readers[key] = sorted(
            {
                f"{g.subject.describe()} ({g.binding})"
                for g in (*state.secret_grants[CLUSTER], *state.secret_grants[f"namespace:{namespace}"])
                if can_read_secret(g, namespace, secret)
            }
        )
    return state.readers[key]


def _automount(pod_spec: dict[str, Any], account: RawObject | None) -> tuple[bool, str]:
    """The pod's own setting wins over its service account's; Kubernetes mounts the token unless told otherwise."""
    if isinstance(pod_spec.get("automountServiceAccountToken"), bool):
        return pod_spec["automountServiceAccountToken"], "pod"
    if account is not None and isinstance(account.get("automountServiceAccountToken"), bool):
        return account["automountServiceAccountToken"], "service account"
    return True, "default"


def _workload(
    state: _Cluster,
    obj: RawObject,
    kind: str,
    crs: list[RawObject],
    pods_by_account: dict[tuple[str, str], list[dict[str, str]]],
) -> list[AnyRecord]:
    template = _pod_template(obj)
    spec, namespace = template["spec"], _ns(obj)
    uid = workload_uid(state.cluster, kind, namespace, _name(obj))
    labels = _labels(template.get("metadata") or {})
    chain = owner_chain(state, obj)
    evidence = _agent_evidence(state, labels, namespace, chain, crs)
    if not evidence and kind != "pod":
        # A controller labelled as an agent (manifests often label only the CronJob or Deployment) counts too.
        evidence = [
            Evidence(reason="agent-label-selector", detail=f"{selector.text} (on the {obj.get('kind')})")
            for selector in state.selectors
            if selector.matches(_labels(_meta(obj)))
        ]
    if kind == "pod" and state.snapshot.pods_preselected and not evidence:
        evidence = [Evidence(reason="agent-label-selector", detail="selected by the live listing")]
    account_name = str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")
    account = state.service_accounts.get((namespace, account_name))
    automount, automount_source = _automount(spec, account)
    env = environment(uid, spec, state.detect)
    for ref in env.secret_refs:
        readers = _secret_readers(state, namespace, ref["secret"])
        ref["readable_by"] = readers[:READERS_SHOWN]
        ref["readable_by_count"] = len(readers)
    pods_by_account[(namespace, account_name)].append(labels)
    attributes = {
        "cluster": state.cluster,
        "namespace": namespace,
        "controller_kind": obj.get("kind"),
        "service_account": account_name,
        "service_account_in_snapshot": account is not None,
        "automount_service_account_token": automount,
        "automount_source": automount_source,
        **host_access(spec),
        "images": images(spec),
        "owner_chain": chain,
        "environment_variables": env.names,
        "secret_refs": env.secret_refs,
    }
    return [
        WorkloadRecord(
            uid=uid,
            provider="kubernetes",
            workload_kind=f"k8s_{kind}",
            name=f"{namespace}/{_name(obj)}",
            scope=state.cluster,
            tags=labels,
            is_agent=bool(evidence),
            agent_evidence=evidence,
            attributes=attributes,
        ),
        BindingRecord(
            workload_uid=uid,
            identity_uid=service_account_uid(state.cluster, namespace, account_name),
            mechanism="k8s_sa",
        ),
        *env.credentials,
    ]


def _controllers_with_pods(state: _Cluster, pods: list[RawObject]) -> set[int]:
    """Controllers some pod of the snapshot descends from: their pods stand for them."""
    covered: set[int] = set()
    for pod in pods:
        current: RawObject | None = pod
        while current is not None and id(current) not in covered:
            found = _owner(state, current)
            current = found[1] if found else None
            if current is not None:
                covered.add(id(current))
    return covered


def _service_account(
    state: _Cluster, namespace: str, name: str, obj: RawObject | None, pod_labels: list[dict[str, str]]
) -> list[AnyRecord]:
    uid = service_account_uid(state.cluster, namespace, name)
    annotations = (_meta(obj).get("annotations") or {}) if obj is not None else {}
    annotations = {str(k): str(v) for k, v in annotations.items()} if isinstance(annotations, dict) else {}
    aliases = [oidc_alias(state.snapshot.oidc_issuer, namespace, name)] if state.snapshot.oidc_issuer else []
    attributes: dict[str, Any] = {
        "cluster": state.cluster,
        "namespace": namespace,
        "automount_service_account_token": (obj or {}).get("automountServiceAccountToken"),
        "implicit": obj is None,  # every namespace has a `default` service account, listed or not
        "link_annotations": {k: v for k, v in annotations.items() if k in LINK_ANNOTATIONS},
    }
    if aliases:
        attributes["aliases"] = aliases
    records: list[AnyRecord] = [
        IdentityRecord(
            uid=uid,
            provider="kubernetes",
            identity_kind="k8s_service_account",
            name=f"{namespace}/{name}",
            native_id=f"system:serviceaccount:{namespace}:{name}",
            scope=state.cluster,
            tags=_labels(_meta(obj)) if obj is not None else {},
            created_at=_meta(obj).get("creationTimestamp") if obj is not None else None,
            attributes=attributes,
        )
    ]
    link = {"cluster": state.cluster, "namespace": namespace, "service_account": name}
    role_arn = annotations.get(IRSA_ANNOTATION)
    if role_arn:
        if role_arn.startswith("arn:"):
            records.append(
                BindingRecord(workload_uid=uid, identity_uid=f"aws:{role_arn}", mechanism="irsa", attributes=link)
            )
        else:
            state.report(obj or {}, f"annotation {IRSA_ANNOTATION} is not an ARN; IRSA link not recorded")
    client_id = annotations.get(AZURE_CLIENT_ID_ANNOTATION)
    # The webhook injects the federated token only into pods labelled to use it.
    if client_id and any(labels.get(AZURE_USE_LABEL) == "true" for labels in pod_labels):
        records.append(
            BindingRecord(
                workload_uid=uid,
                identity_uid=f"azure:client-id:{client_id.lower()}",
                mechanism="azure_workload_identity",
                attributes=link,
            )
        )
    email = annotations.get(GKE_ANNOTATION)
    if email:
        records.append(
            BindingRecord(
                workload_uid=uid, identity_uid=f"gcp:{email}", mechanism="gke_workload_identity", attributes=link
            )
        )
    return records


def _selectors(state: _Cluster) -> list[Selector]:
    selectors = []
    for text in state.settings.agent_label_selectors:
        try:
            selectors.append(parse_selector(text))
        except SelectorError as exc:
            state.records.append(
                IssueRecord(subject_uid=None, source="settings kubernetes.agent_label_selectors", problem=str(exc))
            )
    return selectors


def transform_snapshot(
    snapshot: KubernetesSnapshot, settings: KubernetesSettings, *, complete_listing: bool = True
) -> list[AnyRecord]:
    """Records for one cluster. `complete_listing`: the snapshot holds every service account and role of the cluster
    (a live read, a kubectl List), so a binding to one it lacks is a binding to something missing; manifests are not.
    """
    state = _Cluster(snapshot, settings)
    # The reader's issues include an error for each kind it could not list (snapshot.not_evaluated): the run is
    # partial, and nothing that kind would have shown is resolved.
    state.records.extend(snapshot.issues)
    state.selectors = _selectors(state)
    objects = _usable_objects(state)
    state.service_accounts = {(_ns(o), _name(o)): o for o in objects.get("ServiceAccount", [])}
    listing_complete = complete_listing and not any(k in snapshot.not_evaluated for k in LISTING_KINDS)
    rbac = transform_rbac(snapshot.cluster, objects, set(state.service_accounts), listing_complete, state.report)
    state.grants = rbac.grants
    crs = [o for key in settings.agent_crds for o in objects.get(key, [])]
    pods = objects.get("Pod", [])
    covered = _controllers_with_pods(state, pods)
    pods_by_account: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    workloads: list[AnyRecord] = []
    for pod in pods:
        workloads.extend(_workload(state, pod, "pod", crs, pods_by_account))
    for kind in TEMPLATE_PATHS:
        for controller in objects.get(kind, []):
            if id(controller) in covered:
                continue
            # A controller seen only as a pod's owner may come without its template; on its own it needs one.
            problem = _pod_spec_problem(controller)
            if problem is not None:
                state.report(controller, f"skipped: {problem}")
                continue
            workloads.extend(_workload(state, controller, kind.lower(), crs, pods_by_account))
    for cr in crs:
        workloads.extend(_custom_resource(state, cr, workloads))
    accounts: list[AnyRecord] = []
    namespaces = {ns for ns, _ in state.service_accounts} | {ns for ns, _ in pods_by_account}
    implicit_defaults = {(ns, "default") for ns in namespaces} - set(state.service_accounts)
    for namespace, name in sorted(set(state.service_accounts) | implicit_defaults):
        obj = state.service_accounts.get((namespace, name))
        accounts.extend(_service_account(state, namespace, name, obj, pods_by_account.get((namespace, name), [])))
    return [*state.records, *rbac.records, *accounts, *workloads]


def _custom_resource(state: _Cluster, cr: RawObject, workloads: list[AnyRecord]) -> list[AnyRecord]:
    """An agent custom resource is an agent workload; it runs as the service accounts of the pods it owns."""
    key, namespace = object_key(cr), _ns(cr)
    uid = workload_uid(state.cluster, key, namespace, _name(cr))
    detail = f"{key} {namespace}/{_name(cr)}"
    pods = {
        w.uid: w
        for w in workloads
        if isinstance(w, WorkloadRecord) and any(e.detail.endswith(detail) for e in w.agent_evidence)
    }
    accounts = sorted({b.identity_uid for b in workloads if isinstance(b, BindingRecord) and b.workload_uid in pods})
    return [
        WorkloadRecord(
            uid=uid,
            provider="kubernetes",
            workload_kind="k8s_agent_resource",
            name=f"{namespace}/{_name(cr)}",
            scope=state.cluster,
            tags=_labels(_meta(cr)),
            is_agent=True,
            agent_evidence=[Evidence(reason="agent-custom-resource", detail=key)],
            attributes={"cluster": state.cluster, "namespace": namespace, "resource": key, "pods": sorted(pods)},
        ),
        *(BindingRecord(workload_uid=uid, identity_uid=account, mechanism="k8s_sa") for account in accounts),
    ]
