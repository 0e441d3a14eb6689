"""What rules see: one scan's inventory, read once, with the costly derived views computed lazily and cached.

Rules never call cloud APIs and never write. Effective AWS permissions are evaluated here once per principal and
shared by every rule; each distinct policy document is parsed once (keyed by its content hash).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

import pandas as pd

from agentiam.config import Settings
from agentiam.findings.data.aws_access import SERVICE_LINKED_ROLE_PATH
from agentiam.findings.policy.aws import (
    EffectivePermissions,
    ParsedPolicy,
    PolicyParseError,
    PolicySource,
    effective_permissions,
    parse_policy,
)
from agentiam.findings.policy.azure import (
    AzurePrincipal,
    GrantRow,
    IdentityRow,
    RolePermissions,
    build_principals,
    evaluate_roles,
    paused_garbage_collection,
)
from agentiam.findings.policy.azure_catalogue import OperationCatalogue, default_operation_catalogue
from agentiam.findings.policy.catalogue import ActionCatalogue, default_catalogue
from agentiam.findings.policy.kubernetes import RbacView, rbac_view
from agentiam.inventory import views
from agentiam.inventory.store import Store


@dataclass(frozen=True)
class PolicyProblem:
    """A document that could not be evaluated, or evaluated with warnings, as held by one principal."""

    source: PolicySource
    problem: str
    fatal: bool  # the document was skipped, not just partly matched


@dataclass
class AwsPrincipal:
    uid: str
    name: str
    kind: str
    is_agent: bool
    permissions: EffectivePermissions
    has_boundary: bool
    problems: list[PolicyProblem] = field(default_factory=list)
    # Facts derived from the permissions that several rules ask for (is it an administrator?): computed once.
    derived: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class AnalysisContext:
    store: Store
    scan_id: int
    settings: Settings
    # Views that several rules of a module derive from the inventory (every role's trustees): built once, by key.
    derived: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def _tables(self) -> dict[str, pd.DataFrame]:
        with self.store.read() as conn:
            grants = views.grants(conn, self.scan_id)
            return {
                "identities": views.identities(conn, self.scan_id),
                "workloads": views.workloads(conn, self.scan_id),
                "bindings": views.bindings(conn, self.scan_id),
                "grants": grants,
                "runs": views.collector_runs(conn, self.scan_id),
                "trusts": views.trusts(conn, self.scan_id),
                "usage": views.usage(conn, self.scan_id),
                "credentials": views.credentials(conn, self.scan_id),
                "documents": views.policy_documents(conn, grants["policy_hash"]),  # type: ignore[dict-item]
            }

    def prepare(self) -> None:
        """Read the scan and derive what most rules share, before the rules are split between two processes: done
        once here, not once in each (and a forked process must not use the database connection)."""
        # Each is a cached property: reading it computes and keeps it.
        _ = self.subjects, self.as_of
        providers = set(self.identities["provider"])
        if "aws" in providers:
            _ = self.aws_principals
        if "azure" in providers:
            _ = self.azure_principals
        if "kubernetes" in providers:
            _ = self.kubernetes_rbac

    @property
    def identities(self) -> pd.DataFrame:
        return self._tables["identities"]

    @property
    def workloads(self) -> pd.DataFrame:
        return self._tables["workloads"]

    @property
    def bindings(self) -> pd.DataFrame:
        return self._tables["bindings"]

    @property
    def collector_runs(self) -> pd.DataFrame:
        return self._tables["runs"]

    @property
    def trusts(self) -> pd.DataFrame:
        """Who can become each identity: one row per (identity, trust statement, principal)."""
        return self._tables["trusts"]

    @property
    def usage(self) -> pd.DataFrame:
        return self._tables["usage"]

    @property
    def credentials(self) -> pd.DataFrame:
        return self._tables["credentials"]

    @cached_property
    def as_of(self) -> datetime:
        """When the scan started: the moment the inventory describes, and the clock for every age rule."""
        with self.store.read() as conn:
            scan = views.scan(conn, self.scan_id)
        return (views.as_utc(scan["started_at"]) if scan else None) or datetime.now(UTC)

    @cached_property
    def catalogue(self) -> ActionCatalogue:
        return default_catalogue()

    @cached_property
    def subjects(self) -> dict[str, dict[str, Any]]:
        """Every identity and workload by uid, with the collector run that produced it, for finding subjects."""
        runs = {row.id: (row.collector, row.scope) for row in self.collector_runs.itertuples()}
        subjects: dict[str, dict[str, Any]] = {}
        for frame, kind_column in ((self.identities, "identity_kind"), (self.workloads, "workload_kind")):
            for row in frame.itertuples():
                collector, scope = runs.get(row.collector_run_id, ("", row.scope))
                subjects[row.uid] = {
                    "uid": row.uid,
                    "name": row.name,
                    "kind": getattr(row, kind_column),
                    "provider": row.provider,
                    "scope": scope,
                    "collector": collector,
                    "is_agent": bool(row.is_agent),
                    "agent_evidence": row.agent_evidence,
                }
        return subjects

    @cached_property
    def kubernetes_rbac(self) -> RbacView:
        """Every Kubernetes binding x subject with its role's rules, each distinct role document parsed once."""
        return rbac_view(self._tables["grants"], self._tables["documents"])

    def _parse(self, digest: str) -> ParsedPolicy:
        return parse_policy(self._tables["documents"][digest], key=digest, catalogue=self.catalogue)

    @cached_property
    def aws_principals(self) -> list[AwsPrincipal]:
        """Every AWS role and user with its effective permissions over all of its policies.

        Service-linked roles are left out: AWS owns their policies and the account cannot change them.
        """
        by_identity: dict[str, list[Any]] = defaultdict(list)
        grants = self._tables["grants"]
        # Other providers' grants (50,000 Azure role assignments) would cost seconds of per-row pandas access here.
        for grant in grants[grants["identity_uid"].str.startswith("aws:")].itertuples():
            by_identity[grant.identity_uid].append(grant)
        principals = []
        aws = self.identities[self.identities["provider"] == "aws"]
        for row in aws.itertuples():
            if (row.path or "").startswith(SERVICE_LINKED_ROLE_PATH):
                continue
            policies: list[tuple[PolicySource, ParsedPolicy]] = []
            boundary: list[ParsedPolicy] = []
            problems: list[PolicyProblem] = []
            for grant in by_identity.get(row.uid, []):
                source = PolicySource(grant.policy_ref, grant.policy_name, grant.policy_source, grant.via)
                try:
                    parsed = self._parse(grant.policy_hash)
                except PolicyParseError as exc:
                    problems.append(PolicyProblem(source, str(exc), fatal=True))
                    continue
                problems.extend(PolicyProblem(source, w, fatal=False) for w in parsed.warnings)
                if grant.grant_kind == "boundary":
                    boundary.append(parsed)
                else:
                    policies.append((source, parsed))
            permissions = effective_permissions(policies, boundary, catalogue=self.catalogue)
            principals.append(
                AwsPrincipal(
                    row.uid,
                    row.name,
                    row.identity_kind,
                    bool(row.is_agent),
                    permissions,
                    has_boundary=bool(boundary),
                    problems=problems,
                )
            )
        return principals

    @cached_property
    def azure_catalogue(self) -> OperationCatalogue:
        return default_operation_catalogue()

    @cached_property
    def azure_roles(self) -> dict[str, RolePermissions]:
        """Every Azure role definition and deny assignment held in the scan, evaluated once each (by hash)."""
        grants = self._tables["grants"]
        azure = set(grants["policy_hash"][grants["grant_kind"].isin(["role_assignment", "deny_assignment"])])
        documents = self._tables["documents"]
        with paused_garbage_collection():
            return evaluate_roles({h: documents[h] for h in azure if h in documents}, self.azure_catalogue)

    @cached_property
    def azure_principals(self) -> list[AzurePrincipal]:
        """Every Azure identity with its role assignments, deny assignments applied."""
        identities = self.identities[self.identities["provider"] == "azure"]
        grants = self._tables["grants"]
        grants = grants[grants["grant_kind"].isin(["role_assignment", "deny_assignment"])]
        # Whole columns as lists: per-row access to pandas costs ~20x more at 50,000 assignments.
        with paused_garbage_collection():
            identity_rows = [
                IdentityRow(*r) for r in zip(*(identities[c].tolist() for c in IdentityRow._fields), strict=True)
            ]
            grant_rows = [GrantRow(*r) for r in zip(*(grants[c].tolist() for c in GrantRow._fields), strict=True)]
        return build_principals(identity_rows, grant_rows, self.azure_roles)
