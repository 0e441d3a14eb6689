"""Kubernetes RBAC matching, as the API server's authorizer does it, and label selectors as kubectl reads them."""

from __future__ import annotations

import pytest

from agentiam.collectors.kubernetes.selectors import SelectorError, label_selector_matcher, parse_selector
from agentiam.findings.data.k8s_permissions import BY_KEY
from agentiam.findings.policy.kubernetes import RbacRule, RbacRuleError, RoleGrant, Subject, can_read_secret, capability


def _rule(groups: list[str], resources: list[str], verbs: list[str], names: list[str] | None = None) -> RbacRule:
    return RbacRule.parse({"apiGroups": groups, "resources": resources, "verbs": verbs, "resourceNames": names or []})


@pytest.mark.parametrize(
    ("rule", "request_", "allowed"),
    [
        (_rule([""], ["pods"], ["get"]), ("get", "", "pods/exec"), False),  # a resource is not its subresources
        (_rule([""], ["*"], ["get"]), ("get", "", "pods/exec"), True),  # but * is every subresource too
        (_rule(["*"], ["*/scale"], ["update"]), ("update", "apps", "deployments/scale"), True),
        (_rule(["*"], ["*/scale"], ["update"]), ("update", "apps", "deployments"), False),
        (_rule(["apps"], ["deployments"], ["*"]), ("create", "apps", "deployments"), True),
        (_rule(["apps"], ["deployments"], ["*"]), ("create", "", "deployments"), False),
        (_rule([""], ["secrets"], ["list"]), ("get", "", "secrets"), False),
    ],
)
def test_a_rule_allows_a_request_only_when_verb_group_and_resource_all_match(
    rule: RbacRule, request_: tuple[str, str, str], allowed: bool
) -> None:
    assert rule.allows(*request_) is allowed


def test_a_rule_without_verbs_or_with_a_non_list_is_refused() -> None:
    with pytest.raises(RbacRuleError):
        RbacRule.parse({"apiGroups": [""], "resources": ["pods"]})
    with pytest.raises(RbacRuleError):
        RbacRule.parse({"apiGroups": "", "resources": ["pods"], "verbs": ["get"]})


def _grant(scope: str, *rules: RbacRule) -> RoleGrant:
    return RoleGrant("u", Subject("User", "u"), "b", "r", scope, rules)


def test_a_rolebinding_never_grants_a_cluster_scoped_resource() -> None:
    proxy = _rule([""], ["nodes/proxy"], ["get"])
    assert capability(BY_KEY["node-proxy"], [_grant("namespace:x", proxy)], "namespace:x") is None
    assert capability(BY_KEY["node-proxy"], [_grant("cluster", proxy)], "cluster") is not None


def test_csr_approval_needs_both_the_approval_update_and_a_signer() -> None:
    approval = _rule(["certificates.k8s.io"], ["certificatesigningrequests/approval"], ["update"])
    signer = _rule(["certificates.k8s.io"], ["signers"], ["approve"], ["kubernetes.io/kube-apiserver-client"])
    assert capability(BY_KEY["approve-csr"], [_grant("cluster", approval)], "cluster") is None
    match = capability(BY_KEY["approve-csr"], [_grant("cluster", approval), _grant("cluster", signer)], "cluster")
    assert match is not None and not match.name_restricted  # the approval rule names nothing


def test_reading_a_secret_respects_namespace_and_resource_names() -> None:
    named = _grant("namespace:a", _rule([""], ["secrets"], ["get"], ["db"]))
    assert can_read_secret(named, "a", "db")
    assert not can_read_secret(named, "a", "other")
    assert not can_read_secret(named, "b", "db")
    assert can_read_secret(_grant("cluster", _rule([""], ["secrets"], ["watch"])), "b", "anything")


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ("app=ai-agent", {"app": "ai-agent"}, True),
        ("app==ai-agent", {"app": "other"}, False),
        ("app!=web", {}, True),  # != matches a missing key, as in Kubernetes
        ("tier in (llm, rag)", {"tier": "rag"}, True),
        ("tier notin (llm,rag)", {"tier": "rag"}, False),
        ("tier notin (llm,rag)", {}, True),
        ("agent", {"agent": ""}, True),
        ("!agent", {"agent": "x"}, False),
        ("app=ai-agent,!legacy,tier in (a,b)", {"app": "ai-agent", "tier": "b"}, True),
        ("", {"anything": "x"}, True),
    ],
)
def test_label_selectors_follow_kubectl_syntax(selector: str, labels: dict[str, str], matches: bool) -> None:
    assert parse_selector(selector).matches(labels) is matches


def test_an_unreadable_selector_is_refused_with_the_term() -> None:
    with pytest.raises(SelectorError, match="'tier in'"):
        parse_selector("team=x,tier in")


def test_selector_objects_use_match_labels_and_expressions() -> None:
    matcher = label_selector_matcher(
        {"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "DoesNotExist"}]}
    )
    assert matcher({"a": "1"}) and not matcher({"a": "1", "b": "2"})
    assert not label_selector_matcher({"matchExpressions": [{"key": "b", "operator": "Weird"}]})({})
