"""How much one grant gives, in one word a reviewer can act on: admin, permissions-management, write, read, list, none.

AWS policies go through the permission engine (the same semantics as the rules). Kubernetes roles and Azure role
definitions are read with a generic reading of their verbs and operations. A document neither reading understands
is judged by the findings on the identity; failing that it is `unknown`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agentiam.findings.policy.aws import PolicyParseError, PolicySource, effective_permissions, parse_policy
from agentiam.findings.policy.catalogue import ActionCatalogue
from agentiam.findings.rules.aws_iam import ADMIN_COVERAGE, permissions_admin_equivalence

# Worst first: a grant's level is the first that applies.
LEVELS = ("admin", "permissions-management", "write", "read", "list", "none", "unknown")

# AWS catalogue access levels, in the order they are tested; Tagging changes resources, so it is write.
_AWS_LEVELS = (("Permissions management", "permissions-management"), ("Write", "write"), ("Tagging", "write"))
_AWS_READ_LEVELS = (("Read", "read"), ("List", "list"))

_K8S_WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection", "*"})
_K8S_READ_VERBS = frozenset({"get", "list", "watch"})
# Holding these is holding the power to grant: RBAC objects to write, or the verbs that bypass RBAC's checks.
_K8S_RBAC_RESOURCES = frozenset({"roles", "rolebindings", "clusterroles", "clusterrolebindings", "*"})
_K8S_ESCALATING_VERBS = frozenset({"escalate", "bind", "impersonate"})

# What a finding's category says about the grants of its identity, when nothing reads the document.
_CATEGORY_LEVELS = {"admin": "admin", "privilege-escalation": "permissions-management", "wildcard": "write"}


def worst(levels: Iterable[str]) -> str:
    ranked = sorted(levels, key=LEVELS.index)
    return ranked[0] if ranked else "none"


def document_privilege(provider: str, document: Any, catalogue: ActionCatalogue, cache_key: str | None = None) -> str:
    """The level of a policy `document` on its own; `unknown` when nothing here reads it. `cache_key` (the document
    hash) spares re-parsing a shared AWS policy."""
    if provider == "aws":
        return _aws_level(document, catalogue, cache_key)
    if provider == "kubernetes":
        return _kubernetes_level(document)
    if provider == "azure":
        return _azure_level(document)
    return "unknown"


def grant_privilege(level: str, finding_categories: Iterable[str] = ()) -> str:
    """A grant's level: its document's, or, for a document nothing reads, what the identity's open findings say."""
    if level != "unknown":
        return level
    judged = [_CATEGORY_LEVELS[c] for c in finding_categories if c in _CATEGORY_LEVELS]
    return worst(judged) if judged else "unknown"


def _aws_level(document: Any, catalogue: ActionCatalogue, cache_key: str | None) -> str:
    try:
        parsed = parse_policy(document, key=cache_key, catalogue=catalogue)
    except PolicyParseError:
        return "unknown"
    permissions = effective_permissions([(PolicySource("", "", ""), parsed)], catalogue=catalogue)
    if permissions_admin_equivalence(permissions, catalogue, ADMIN_COVERAGE) is not None:
        return "admin"
    allowed = permissions.allowed()
    for catalogue_level, level in (*_AWS_LEVELS, *_AWS_READ_LEVELS):
        if allowed & catalogue.level_mask(catalogue_level):
            return level
    return "none"


def _kubernetes_level(document: Any) -> str:
    rules = document.get("rules") if isinstance(document, Mapping) else document
    if not isinstance(rules, list):
        return "unknown"
    levels = {"none"}
    for rule in rules:
        if not isinstance(rule, Mapping):
            return "unknown"
        verbs = {str(v).lower() for v in rule.get("verbs") or []}
        resources = {str(r).lower() for r in rule.get("resources") or []}
        groups = {str(g) for g in rule.get("apiGroups") or []}
        writes = bool(verbs & _K8S_WRITE_VERBS)
        if "*" in verbs and "*" in resources and "*" in groups:
            levels.add("admin")
        elif verbs & _K8S_ESCALATING_VERBS or (writes and resources & _K8S_RBAC_RESOURCES):
            levels.add("permissions-management")
        elif writes:
            levels.add("write")
        elif verbs & _K8S_READ_VERBS:
            levels.add("read")
    return worst(levels)


def _azure_level(document: Any) -> str:
    if not isinstance(document, Mapping):
        return "unknown"
    properties = document.get("properties") if isinstance(document.get("properties"), Mapping) else document
    permissions = properties.get("permissions")
    if not isinstance(permissions, list):
        return "unknown"
    levels = {"none"}
    for block in permissions:
        if not isinstance(block, Mapping):
            return "unknown"
        for key in ("actions", "dataActions"):
            levels.update(_azure_operation_level(str(op).lower()) for op in block.get(key) or [])
    return worst(levels)


def _azure_operation_level(operation: str) -> str:
    """One Azure operation (NotActions are not denies, so they do not lower the level)."""
    if operation == "*":
        return "admin"
    if operation.startswith("microsoft.authorization/") and not operation.endswith("/read"):
        return "permissions-management"
    if operation.endswith(("/write", "/delete", "/action", "*")):
        return "write"
    if operation.endswith("/read"):
        return "read"
    return "none"
