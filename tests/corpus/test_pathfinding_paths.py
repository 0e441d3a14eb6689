"""The pathfinding.cloud catalogue (../shared/corpora/aws/pathfinding-paths) against AWS-ESC-001's data table.

- Every path id of the catalogue is encoded, or set aside with a reason, and each encoded path has the catalogue's
  name, category and required permissions. The project's own paths are extra, with ids no catalogue id can take.
- For every encoded path, a minimal principal (generated from the table, not from the YAML) is flagged with that
  path id, and so is one whose `iam:PassRole` is limited to the services the path passes the role to. Its near
  misses are not: the same grants without one required action, with one action granted only on a resource that can
  never be the path's target, with `iam:PassRole` only to another service, or all of them under a condition that can
  never hold.

All generated principals live in one account and go through the real pipeline in a single scan.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentiam.config import load_settings
from agentiam.findings.data.aws_escalation import (
    CATALOGUE_PATHS,
    ESCALATION_PATHS,
    NOT_APPLICABLE,
    OWN_PATH_PREFIX,
    OWN_PATHS,
    PATHS_BY_ID,
    USERS,
    EscalationPath,
    Target,
)
from agentiam.inventory.store import Store
from agentiam.pipeline import ScanRequest, analyze_scan, collect
from agentiam.plugins import Plugins
from agentiam.reports.loader import load_report_data
from tests.conftest import ACCOUNT, ADMIN, authorization_details, managed_policy, role

pytestmark = pytest.mark.corpus

IMPOSSIBLE = {"Bool": {"aws:SecureTransport": "maybe"}}
OTHER_SERVICE = "states.amazonaws.com"  # no path passes a role to Step Functions


def _catalogue(corpora: Path) -> dict[str, dict[str, Any]]:
    folder = corpora / "aws" / "pathfinding-paths"
    paths = [yaml.safe_load(file.read_text()) for file in sorted(folder.glob("*/*.yaml"))]
    return {path["id"]: path for path in paths}


def test_every_catalogue_path_is_encoded_or_set_aside_with_a_reason(corpora: Path) -> None:
    catalogue = set(_catalogue(corpora))
    assert len(catalogue) == 65
    assert not set(PATHS_BY_ID) & set(NOT_APPLICABLE)
    assert catalogue == {path.id for path in CATALOGUE_PATHS} | set(NOT_APPLICABLE)
    assert all(reason.strip() for reason in NOT_APPLICABLE.values())


def test_the_projects_own_paths_are_extra_with_ids_of_their_own(corpora: Path) -> None:
    catalogue = set(_catalogue(corpora))
    assert not any(path_id.startswith(OWN_PATH_PREFIX) for path_id in catalogue)
    assert set(PATHS_BY_ID) == {path.id for path in CATALOGUE_PATHS} | {path.id for path in OWN_PATHS}
    for path in OWN_PATHS:
        assert path.id.startswith(OWN_PATH_PREFIX)
        assert path.reference.startswith("https://") and "pathfinding.cloud" not in path.reference


def test_encoded_paths_have_the_catalogues_name_category_and_required_permissions(corpora: Path) -> None:
    catalogue = _catalogue(corpora)
    for path in CATALOGUE_PATHS:
        source = catalogue[path.id]
        assert (path.name, path.category) == (source["name"], source["category"]), path.id
        assert list(path.actions) == [p["permission"] for p in source["permissions"]["required"]], path.id
        assert path.reference == f"https://pathfinding.cloud/paths/{path.id}"


# ----------------------------------------------------------------------------------------------------------------
# Minimal principals and near misses, generated from the data table
# ----------------------------------------------------------------------------------------------------------------


Allow = tuple[str, str, dict[str, Any] | None]  # action, resource, condition


@dataclass
class Case:
    """One principal of the generated account, and whether AWS-ESC-001 must list `path` for it."""

    name: str
    path: EscalationPath
    flagged: bool
    what: str
    grants: list[Allow]
    env: str = ""  # the minimal case whose target roles and group this one uses

    @property
    def is_user(self) -> bool:
        return self.path.principals == USERS

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{ACCOUNT}:{'user' if self.is_user else 'role'}/{self.name}"


def _hit(target: Target, case: str, arn: str) -> str:
    """A resource through which the requirement reaches its target."""
    return {
        Target.ANY: "*",
        Target.ROLE: f"arn:aws:iam::{ACCOUNT}:role/service-roles/*",  # a role path still passes a role
        Target.USER: f"arn:aws:iam::{ACCOUNT}:user/*",
        Target.GROUP: f"arn:aws:iam::{ACCOUNT}:group/*",
        Target.CUSTOMER_POLICY: f"arn:aws:iam::{ACCOUNT}:policy/*",
        Target.SELF: arn,
        Target.OWN_GROUP: f"arn:aws:iam::{ACCOUNT}:group/{case}-g",
        Target.ASSUMABLE_ROLE: f"arn:aws:iam::{ACCOUNT}:role/{case}-t",
        Target.ASSUMABLE_ROLE_POLICY: f"arn:aws:iam::{ACCOUNT}:policy/{case}-tp",
        Target.OTHER_ROLE: f"arn:aws:iam::{ACCOUNT}:role/{case}-t",
        Target.OTHER_ROLE_POLICY: f"arn:aws:iam::{ACCOUNT}:policy/{case}-tp",
    }[target]


def _miss(target: Target, case: str, arn: str) -> str | None:
    """A resource that can never be the requirement's target; None when any resource will do."""
    return {
        Target.ANY: None,
        Target.ROLE: f"arn:aws:iam::{ACCOUNT}:user/*",
        Target.USER: arn,  # one's own keys and password are no escalation
        Target.GROUP: f"arn:aws:iam::{ACCOUNT}:role/*",
        Target.CUSTOMER_POLICY: "arn:aws:iam::aws:policy/*",
        Target.SELF: f"{arn}-someone-else",
        Target.OWN_GROUP: f"arn:aws:iam::{ACCOUNT}:group/{case}-not-a-member",
        Target.ASSUMABLE_ROLE: f"arn:aws:iam::{ACCOUNT}:role/{case}-u",  # its trust admits another role only
        Target.ASSUMABLE_ROLE_POLICY: f"arn:aws:iam::{ACCOUNT}:policy/{case}-up",
        Target.OTHER_ROLE: arn,  # the principal itself is not another role
        Target.OTHER_ROLE_POLICY: f"arn:aws:iam::{ACCOUNT}:policy/{case}-unattached",
    }[target]


def _replaced(grants: list[Allow], i: int, allow: Allow) -> list[Allow]:
    return [*grants[:i], allow, *grants[i + 1 :]]


def _passed_to(service: str) -> dict[str, Any]:
    return {"StringEquals": {"iam:PassedToService": service}}


def _cases() -> list[Case]:
    cases = []
    for path in ESCALATION_PATHS:
        hit = Case(f"{path.id}-hit", path, True, "minimal grant", [])
        hit.grants = [(r.action, _hit(r.target, hit.name, hit.arn), None) for r in path.requires]
        never = [(action, resource, IMPOSSIBLE) for action, resource, _ in hit.grants]
        cases += [hit, Case(f"{path.id}-never", path, False, "every grant under a condition that never holds", never)]
        for i, requirement in enumerate(path.requires):
            action, resource, _ = hit.grants[i]
            if len(path.requires) > 1:
                others = hit.grants[:i] + hit.grants[i + 1 :]
                cases.append(Case(f"{path.id}-drop{i}", path, False, f"without {action}", others))
            miss = Case(f"{path.id}-miss{i}", path, False, "", [])
            elsewhere = _miss(requirement.target, hit.name, miss.arn)
            if elsewhere is not None:
                miss.what = f"{action} only on {elsewhere}"
                miss.grants = _replaced(hit.grants, i, (action, elsewhere, None))
                cases.append(miss)
            # iam:PassRole limited to the services the path passes the role to still makes the path; to others not.
            for n, service in enumerate(requirement.passed_to):
                grants = _replaced(hit.grants, i, (action, resource, _passed_to(service)))
                cases.append(Case(f"{path.id}-to{i}-{n}", path, True, f"{action} to {service}", grants))
            if requirement.passed_to:
                grants = _replaced(hit.grants, i, (action, resource, _passed_to(OTHER_SERVICE)))
                cases.append(Case(f"{path.id}-elsewhere{i}", path, False, f"{action} to {OTHER_SERVICE}", grants))
    for case in cases:
        case.env = f"{case.path.id}-hit"
    return cases


CASES = _cases()


def _document(case: Case) -> dict[str, Any]:
    statements = []
    for action, resource, condition in case.grants:
        statement: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
        if condition:
            statement["Condition"] = condition
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def _trust(principals: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": principals}, "Action": "sts:AssumeRole"}],
    }


def _estate() -> dict[str, Any]:
    """One account: every case's principal and, per path, the targets of its minimal case: a role `<case>-t` that
    trusts the account (an administrator, through the customer-managed policy `<case>-tp`), a role `<case>-u` that
    trusts only `<case>-t` (policy `<case>-up`), and a group `<case>-g` that the path's users belong to. Trusting the
    account root, not the principals' ARNs, leaves who may assume `<case>-t` to their identity policies: a trust that
    names a principal of its own account lets it assume the role without one."""
    roles, users, groups, policies = [], [], [], []
    for case in CASES:
        if case.is_user:
            users.append(
                {
                    "Path": "/",
                    "UserName": case.name,
                    "UserId": f"AIDA{case.name.upper()[:16]}",
                    "Arn": case.arn,
                    "CreateDate": "2025-01-01T00:00:00+00:00",
                    "UserPolicyList": [{"PolicyName": "grants", "PolicyDocument": _document(case)}],
                    "GroupList": [f"{case.env}-g"],
                    "AttachedManagedPolicies": [],
                    "Tags": [],
                }
            )
        else:
            roles.append(role(case.name, [_document(case)]))
    for case in CASES:
        if case.flagged:
            target = role(f"{case.name}-t", [])
            target["AssumeRolePolicyDocument"] = _trust([f"arn:aws:iam::{ACCOUNT}:root"])
            unassumable = role(f"{case.name}-u", [])
            unassumable["AssumeRolePolicyDocument"] = _trust([f"arn:aws:iam::{ACCOUNT}:role/{case.name}-t"])
            for entry, policy_name in ((target, f"{case.name}-tp"), (unassumable, f"{case.name}-up")):
                policy = managed_policy(policy_name, ADMIN)
                policies.append(policy)
                entry["AttachedManagedPolicies"] = [{"PolicyName": policy_name, "PolicyArn": policy["Arn"]}]
                roles.append(entry)
            groups.append(
                {
                    "Path": "/",
                    "GroupName": f"{case.name}-g",
                    "GroupId": f"AGPA{case.name.upper()[:16]}",
                    "Arn": f"arn:aws:iam::{ACCOUNT}:group/{case.name}-g",
                    "CreateDate": "2025-01-01T00:00:00+00:00",
                    "GroupPolicyList": [],
                    "AttachedManagedPolicies": [],
                }
            )
    return authorization_details(roles, policies, users=users, groups=groups)


@pytest.fixture(scope="module")
def flagged_paths(tmp_path_factory: pytest.TempPathFactory, plugins: Plugins) -> dict[str, set[str]]:
    """Path ids AWS-ESC-001 lists (directly or through a chain) for each principal of the generated account."""
    folder = tmp_path_factory.mktemp("pathfinding")
    export = folder / "authorization-details.json"
    export.write_text(json.dumps(_estate()))
    settings = load_settings(None, {"db": str(folder / "inventory.db")}, environ={})
    store = Store.open(settings.db)
    outcome = collect(store, settings, ScanRequest(offline=[export]), plugins)
    assert outcome.status == "complete", outcome.failures
    analyze_scan(store, outcome.scan_id, settings, plugins)
    flagged: dict[str, set[str]] = defaultdict(set)
    for finding in load_report_data(store, outcome.scan_id).findings:
        if finding.rule_id == "AWS-ESC-001":
            flagged[finding.subject_name] |= {path["id"] for path in finding.evidence["paths"]}
    return flagged


@pytest.mark.parametrize("case", [c for c in CASES if c.flagged], ids=lambda c: c.name)
def test_minimal_policy_is_flagged_with_its_path(corpora: Path, case: Case, flagged_paths: dict[str, set[str]]) -> None:
    assert case.path.id in flagged_paths[case.name], f"{case.what}: {case.grants}"


@pytest.mark.parametrize("case", [c for c in CASES if not c.flagged], ids=lambda c: c.name)
def test_near_miss_is_not_flagged_with_the_path(corpora: Path, case: Case, flagged_paths: dict[str, set[str]]) -> None:
    assert case.path.id not in flagged_paths[case.name], f"{case.what}: {case.grants}"
