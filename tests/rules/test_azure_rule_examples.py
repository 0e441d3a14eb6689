"""Every Azure rule has passing and failing examples (tests/rules/examples/AZURE-*/{pass,fail}/*.json).

Each example describes a small Azure estate; the test writes it as the `az` exports a user would give
(`az role definition list`, `az role assignment list --all`, `az identity list`, `az identity federated-credential
list`, `az resource show`, and Graph's servicePrincipalSignInActivities) and runs the real pipeline on them. Keys:

- `description` (required);
- `identities`: user-assigned identities `[{"name", "tags", "created_days_ago", "federated_credentials": [{"name",
  "issuer", "subject"}]}]`;
- `assignments`: `[{"principal", "role", "scope", "condition", "subscription"}]`. `principal` names an identity,
  a resource (its system-assigned identity) or otherwise a service principal; `role` a built-in role from
  tests/rules/azure_builtin_roles.json (real definitions) or a `custom_roles` entry; `scope` is `root`,
  `management_group`, `subscription` (default), `resource_group` or a path below the resource group;
  `subscription` is `prod` (default) or `dev`, classed production and development in the settings;
- `custom_roles`: `[{"name", "actions", "not_actions", "data_actions"}]`;
- `deny_assignments`: `[{"principals", "actions", "scope", "excluded"}]` (ARM deny assignments);
- `resources`: `[{"name", "type", "kind", "tags", "identities", "properties"}]`; `identities` lists identity names
  and `system` for a system-assigned identity; a name with `/` is a child resource (`account/projects/project`);
- `sign_ins`: `{identity name: days since last sign-in, or null for not listed}`: the report covers every
  identity of the scan;
- `settings`: overrides of the `azure` settings section;
- `subject`: the identity or workload the expectation is about (default `example-identity`);
- `expect` (fail examples): `severity`, `message` (a substring), `conditional`.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agentiam.config import AzureSettings, Settings
from tests.conftest import Scanner

EXAMPLES = Path(__file__).parent / "examples"
# Real built-in role definitions, from easimon/azure-builtin-roles (MIT), as `az role definition list` prints them.
BUILTIN = {d["roleName"]: d for d in json.loads((Path(__file__).parent / "azure_builtin_roles.json").read_text())}
SUBSCRIPTIONS = {"prod": "11111111-1111-4111-8111-111111111111", "dev": "22222222-2222-4222-8222-222222222222"}
TENANT = "33333333-3333-4333-8333-333333333333"


def _examples(outcome: str) -> list[Any]:
    return [
        pytest.param(path.parent.parent.name, json.loads(path.read_text()), id=f"{path.parent.parent.name}-{path.stem}")
        for path in sorted(EXAMPLES.glob(f"AZURE-*/{outcome}/*.json"))
    ]


def _guid(*names: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(names)))


def _group(subscription: str, group: str) -> str:
    return f"/subscriptions/{SUBSCRIPTIONS[subscription]}/resourceGroups/{group}"


def _identity_id(name: str) -> str:
    return f"{_group('prod', 'rg-identities')}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"


def _resource_id(spec: dict[str, Any]) -> str:
    provider, *types = spec["type"].split("/")
    path = "/".join(f"{t}/{n}" for t, n in zip(types, spec["name"].split("/"), strict=True))
    return f"{_group('prod', 'rg-apps')}/providers/{provider}/{path}"


def _scope(spec: dict[str, Any]) -> str:
    scope = spec.get("scope", "subscription")
    subscription = f"/subscriptions/{SUBSCRIPTIONS[spec.get('subscription', 'prod')]}"
    named = {
        "root": "/",
        "management_group": "/providers/Microsoft.Management/managementGroups/example",
        "subscription": subscription,
        "resource_group": f"{subscription}/resourceGroups/rg-apps",
    }
    return named.get(scope, f"{subscription}/resourceGroups/rg-apps/{scope.lstrip('/')}")


def _custom_role(spec: dict[str, Any]) -> dict[str, Any]:
    guid = _guid("role", spec["name"])
    return {
        "assignableScopes": [f"/subscriptions/{SUBSCRIPTIONS['prod']}"],
        "id": f"/subscriptions/{SUBSCRIPTIONS['prod']}/providers/Microsoft.Authorization/roleDefinitions/{guid}",
        "name": guid,
        "permissions": [
            {
                "actions": spec.get("actions", []),
                "notActions": spec.get("not_actions", []),
                "dataActions": spec.get("data_actions", []),
                "notDataActions": [],
            }
        ],
        "roleName": spec["name"],
        "roleType": "CustomRole",
        "type": "Microsoft.Authorization/roleDefinitions",
    }


def _principal_ids(example: dict[str, Any]) -> dict[str, str]:
    names = [i["name"] for i in example.get("identities", [])] + [r["name"] for r in example.get("resources", [])]
    names += [a["principal"] for a in example.get("assignments", [])]
    return {name: _guid("principal", name) for name in names}


def _exports(example: dict[str, Any]) -> list[Any]:
    principals = _principal_ids(example)
    roles = {**BUILTIN, **{r["name"]: _custom_role(r) for r in example.get("custom_roles", [])}}
    identities = [
        {
            "id": _identity_id(spec["name"]),
            "name": spec["name"],
            "principalId": principals[spec["name"]],
            "clientId": _guid("client", spec["name"]),
            "tenantId": TENANT,
            "tags": spec.get("tags", {}),
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
            **_system_data(spec),
        }
        for spec in example.get("identities", [])
    ]
    credentials = [
        {
            "id": f"{_identity_id(spec['name'])}/federatedIdentityCredentials/{credential['name']}",
            "name": credential["name"],
            "issuer": credential["issuer"],
            "subject": credential["subject"],
            "audiences": ["api://AzureADTokenExchange"],
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
        }
        for spec in example.get("identities", [])
        for credential in spec.get("federated_credentials", [])
    ]
    resources = [_resource(spec, principals) for spec in example.get("resources", [])]
    assignments = [_assignment(spec, principals, roles) for spec in example.get("assignments", [])]
    exports: list[Any] = [list(roles.values()), assignments, identities, credentials, resources]
    if example.get("deny_assignments"):
        exports.append({"value": [_deny(spec, principals) for spec in example["deny_assignments"]]})
    if "sign_ins" in example:
        exports.append({"value": _sign_ins(example["sign_ins"])})
    return exports


def _system_data(spec: dict[str, Any]) -> dict[str, Any]:
    if "created_days_ago" not in spec:
        return {}
    return {"systemData": {"createdAt": (datetime.now(UTC) - timedelta(days=spec["created_days_ago"])).isoformat()}}


def _resource(spec: dict[str, Any], principals: dict[str, str]) -> dict[str, Any]:
    attached = [i for i in spec.get("identities", []) if i != "system"]
    identity: dict[str, Any] = {"type": "None"}
    if spec.get("identities"):
        system = "system" in spec["identities"]
        identity = {
            "type": ", ".join(t for t, on in (("SystemAssigned", system), ("UserAssigned", attached)) if on),
            "principalId": principals[spec["name"]] if system else None,
            "tenantId": TENANT,
        }
        if attached:
            identity["userAssignedIdentities"] = {
                _identity_id(n): {"principalId": principals[n], "clientId": _guid("client", n)} for n in attached
            }
    return {
        "id": _resource_id(spec),
        "name": spec["name"],
        "type": spec["type"],
        "kind": spec.get("kind"),
        "location": "westeurope",
        "tags": spec.get("tags", {}),
        "identity": identity if spec.get("identities") else None,
        "properties": spec.get("properties", {}),
    }


def _assignment(spec: dict[str, Any], principals: dict[str, str], roles: dict[str, Any]) -> dict[str, Any]:
    scope = _scope(spec)
    guid = _guid("assignment", spec["principal"], spec["role"], scope)
    return {
        "id": f"{scope.rstrip('/')}/providers/Microsoft.Authorization/roleAssignments/{guid}",
        "name": guid,
        "principalId": principals[spec["principal"]],
        "principalName": spec["principal"],
        "principalType": spec.get("principal_type", "ServicePrincipal"),
        "roleDefinitionId": roles[spec["role"]]["id"],
        "roleDefinitionName": spec["role"],
        "scope": scope,
        "condition": spec.get("condition"),
        "conditionVersion": "2.0" if spec.get("condition") else None,
        "type": "Microsoft.Authorization/roleAssignments",
    }


def _deny(spec: dict[str, Any], principals: dict[str, str]) -> dict[str, Any]:
    scope = _scope(spec)
    guid = _guid("deny", scope, *spec["principals"])
    everyone = "00000000-0000-0000-0000-000000000000"
    return {
        "id": f"{scope.rstrip('/')}/providers/Microsoft.Authorization/denyAssignments/{guid}",
        "name": guid,
        "type": "Microsoft.Authorization/denyAssignments",
        "properties": {
            "denyAssignmentName": f"deny-{guid[:8]}",
            "permissions": [{"actions": spec["actions"], "notActions": [], "dataActions": [], "notDataActions": []}],
            "scope": scope,
            "principals": [
                {"id": everyone if p == "everyone" else principals[p], "type": "ServicePrincipal"}
                for p in spec["principals"]
            ],
            "excludePrincipals": [{"id": principals[p], "type": "ServicePrincipal"} for p in spec.get("excluded", [])],
            "doNotApplyToChildScopes": False,
        },
    }


def _sign_ins(days_by_name: dict[str, int | None]) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "appId": _guid("client", name),
            "lastSignInActivity": {"lastSignInDateTime": (now - timedelta(days=days)).isoformat()},
        }
        for name, days in days_by_name.items()
        if days is not None
    ]


def _scan(example: dict[str, Any], scan_document: Scanner, settings: Settings) -> Any:
    overrides = {"environments": {SUBSCRIPTIONS["prod"]: "production", SUBSCRIPTIONS["dev"]: "development"}}
    settings.azure = AzureSettings(**{**overrides, **example.get("settings", {})})
    first, *more = _exports(example)
    return scan_document(first, *more)


def _hits(rule_id: str, example: dict[str, Any], scan_document: Scanner, settings: Settings) -> list[Any]:
    """The rule's findings on the example's subject, from a scan that imported every export cleanly."""
    report = _scan(example, scan_document, settings)
    assert report.scan.status == "complete", report.issues
    subject = example.get("subject", "example-identity")
    return [f for f in report.findings if f.rule_id == rule_id and f.subject_name == subject]


def test_every_azure_rule_has_passing_and_failing_examples(plugins: Any) -> None:
    azure = [rule_id for rule_id in plugins.rules if rule_id.startswith("AZURE-")]
    assert azure
    for rule_id in azure:
        assert list((EXAMPLES / rule_id / "fail").glob("*.json")), f"{rule_id} has no failing example"
        assert list((EXAMPLES / rule_id / "pass").glob("*.json")), f"{rule_id} has no passing example"


@pytest.mark.parametrize(("rule_id", "example"), _examples("fail"))
def test_failing_example_is_reported(
    rule_id: str, example: dict[str, Any], scan_document: Scanner, settings: Settings
) -> None:
    hits = _hits(rule_id, example, scan_document, settings)
    assert hits, f"{example['description']}: expected {rule_id}"
    expect = example.get("expect", {})
    if "severity" in expect:
        assert hits[0].severity == expect["severity"], hits[0].evidence["severity_steps"]
    if "message" in expect:
        assert expect["message"] in hits[0].message
    if expect.get("conditional"):
        assert "conditions" in " ".join(hits[0].evidence["severity_steps"])


@pytest.mark.parametrize(("rule_id", "example"), _examples("pass"))
def test_passing_example_is_not_reported(
    rule_id: str, example: dict[str, Any], scan_document: Scanner, settings: Settings
) -> None:
    hits = _hits(rule_id, example, scan_document, settings)
    assert not hits, f"{example['description']}: unexpected {[h.message for h in hits]}"
