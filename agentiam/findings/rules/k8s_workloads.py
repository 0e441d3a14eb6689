"""Kubernetes agent workload rules: how an agent pod runs (token, service account, host access) and whom it shares
its service account with.

Only agent workloads are judged (pods, and controllers' pod templates in manifests). Severities are those of any
workload: the engine raises a finding on an agent one step, and says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from agentiam.findings.context import AnalysisContext
from agentiam.findings.data.k8s_permissions import DANGEROUS_PERMISSIONS, GOOD_PRACTICES, NHI5
from agentiam.findings.policy.kubernetes import CLUSTER, capability, everything_grants
from agentiam.findings.registry import Hit, rule

POD_SECURITY = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
SA_TOKENS = "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/"
NHI9 = "OWASP NHI Top 10 2025: NHI9 NHI Reuse"


def _agent_workloads(ctx: AnalysisContext) -> Iterator[Any]:
    frame = ctx.workloads
    if frame.empty:
        return
    for row in frame[(frame["provider"] == "kubernetes") & frame["is_agent"]].itertuples():
        if (row.attributes or {}).get("service_account"):  # a pod or a pod template, not an agent custom resource
            yield row


def _account_uid(row: Any) -> str:
    attributes = row.attributes
    return (
        f"kubernetes:{attributes['cluster']}:serviceaccount:{attributes['namespace']}/{attributes['service_account']}"
    )


def powers(ctx: AnalysisContext, row: Any) -> list[str]:
    """What the workload's service account can do that matters, at cluster scope or in the workload's namespace."""
    attributes = row.attributes
    grants = ctx.kubernetes_rbac.effective(_account_uid(row), attributes["cluster"], attributes["namespace"])
    found = []
    for scope in (CLUSTER, f"namespace:{attributes['namespace']}"):
        if everything_grants(g for g in grants if g.scope == scope):
            found.append(f"every verb on every resource ({scope})")
        found += [
            f"{p.key} ({scope}, {', '.join(m.bindings)})"
            for p in DANGEROUS_PERMISSIONS
            if (m := capability(p, grants, scope)) is not None and not m.name_restricted
        ]
    return found


@rule(
    id="K8S-POD-001",
    title="Agent pod mounts a token of a powerful service account",
    category="credential-exposure",
    severity="high",
    provider="kubernetes",
    rationale="""The pod gets its service account's token in a file, and anything that runs in it, such as a
    prompt-injected tool call, can read the file and use the account's permissions against the API server. The
    account here can do something dangerous: read secrets, create pods, exec, escalate, or everything. The pod's
    `automountServiceAccountToken` overrides the account's, and Kubernetes mounts the token unless told otherwise.""",
    remediation="""Set `automountServiceAccountToken: false` on the pod unless the agent calls the Kubernetes API;
    if it does, bind it a role with only the verbs and resources it calls, and mount a short-lived projected token.""",
    references=(SA_TOKENS, GOOD_PRACTICES, NHI5),
)
def powerful_token(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    for row in _agent_workloads(ctx):
        attributes = row.attributes
        if not attributes.get("automount_service_account_token"):
            continue
        found = powers(ctx, row)
        if found:
            yield Hit(
                subject_uid=row.uid,
                key="automounted-powerful-token",
                message=f"{row.name} mounts the token of service account {attributes['service_account']}, which can: "
                + "; ".join(found[:5])
                + (f" (+{len(found) - 5} more)" if len(found) > 5 else ""),
                evidence={
                    "service_account": attributes["service_account"],
                    "namespace": attributes["namespace"],
                    "automount_source": attributes.get("automount_source"),
                    "powers": found,
                },
            )


@rule(
    id="K8S-POD-002",
    title="Agent pod runs as the default service account",
    category="hygiene",
    severity="low",
    provider="kubernetes",
    rationale="""Every pod of a namespace that names no service account runs as `default`: the agent shares its
    identity, and every permission later bound to `default`, with every other such pod, and its actions cannot be
    told apart in the audit log.""",
    remediation="""Give the agent a service account of its own (`serviceAccountName`), with only the permissions it
    needs.""",
    references=(SA_TOKENS, NHI9),
)
def default_service_account(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    for row in _agent_workloads(ctx):
        if row.attributes["service_account"] == "default":
            yield Hit(
                subject_uid=row.uid,
                key="default-service-account",
                message=f"{row.name} runs as the default service account of namespace {row.attributes['namespace']}",
                evidence={"namespace": row.attributes["namespace"], "service_account": "default"},
            )


HOST_ACCESS = (  # attribute, what it is, severity
    ("privileged", "privileged container(s)", "high"),
    ("host_pid", "the host's PID namespace", "high"),
    ("host_paths", "hostPath volume(s)", "high"),
    ("host_network", "the host's network namespace", "medium"),
    ("host_ipc", "the host's IPC namespace", "medium"),
)


@rule(
    id="K8S-POD-003",
    title="Agent pod is privileged or shares the host",
    category="exposure",
    severity="high",
    provider="kubernetes",
    rationale="""A privileged container, the host's PID namespace or a hostPath volume lets whatever runs in the
    pod take over the node, and from there every pod scheduled on it; the host network or IPC namespace exposes the
    node's services and traffic. An agent that runs model-chosen commands must not have this reach.""",
    remediation="""Remove `privileged`, `hostPID`, `hostIPC`, `hostNetwork` and hostPath volumes from the agent's
    pod spec, and enforce Pod Security Admission `restricted` (or at least `baseline`) on its namespace.""",
    references=(POD_SECURITY, "https://github.com/BishopFox/badPods", NHI5),
)
def host_access(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    for row in _agent_workloads(ctx):
        attributes = row.attributes
        found = [(what, severity) for key, what, severity in HOST_ACCESS if attributes.get(key)]
        if not found:
            continue
        severity = "high" if any(s == "high" for _, s in found) else "medium"
        yield Hit(
            subject_uid=row.uid,
            key="host-access",
            message=f"{row.name} uses " + ", ".join(what for what, _ in found),
            evidence={
                "privileged_containers": attributes.get("privileged_containers", []),
                "host_pid": attributes.get("host_pid"),
                "host_ipc": attributes.get("host_ipc"),
                "host_network": attributes.get("host_network"),
                "host_paths": attributes.get("host_paths", []),
            },
            severity=severity,
        )


def _application(row: Any) -> str:
    """Pods of one controller are one application: the top of the owner chain, or the workload itself."""
    chain = row.attributes.get("owner_chain") or []
    top = chain[-1] if chain else None
    return f"{top['kind']} {row.attributes['namespace']}/{top['name']}" if top else str(row.name)


@rule(
    id="K8S-SA-001",
    title="Service account shared by several agent workloads",
    category="hygiene",
    severity="medium",
    provider="kubernetes",
    rationale="""Agents that share a service account share every permission of it: each holds the union of what
    all of them need, a compromise of one is a compromise of all, and the audit log cannot tell them apart.""",
    remediation="""Give each agent application a service account of its own, with the permissions that agent
    needs.""",
    references=(NHI9, SA_TOKENS),
    parameters={"min_workloads": 2},
)
def shared_service_account(ctx: AnalysisContext, params: dict[str, Any]) -> Iterator[Hit]:
    applications: dict[str, set[str]] = defaultdict(set)
    for row in _agent_workloads(ctx):
        applications[_account_uid(row)].add(_application(row))
    for uid, users in sorted(applications.items()):
        if len(users) >= params["min_workloads"]:
            yield Hit(
                subject_uid=uid,
                key="shared-by-agents",
                message=f"service account {uid.rpartition(':')[2]} is used by {len(users)} agent workloads: "
                + ", ".join(sorted(users)[:10]),
                evidence={"workloads": sorted(users), "count": len(users)},
            )
