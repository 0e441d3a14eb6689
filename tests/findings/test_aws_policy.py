"""IAM policy semantics: parsing, explicit deny, NotAction/NotResource, the boundary, and unknown actions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from agentiam.findings.policy.aws import (
    EffectivePermissions,
    PolicyParseError,
    PolicySource,
    effective_permissions,
    parse_policy,
    resource_matches,
)
from agentiam.findings.policy.catalogue import default_catalogue

CAT = default_catalogue()
ROLE = "arn:aws:iam::123456789012:role/agent"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "aws"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str | list[str], resource: str | list[str] = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def source(name: str, kind: str = "inline", via: str | None = None) -> PolicySource:
    return PolicySource(f"{ROLE}/inline/{name}", name, kind, via)


def perms(*documents: dict[str, Any], boundary: tuple[dict[str, Any], ...] = ()) -> EffectivePermissions:
    """Effective permissions of a principal holding each document as a separate inline policy."""
    return effective_permissions(
        [(source(f"p{i}"), parse_policy(d)) for i, d in enumerate(documents)],
        boundary=[parse_policy(b) for b in boundary],
    )


def bit(action: str) -> int:
    index = CAT.index(action)
    assert index is not None, action
    return 1 << index


MFA = {"Bool": {"aws:MultiFactorAuthPresent": "false"}}


# --- normalisation ---


def test_single_statement_object_equals_a_list_of_one() -> None:
    single = parse_policy({"Statement": allow("s3:GetObject")})
    listed = parse_policy(doc(allow("s3:GetObject")))
    assert single == listed
    assert len(single.statements) == 1


def test_action_and_resource_as_string_or_list() -> None:
    as_strings = parse_policy(doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))).statements[0]
    as_lists = parse_policy(doc(allow(["s3:GetObject"], ["arn:aws:s3:::b/*"]))).statements[0]
    assert as_strings == as_lists
    assert as_strings.resources == ("arn:aws:s3:::b/*",)
    two = parse_policy(doc(allow(["s3:GetObject", "s3:PutObject"]))).statements[0]
    assert two.actions == bit("s3:GetObject") | bit("s3:PutObject")


def test_statement_keeps_sid_index_and_lowercased_patterns() -> None:
    parsed = parse_policy(doc(allow("s3:GetObject"), allow("IAM:PassRole", Sid="Pass")))
    second = parsed.statements[1]
    assert (second.index, second.sid, second.action_patterns) == (1, "Pass", ("iam:passrole",))
    assert parsed.statements[0].sid is None


def test_action_matching_is_case_insensitive() -> None:
    p = perms(doc(allow("S3:getOBJECT")))
    assert p.allows("s3:GetObject")
    assert p.allows("S3:GETOBJECT")
    assert not p.allows("s3:PutObject")


# --- wildcards ---


def test_prefix_wildcard_grants_what_the_catalogue_expands() -> None:
    p = perms(doc(allow("s3:Get*")))
    assert p.allowed() == CAT.expand("s3:Get*")
    assert all(name.startswith("s3:Get") for name in CAT.names_of(p.allowed()))
    assert p.allows("s3:GetObject")
    assert not p.allows("s3:PutObject")


def test_star_grants_everything_including_actions_the_catalogue_does_not_know() -> None:
    p = perms(doc(allow("*")))
    assert p.allowed() == CAT.all_mask
    assert p.allows("iam:PassRole")
    assert p.allows("codestar:CreateProject")


def test_service_wildcard_stays_in_its_service() -> None:
    p = perms(doc(allow("s3:*")))
    assert p.allowed() == CAT.service_mask("s3")
    assert not p.allows("iam:PassRole")
    assert not p.allows("codestar:CreateProject")


def test_actions_combine_across_policies() -> None:
    p = perms(doc(allow("iam:PassRole")), doc(allow("lambda:CreateFunction")))
    assert p.allows("iam:PassRole")
    assert p.allows("lambda:CreateFunction")
    assert not p.allows("lambda:InvokeFunction")


# --- NotAction / NotResource ---


def test_not_action_allow_grants_everything_else() -> None:
    p = perms(doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}))
    assert p.allowed() == CAT.all_mask & ~CAT.service_mask("iam")
    assert p.allows("s3:GetObject")
    assert not p.allows("iam:PassRole")
    assert p.allows("codestar:CreateProject")  # not matched by iam:*, so granted literally


def test_not_action_with_an_unknown_pattern_excludes_it_literally() -> None:
    p = perms(doc({"Effect": "Allow", "NotAction": "codestar:*", "Resource": "*"}))
    assert p.allowed() == CAT.all_mask
    assert not p.allows("codestar:CreateProject")
    assert p.allows("iam:PassRole")


def test_matches_action_ignores_not_action_but_covers_action_inverts() -> None:
    statement = parse_policy(doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})).statements[0]
    assert statement.matches_action("iam:PassRole")
    assert not statement.covers_action("iam:PassRole")
    assert statement.covers_action("s3:GetObject")


def test_not_resource_allow_is_granted_but_not_on_all_resources() -> None:
    p = perms(doc({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}))
    assert p.allows("s3:GetObject")
    assert not p.allows("s3:GetObject", all_resources_only=True)
    [grant] = p.grants_for("s3:GetObject")
    assert grant.statement.not_resource
    assert not grant.all_resources
    assert perms(doc(allow("s3:GetObject"))).grants_for("s3:GetObject")[0].all_resources


def test_not_resource_star_applies_to_nothing() -> None:
    p = perms(doc({"Effect": "Allow", "Action": "*", "NotResource": "*"}))
    assert p.allowed() == 0
    assert p.grants == ()


def test_not_resource_deny_cancels_only_what_it_certainly_covers() -> None:
    keep_mine = {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::mine/*"}
    # An allow on another bucket is certainly outside "mine/*": denied.
    assert not perms(doc(allow("s3:GetObject", "arn:aws:s3:::other/*"), keep_mine)).allows("s3:GetObject")
    # An allow on "*" includes mine/*: not cancelled, but no longer on every resource.
    everywhere = perms(doc(allow("s3:GetObject"), keep_mine))
    assert everywhere.allows("s3:GetObject")
    assert not everywhere.allows("s3:GetObject", all_resources_only=True)
    # An allow inside mine/* is untouched, and the deny is not even recorded against it.
    inside = perms(doc(allow("s3:GetObject", "arn:aws:s3:::mine/x"), keep_mine))
    assert inside.allows("s3:GetObject")
    assert inside.grants_for("s3:GetObject")[0].maybe_denied_by == ()
    # An allow by NotResource may reach into mine/*: not certain, so not cancelled.
    not_x = {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::x/*"}
    assert perms(doc(not_x, keep_mine)).allows("s3:GetObject")


# --- explicit deny ---


def test_deny_in_the_same_policy_cancels() -> None:
    p = perms(doc(allow("iam:*"), deny("iam:PassRole")))
    assert not p.allows("iam:PassRole")
    assert p.allows("iam:AttachRolePolicy")
    assert p.grants_for("iam:PassRole") == []


def test_deny_in_another_policy_cancels_including_a_group_policy() -> None:
    p = effective_permissions(
        [
            (source("role-admin"), parse_policy(doc(allow("iam:*")))),
            (source("group-guard", "group_inline", via="agents"), parse_policy(doc(deny("iam:PassRole")))),
        ]
    )
    assert not p.allows("iam:PassRole")
    assert p.allows("iam:CreateRole")
    assert perms(doc(allow("iam:*")), doc(deny("s3:*"))).allows("iam:PassRole")


def test_partial_deny_removes_only_the_denied_actions() -> None:
    p = perms(doc(allow("s3:*"), deny("s3:DeleteBucket")))
    assert p.allowed() == CAT.service_mask("s3") & ~bit("s3:DeleteBucket")
    assert CAT.count(p.allowed()) == CAT.count(CAT.service_mask("s3")) - 1
    assert p.allows("s3:GetObject")
    assert not p.allows("s3:DeleteBucket")


def test_deny_not_action_denies_everything_else() -> None:
    p = perms(doc(allow("*"), {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}))
    assert p.allowed() == CAT.service_mask("s3")
    assert not p.allows("codestar:CreateProject")


def test_conditional_deny_does_not_cancel_but_is_recorded() -> None:
    p = perms(doc(allow("iam:PassRole")), doc(deny("iam:*", Condition=MFA)))
    assert p.allows("iam:PassRole")
    assert not p.allows("iam:PassRole", unconditional_only=True)
    [grant] = p.grants_for("iam:PassRole")
    assert grant.maybe_denied_by == (f"{ROLE}/inline/p1#0",)
    assert grant.maybe_denied & bit("iam:PassRole")
    assert not grant.conditional  # the allow itself has no condition


def test_conditional_deny_on_disjoint_resources_is_not_recorded() -> None:
    p = perms(doc(allow("s3:GetObject", "arn:aws:s3:::a/*"), deny("s3:*", "arn:aws:s3:::b/*", Condition=MFA)))
    assert p.grants_for("s3:GetObject")[0].maybe_denied_by == ()
    assert p.allows("s3:GetObject", unconditional_only=True)
    legacy = perms(
        doc(
            allow("codestar:*", "arn:aws:codestar:::a"),
            deny("codestar:*", "arn:aws:codestar:::b", Condition=MFA),
        )
    )
    assert legacy.allows("codestar:CreateProject", unconditional_only=True)


def test_conditional_not_resource_deny_may_hit_a_not_resource_allow() -> None:
    allow_most = {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::mine/a"}
    deny_others = {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::mine/*", "Condition": MFA}
    [grant] = perms(doc(allow_most, deny_others)).grants
    assert grant.maybe_denied_by == (f"{ROLE}/inline/p0#1",)


def test_deny_on_narrower_resources_does_not_cancel_an_allow_on_star() -> None:
    p = perms(doc(allow("s3:*"), deny("s3:DeleteBucket", "arn:aws:s3:::prod")))
    assert p.allows("s3:DeleteBucket")
    assert not p.allows("s3:DeleteBucket", all_resources_only=True)
    assert p.allows("s3:GetObject", all_resources_only=True)
    assert p.grants_for("s3:DeleteBucket")[0].maybe_denied_by == (f"{ROLE}/inline/p0#1",)


def test_deny_on_broader_resources_cancels_an_allow_on_narrower_ones() -> None:
    assert not perms(doc(allow("s3:DeleteBucket", "arn:aws:s3:::prod"), deny("s3:*", "arn:aws:s3:::*"))).allows(
        "s3:DeleteBucket"
    )
    assert not perms(doc(allow("s3:GetObject", "arn:aws:s3:::ab?"), deny("s3:*", "arn:aws:s3:::a*"))).allows(
        "s3:GetObject"
    )


def test_deny_question_mark_does_not_cover_an_allow_star() -> None:
    # "a?c" matches the text "a*c", but the allow's "*" also covers "abbc", which the deny does not.
    p = perms(doc(allow("s3:GetObject", "arn:aws:s3:::a*c"), deny("s3:*", "arn:aws:s3:::a?c")))
    assert p.allows("s3:GetObject")


def test_deny_with_a_policy_variable_cancels_only_an_identical_pattern() -> None:
    own = "arn:aws:s3:::home/${aws:username}/*"
    assert not perms(doc(allow("s3:GetObject", own), deny("s3:GetObject", own))).allows("s3:GetObject")
    assert perms(doc(allow("s3:GetObject", "arn:aws:s3:::home/*"), deny("s3:GetObject", own))).allows("s3:GetObject")


def test_deny_of_an_unknown_service_denies_it_literally_and_nothing_else() -> None:
    p = perms(doc(allow("*"), deny("codestar:*")))
    assert not p.allows("codestar:CreateProject")
    assert p.allowed() == CAT.all_mask
    conditional = perms(doc(allow("*"), deny("codestar:*", Condition=MFA)))
    assert conditional.allows("codestar:CreateProject")
    assert not conditional.allows("codestar:CreateProject", unconditional_only=True)


# --- permission boundary ---


def test_boundary_intersects() -> None:
    p = perms(doc(allow(["s3:*", "iam:PassRole"])), boundary=(doc(allow("s3:Get*")),))
    assert p.allowed() == CAT.expand("s3:Get*")
    assert not p.allows("iam:PassRole")
    assert p.grants_for("iam:PassRole") == []
    assert all(grant.limited_by_boundary for grant in p.grants)


def test_boundary_allowing_everything_changes_nothing() -> None:
    p = perms(doc(allow(["s3:*", "iam:PassRole"])), boundary=(doc(allow("*")),))
    assert p.allowed() == CAT.service_mask("s3") | bit("iam:PassRole")
    assert not any(grant.limited_by_boundary for grant in p.grants)


def test_boundary_deny_is_an_explicit_deny() -> None:
    p = perms(doc(allow("*")), boundary=(doc(allow("*"), deny("iam:*")),))
    assert not p.allows("iam:PassRole")
    assert p.allows("s3:GetObject")


def test_boundary_limits_unknown_actions_literally() -> None:
    assert not perms(doc(allow("*")), boundary=(doc(allow("s3:*")),)).allows("codestar:CreateProject")
    assert perms(doc(allow("*")), boundary=(doc(allow("codestar:*")),)).allows("codestar:CreateProject")


def test_conditional_boundary_keeps_the_grant_but_not_unconditionally() -> None:
    p = perms(doc(allow("iam:PassRole")), boundary=(doc(allow("*", Condition=MFA)),))
    assert p.allows("iam:PassRole")
    assert not p.allows("iam:PassRole", unconditional_only=True)
    assert p.grants[0].limited_by_boundary


def test_boundary_with_its_source_is_accepted() -> None:
    boundary_source = PolicySource("arn:aws:iam::123456789012:policy/Fence", "Fence", "permissions_boundary")
    p = effective_permissions(
        [(source("p0"), parse_policy(doc(allow("*"))))],
        boundary=[(boundary_source, parse_policy(doc(allow("*"), deny("iam:PassRole"))))],
    )
    assert not p.allows("iam:PassRole")
    assert p.denies[0].ref == "arn:aws:iam::123456789012:policy/Fence#1"


# --- conditions ---


def test_conditional_allow_is_carried_with_its_conditions() -> None:
    condition = {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}
    p = perms(doc(allow("iam:PassRole", Condition=condition)))
    assert p.allows("iam:PassRole")
    assert not p.allows("iam:PassRole", unconditional_only=True)
    [grant] = p.grants_for("iam:PassRole")
    assert grant.conditional
    assert dict(grant.conditions) == condition
    assert p.statement_evidence(grant)["conditions"] == condition


def test_unconditional_allow_has_no_conditions() -> None:
    [grant] = perms(doc(allow("iam:PassRole"))).grants
    assert not grant.conditional
    assert dict(grant.conditions) == {}


# --- unknown actions ---


def test_unknown_service_is_kept_literally_with_a_warning() -> None:
    parsed = parse_policy(doc(allow(["codestar:CreateProject", "s3:GetObject"]), allow("iam:PassRole")))
    [warning] = parsed.warnings
    assert "unknown service 'codestar'" in warning
    assert "codestar:CreateProject" in warning
    assert CAT.version in warning
    assert parsed.statements[0].unknown_patterns == ("codestar:createproject",)
    p = effective_permissions([(source("legacy"), parsed)])
    assert p.allows("codestar:CreateProject")
    assert p.allows("CODESTAR:createproject")
    assert not p.allows("codestar:DeleteProject")
    # The rest of the same statement and policy still evaluates.
    assert p.allows("s3:GetObject")
    assert p.allows("iam:PassRole")
    assert [grant.statement.index for grant in p.grants_for("codestar:CreateProject")] == [0]
    assert p.warnings == (f"legacy: {warning}",)


def test_unknown_action_of_a_known_service_is_a_warning_not_a_grant_of_something_else() -> None:
    parsed = parse_policy(doc(allow("iam:PassRoles")))
    assert parsed.warnings[0].startswith("unknown action 'iam:PassRoles'")
    p = effective_permissions([(source("typo"), parsed)])
    assert not p.allows("iam:PassRole")
    assert p.allows("iam:PassRoles")


def test_a_known_policy_has_no_warnings() -> None:
    assert parse_policy(doc(allow(["s3:Get*", "iam:PassRole"]))).warnings == ()


# --- malformed documents ---


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([allow("*")], "policy document must be a JSON object, got an array"),
        ({"Version": "2012-10-17"}, "policy document has no Statement"),
        ({"Statement": "allow all"}, "Statement must be an object or an array of objects, got a string"),
        ({"Statement": ["oops"]}, "Statement[0] must be an object, got a string"),
        (
            doc(allow("*"), {**allow("*"), "Effect": "Permit"}),
            "Statement[1]: Effect must be Allow or Deny, got 'Permit'",
        ),
        (doc({"Action": "*", "Resource": "*"}), "Statement[0] has no Effect"),
        (doc({"Effect": "Allow", "Resource": "*"}), "Statement[0] needs Action or NotAction"),
        (doc({**allow("*"), "NotAction": "s3:*"}), "Statement[0] has both Action and NotAction"),
        (
            doc({**allow("*"), "Action": 42}),
            "Statement[0]: Action must be a string or an array of strings, got a number",
        ),
        (
            doc({**allow("*"), "Action": ["s3:GetObject", 3]}),
            "Statement[0]: Action must be a string or an array",
        ),
        (doc(allow([])), "Statement[0]: Action must not be empty"),
        (doc(allow("s3GetObject")), "Statement[0]: Action 's3GetObject' is neither '*' nor 'service:action'"),
        (doc({"Effect": "Allow", "Action": "*"}), "Statement[0] needs Resource or NotResource"),
        (doc(allow("*", Condition="mfa")), "Statement[0]: Condition must be an object, got a string"),
        (doc(allow("*", Condition={"Bool": "true"})), "Condition operator 'Bool' must map to an object"),
        ("{not json", "policy document is not valid JSON"),
        ("%7Bnot%20json", "policy document is neither JSON nor URL-encoded JSON"),
    ],
)
def test_malformed_documents_raise_a_helpful_error(document: Any, message: str) -> None:
    with pytest.raises(PolicyParseError) as raised:
        parse_policy(document)
    assert message in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_a_well_formed_document_does_not_raise() -> None:
    parse_policy(doc(allow("*", Condition={"Bool": {"aws:SecureTransport": "true"}})))


# --- encodings and the cache ---


def test_json_text_url_encoded_text_and_bytes_all_parse_alike() -> None:
    document = doc(allow("s3:Get*", "arn:aws:s3:::b/*"), deny("s3:GetObject"))
    expected = parse_policy(document)
    text = json.dumps(document)
    assert parse_policy(text) == expected
    assert parse_policy(quote(text)) == expected
    assert parse_policy(text.encode()) == expected


def test_parse_cache_returns_the_same_object_for_the_same_key() -> None:
    first = parse_policy(doc(allow("s3:GetObject")), key="test-cache-key")
    again = parse_policy(doc(allow("s3:GetObject")), key="test-cache-key")
    assert again is first
    assert parse_policy(doc(allow("s3:GetObject"))) is not first  # no key: parsed afresh
    assert parse_policy(doc(allow("s3:GetObject")), key="test-cache-other") is not first


def test_parse_cache_remembers_a_bad_document() -> None:
    for _ in range(2):
        with pytest.raises(PolicyParseError, match="has no Statement"):
            parse_policy({}, key="test-cache-bad")


# --- resources and evidence ---


def test_resource_matches_globs_case_sensitively() -> None:
    assert resource_matches("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b")
    assert resource_matches("arn:aws:s3:::bucke?", "arn:aws:s3:::bucket")
    assert resource_matches("*", "arn:aws:iam::123456789012:role/x")
    assert not resource_matches("arn:aws:s3:::bucket/*", "arn:aws:s3:::Bucket/a")
    assert not resource_matches("arn:aws:s3:::bucke?", "arn:aws:s3:::buckets")
    assert resource_matches("arn:aws:s3:::a${*}b", "arn:aws:s3:::a*b")
    assert not resource_matches("arn:aws:s3:::a${*}b", "arn:aws:s3:::axb")


def test_statement_evidence_is_json_and_names_the_statement() -> None:
    p = effective_permissions(
        [
            (
                source("ops", "group_inline", via="agents"),
                parse_policy(doc(allow("s3:*", "arn:aws:s3:::b/*", Sid="Ops", Condition=MFA))),
            )
        ]
    )
    [grant] = p.grants_for("s3:GetObject")
    evidence = p.statement_evidence(grant)
    assert json.loads(json.dumps(evidence)) == evidence
    assert evidence["policy"] == "ops"
    assert evidence["policy_ref"] == f"{ROLE}/inline/ops"
    assert (evidence["source"], evidence["via"], evidence["sid"], evidence["statement"]) == (
        "group_inline",
        "agents",
        "Ops",
        0,
    )
    assert evidence["conditional"] is True
    assert evidence["resources"] == ["arn:aws:s3:::b/*"]
    evidence["conditions"]["Bool"]["aws:MultiFactorAuthPresent"] = "tampered"
    assert grant.conditions["Bool"]["aws:MultiFactorAuthPresent"] == "false"


def test_no_deny_and_no_boundary_keeps_each_statement_as_granted() -> None:
    p = perms(doc(allow("s3:*"), allow("iam:PassRole", Condition=MFA)))
    assert [grant.actions for grant in p.grants] == [s.granted for s in (g.statement for g in p.grants)]
    assert p.denies == ()
    assert all(grant.maybe_denied_by == () and not grant.limited_by_boundary for grant in p.grants)


# --- real documents ---


def corpus_policies() -> dict[str, Any]:
    path = CORPUS / "cloudsplaining-example-authz-details.json"
    if not path.exists():
        pytest.skip(f"corpus not present: {path}")
    details = json.loads(path.read_text())
    return {
        policy["PolicyName"]: version["Document"]
        for policy in details["Policies"]
        for version in policy["PolicyVersionList"]
        if version["IsDefaultVersion"]
    }


def managed(documents: dict[str, Any], name: str) -> EffectivePermissions:
    ref = f"arn:aws:iam::aws:policy/{name}"
    return effective_permissions([(PolicySource(ref, name, "aws_managed"), parse_policy(documents[name]))])


@pytest.mark.corpus
def test_every_real_policy_parses() -> None:
    documents = corpus_policies()
    assert len(documents) == 32
    for document in documents.values():
        parse_policy(document)


@pytest.mark.corpus
def test_real_managed_policies_mean_what_they_say() -> None:
    documents = corpus_policies()
    assert managed(documents, "AdministratorAccess").allowed(unconditional_only=True) == CAT.all_mask
    power = managed(documents, "PowerUserAccess")  # NotAction iam/organizations/account + some iam
    assert power.allows("s3:DeleteBucket")
    assert not power.allows("iam:AttachRolePolicy")
    assert power.allows("iam:CreateServiceLinkedRole")
    read_only = managed(documents, "IAMReadOnlyAccess").allowed()
    assert read_only & bit("iam:GetRole")
    assert not read_only & (CAT.level_mask("Write") | CAT.level_mask("Permissions management"))
