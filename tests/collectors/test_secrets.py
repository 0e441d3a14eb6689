"""The provider-neutral secret detector: what counts as a secret in an environment variable, and what is kept of it.

Test values are fakes built by concatenation, so that no scanner mistakes this file for a leak.
"""

from __future__ import annotations

import dataclasses
import logging

import pytest

from agentiam.collectors.secrets import (
    detect_secret,
    detect_secrets,
    fingerprint,
    keep_response_bodies_out_of_logs,
    secret_records,
)
from agentiam.findings.data.secret_patterns import VALUE_SHAPES

FAKE = "A1b2C3d4E5f6G7h8J9k0"  # 20 characters of a random-looking token

SHAPES = {
    "anthropic_api_key": "sk-" + "ant-api03-" + FAKE + FAKE,
    "openai_api_key": "sk-" + "proj-" + FAKE + FAKE,
    "google_api_key": "AI" + "za" + "Sy" + FAKE + FAKE[:13],
    "huggingface_token": "hf" + "_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123",
    "aws_access_key_id": "AK" + "IAIOSFODNN7EXAMPLE",
    "github_token": "gh" + "p_" + "0123456789abcdefghijABCDEFGHIJ012345",
    "slack_token": "xo" + "xb-" + "000000000000-TESTONLY",
    "private_key": "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA",
    "jwt": "ey" + "JhbGciOiJIUzI1NiJ9." + "ey" + "JzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlLW5vdC1yZWFs",
    "url_with_password": "postgres://app:" + "s3cr3t-pw" + "@db.internal:5432/orders",
}


def test_every_value_shape_has_an_example_here() -> None:
    assert {shape.kind for shape in VALUE_SHAPES} == set(SHAPES)


@pytest.mark.parametrize(("kind", "value"), SHAPES.items(), ids=list(SHAPES))
def test_a_known_value_shape_is_a_secret_under_any_name(kind: str, value: str) -> None:
    found = detect_secret("SETTING", value)

    assert found is not None
    assert (found.kind, found.matched_by) == (kind, ("value",))


def test_a_value_shape_inside_a_longer_value_is_found() -> None:
    found = detect_secret("AUTH_HEADER_VALUE", "Bearer " + SHAPES["openai_api_key"])

    assert found is not None and found.kind == "openai_api_key"


def test_a_value_shape_wins_over_a_name_that_says_reference() -> None:
    found = detect_secret("OPENAI_KEY_ARN", SHAPES["openai_api_key"])

    assert found is not None and found.kind == "openai_api_key"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("OPENAI_API_KEY", "api_key"),
        ("API_KEY", "api_key"),
        ("x_apikey", "api_key"),
        ("GITHUB_TOKEN", "token"),
        ("SLACK_BOT_TOKEN_VALUE", "token"),
        ("CLIENT_SECRET", "secret"),
        ("DB_PASSWORD", "password"),
        ("SMTP_PASSWD", "password"),
        ("SIGNING_PRIVATE_KEY", "private_key"),
    ],
)
def test_a_secret_like_name_with_a_credential_like_value_is_a_secret(name: str, kind: str) -> None:
    found = detect_secret(name, "correct-horse-battery")

    assert found is not None
    assert (found.name, found.kind, found.matched_by) == (name, kind, ("name",))


def test_name_and_shape_both_count_as_evidence() -> None:
    found = detect_secret("ANTHROPIC_API_KEY", SHAPES["anthropic_api_key"])

    assert found is not None
    assert (found.kind, found.matched_by) == ("anthropic_api_key", ("value", "name"))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DB_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf"),
        ("DB_PASSWORD", "{{resolve:secretsmanager:prod/db:SecretString:password}}"),
        ("API_KEY", "${OPENAI_API_KEY}"),
        ("API_TOKEN", "/aws/reference/secretsmanager/prod/token"),
        ("SECRET_NAME", "prod/orders/db"),
        ("JWT_SECRET_ID", "prod-jwt-signing"),
        ("AUTH_TOKEN_URL", "https://login.example.com/oauth2/token"),
        ("API_KEY_HEADER", "x-api-key"),
        ("MAX_TOKENS", "4096"),
        ("TOKENIZER", "cl100k_base"),
        ("TOKEN_TTL", "3600"),
        ("ENABLE_TOKEN_CACHE", "true"),
        ("DB_PASSWORD", ""),
        ("DB_PASSWORD", "none"),
        ("API_KEY", "abc"),
    ],
)
def test_references_settings_and_placeholders_under_secret_like_names_are_not_secrets(name: str, value: str) -> None:
    assert detect_secret(name, value) is None


@pytest.mark.parametrize(
    "value",
    [
        "550e8400-e29b-41d4-a716-446655440000",  # a UUID
        "3f786850e387550fdab836ed7e6dc881de23001b",  # a commit id
        "ProductionDatabaseReplica01",  # CamelCase words: varied characters, but no randomness
        "ThisIsAVeryLongCamelCaseIdentifier2024",
        "my-function-name-for-production",
        "task-0123456789abcdefghijklmnopqrstuv",  # "sk-" inside a word is not an API key
        "arn:aws:s3:::orders-archive",
        "python3.12",
    ],
)
def test_identifiers_and_ordinary_values_are_not_secrets(value: str) -> None:
    assert detect_secret("SETTING", value) is None


def test_a_random_looking_token_is_a_high_entropy_secret() -> None:
    found = detect_secret("UPSTREAM_CREDENTIAL", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

    assert found is not None
    assert (found.kind, found.matched_by) == ("high_entropy_string", ("entropy",))


def test_a_random_looking_value_under_an_identifier_name_is_not_a_secret() -> None:
    assert detect_secret("USER_POOL_CLIENT_ID", "4f9k2Lq8Zx1Vb7Nm3Rt6Yp0Wa5") is None


def test_the_fingerprint_is_short_stable_and_not_a_plain_hash_of_the_value() -> None:
    import hashlib

    value = SHAPES["openai_api_key"]
    first = fingerprint(value)

    assert first == fingerprint(value)
    assert len(first) == 12 and int(first, 16) >= 0
    assert first != fingerprint(value + "x")
    assert first not in hashlib.sha256(value.encode()).hexdigest()  # a lookup table of plain hashes does not apply


def test_the_same_secret_under_two_names_has_one_fingerprint() -> None:
    one = detect_secret("OPENAI_API_KEY", SHAPES["openai_api_key"])
    other = detect_secret("LLM_KEY", SHAPES["openai_api_key"])

    assert one is not None and other is not None
    assert one.fingerprint == other.fingerprint


def test_nothing_detected_carries_the_value() -> None:
    value = SHAPES["anthropic_api_key"]
    found = detect_secret("ANTHROPIC_API_KEY", value)

    assert found is not None
    assert value not in repr(found)
    assert all(value not in str(field) for field in dataclasses.astuple(found))


def test_an_environment_is_read_variable_by_variable() -> None:
    found = detect_secrets(
        {"OPENAI_API_KEY": SHAPES["openai_api_key"], "LOG_LEVEL": "INFO", "PORT": 8080, "DB_PASSWORD": None}
    )

    assert [(s.name, s.kind) for s in found] == [("OPENAI_API_KEY", "openai_api_key")]


def test_values_that_cannot_be_encoded_do_not_break_the_detector() -> None:
    found = detect_secret("DB_PASSWORD", "pa\udc00ssword")  # a lone surrogate, as a JSON export can hold

    assert found is not None and len(found.fingerprint) == 12


def test_credential_records_keep_name_kind_and_fingerprint_only() -> None:
    value = SHAPES["huggingface_token"]
    (record,) = secret_records(
        "aws:arn:aws:lambda:eu-west-1:123456789012:function:f", {"HF_TOKEN": value}, "environment"
    )

    assert record.uid == "aws:arn:aws:lambda:eu-west-1:123456789012:function:f/env/HF_TOKEN"
    assert (record.credential_kind, record.name, record.fingerprint) == ("env_secret", "HF_TOKEN", fingerprint(value))
    assert record.attributes == {
        "secret_kind": "huggingface_token",
        "matched_by": ["value", "name"],
        "location": "environment",
    }
    assert value not in record.model_dump_json()


def test_client_debug_logs_of_response_bodies_are_dropped(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("agentiam-test.http")
    keep_response_bodies_out_of_logs("agentiam-test.http", "Response body")
    keep_response_bodies_out_of_logs("agentiam-test.http", "Response body")  # idempotent

    with caplog.at_level(logging.DEBUG, logger="agentiam-test.http"):
        logger.debug("Response body:\n%r", SHAPES["openai_api_key"])
        logger.debug("Response headers: %r", {"x-amzn-requestid": "1"})

    assert SHAPES["openai_api_key"] not in caplog.text
    assert "Response headers" in caplog.text
    assert len(logger.filters) == 1
