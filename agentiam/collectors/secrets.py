"""Secrets in environment variables, for any provider: Lambda functions and agent runtimes now, pods later.

The detector sees a value once, while a collector transforms what an API or an export returned, and keeps only
metadata: the variable's name, the kind of secret and a short non-reversible fingerprint. The value itself never
leaves this module: not in a record, an exception, a log line or a report.

The fingerprint lets a reviewer see that two workloads hold the same secret, or that a secret was rotated, without
revealing it. It is PBKDF2-HMAC-SHA256 with a fixed salt, truncated to 48 bits: an API key or token cannot be
recovered from it, and the iterations make guessing a weak password from a report slow (but not impossible, which
is one more reason such a password must leave the environment).
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import math
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from agentiam.findings.data import secret_patterns as patterns
from agentiam.inventory.records import CredentialRecord

FINGERPRINT_SALT = b"agentiam/secret-fingerprint/v1"
FINGERPRINT_ITERATIONS = 10_000
FINGERPRINT_BYTES = 6  # 12 hex digits, like the access-key fingerprints of the IAM collector


@dataclass(frozen=True)
class DetectedSecret:
    """A variable that holds a secret: everything about it except the value."""

    name: str
    kind: str  # a value shape (openai_api_key, jwt, ...), a name's kind (password, token, ...) or high_entropy_string
    fingerprint: str
    matched_by: tuple[str, ...]  # "value" (a known shape), "name", "entropy"


def fingerprint(value: str) -> str:
    # surrogatepass: a JSON export can hold lone surrogates, and encoding must never fail (its error quotes the value).
    digest = hashlib.pbkdf2_hmac(
        "sha256", value.encode("utf-8", "surrogatepass"), FINGERPRINT_SALT, FINGERPRINT_ITERATIONS
    )
    return digest[:FINGERPRINT_BYTES].hex()


def _value_shape(value: str) -> str | None:
    return next((shape.kind for shape in patterns.VALUE_SHAPES if shape.pattern.search(value)), None)


def _names_a_non_secret(name: str) -> bool:
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pattern) for pattern in patterns.NOT_SECRET_NAMES)


def _name_kind(name: str) -> str | None:
    upper = name.upper()
    return next((kind for pattern, kind in patterns.SECRET_NAMES if fnmatch.fnmatchcase(upper, pattern)), None)


def _could_be_credential(value: str) -> bool:
    """Whether a value under a secret-like name could be the secret, rather than a flag, number or reference."""
    text = value.strip()
    return (
        len(text) >= patterns.MIN_NAMED_SECRET_LENGTH
        and text.lower() not in patterns.PLACEHOLDER_VALUES
        and not text.isdigit()
        and not text.lower().startswith(patterns.REFERENCE_PREFIXES)
    )


def shannon_entropy(text: str) -> float:
    """Bits per character of the string's own character distribution."""
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values()) if text else 0.0


def _character_class(c: str) -> int:
    return 0 if c.isupper() else 1 if c.islower() else 2 if c.isdigit() else 3


def class_changes(text: str) -> float:
    """Share of neighbouring characters of different classes: random tokens change often, CamelCase words rarely."""
    classes = [_character_class(c) for c in text]
    return sum(a != b for a, b in pairwise(classes)) / max(1, len(text) - 1)


def _high_entropy(value: str) -> bool:
    return (
        len(value) >= patterns.ENTROPY_MIN_LENGTH
        and patterns.ENTROPY_CHARSET.fullmatch(value) is not None
        and patterns.HEX.fullmatch(value) is None
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
        and shannon_entropy(value) >= patterns.ENTROPY_MIN_BITS_PER_CHAR
        and class_changes(value) >= patterns.ENTROPY_MIN_CLASS_CHANGES
    )


def detect_secret(name: str, value: str) -> DetectedSecret | None:
    """The secret metadata of one variable, or None when neither its value nor its name says "secret".

    A known value shape is enough on its own. A secret-like name counts when the value could be a credential, and a
    random-looking value when the name does not say it is an identifier, a reference or a setting.
    """
    shape = _value_shape(value)
    plain_name = _names_a_non_secret(name)
    name_kind = _name_kind(name) if not plain_name and _could_be_credential(value) else None
    entropy = shape is None and not plain_name and _high_entropy(value)
    if shape is None and name_kind is None and not entropy:
        return None
    matched_by = tuple(why for why, matched in (("value", shape), ("name", name_kind), ("entropy", entropy)) if matched)
    kind = shape or name_kind or patterns.HIGH_ENTROPY_KIND
    return DetectedSecret(name=name, kind=kind, fingerprint=fingerprint(value), matched_by=matched_by)


def detect_secrets(variables: Mapping[str, Any]) -> list[DetectedSecret]:
    """Every secret-looking variable of an environment, sorted by name. Non-string values are read as text."""
    found = []
    for name, value in sorted(variables.items()):
        if value is None:
            continue
        detected = detect_secret(str(name), value if isinstance(value, str) else str(value))
        if detected is not None:
            found.append(detected)
    return found


def secret_records(holder_uid: str, variables: Mapping[str, Any], location: str) -> list[CredentialRecord]:
    """Credential records (metadata only) for the secrets in a workload's environment.

    `location` says where the variables were found, e.g. "environment" (later, a container's name).
    """
    return [
        CredentialRecord(
            uid=f"{holder_uid}/env/{secret.name}",
            holder_uid=holder_uid,
            credential_kind=patterns.ENV_SECRET,
            name=secret.name,
            fingerprint=secret.fingerprint,
            attributes={"secret_kind": secret.kind, "matched_by": list(secret.matched_by), "location": location},
        )
        for secret in detect_secrets(variables)
    ]


_FILTERS_LOCK = threading.Lock()


class _DropResponseBodies(logging.Filter):
    """Drops an HTTP client's debug records that print whole response bodies, which would carry secret values."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.prefixes)


def keep_response_bodies_out_of_logs(logger_name: str, *prefixes: str) -> None:
    """Make sure a client library's debug logging (`-vv`) never prints a response that holds secret values.

    Idempotent; collectors call it before they fetch environments (botocore logs every response body at DEBUG).
    """
    logger = logging.getLogger(logger_name)
    with _FILTERS_LOCK:  # scopes are collected in parallel threads
        if not any(isinstance(f, _DropResponseBodies) and f.prefixes == prefixes for f in logger.filters):
            logger.addFilter(_DropResponseBodies(prefixes))
