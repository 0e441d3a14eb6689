"""What a secret in an environment variable looks like: by its value's shape, and by its name.

Read by the provider-neutral detector (agentiam/collectors/secrets.py) at collection time, and by SECRET-001 for
the severity of each kind. A value shape is evidence on its own; a name is evidence only when the value could be a
credential (not a number, a flag, an empty string or a reference to a secret store).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The credential kind of a secret found in an environment (CredentialRecord.credential_kind).
ENV_SECRET = "env_secret"


@dataclass(frozen=True)
class SecretShape:
    kind: str
    description: str
    pattern: re.Pattern[str]
    severity: str  # SECRET-001's grade for this kind, before the agent step


# Not preceded by a token character: "task-0123..." must not read as an `sk-` key.
_START = r"(?<![A-Za-z0-9_-])"

# Most specific first: the first shape that matches names the kind.
VALUE_SHAPES: tuple[SecretShape, ...] = (
    SecretShape("anthropic_api_key", "Anthropic API key", re.compile(_START + r"sk-ant-[A-Za-z0-9_-]{20,}"), "high"),
    SecretShape(
        "openai_api_key",
        "OpenAI-style API key (sk-)",
        re.compile(_START + r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),
        "high",
    ),
    SecretShape("google_api_key", "Google API key (Gemini, Maps, ...)", re.compile(r"AIza[0-9A-Za-z_-]{35}"), "high"),
    SecretShape("huggingface_token", "Hugging Face token", re.compile(_START + r"hf_[A-Za-z0-9]{30,}"), "high"),
    SecretShape(
        "aws_access_key_id",
        "AWS access key id (a long-lived or session key)",
        re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])"),
        "high",
    ),
    SecretShape("github_token", "GitHub token", re.compile(_START + r"gh[pousr]_[A-Za-z0-9]{36,}"), "high"),
    SecretShape("slack_token", "Slack token", re.compile(_START + r"xox[abposr]-[A-Za-z0-9-]{10,}"), "high"),
    SecretShape("private_key", "PEM private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "high"),
    SecretShape(
        "jwt",
        "JSON Web Token",
        re.compile(_START + r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),
        "high",
    ),
    SecretShape(
        "url_with_password",
        "URL with a password in it (user:password@host)",
        re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"),
        "high",
    ),
)

# Variable names that say "secret" (fnmatch patterns, case-insensitive), and the kind each suggests.
SECRET_NAMES: tuple[tuple[str, str], ...] = (
    ("*API_KEY*", "api_key"),
    ("*APIKEY*", "api_key"),
    ("*PRIVATE_KEY*", "private_key"),
    ("*PASSWORD*", "password"),
    ("*PASSWD*", "password"),
    ("*SECRET*", "secret"),
    ("*TOKEN*", "token"),
)

# Names that match the above but hold a reference, a setting or a count, never the secret itself: a Secrets Manager
# ARN or name is the remedy, not the problem, and MAX_TOKENS is a number.
NOT_SECRET_NAMES: tuple[str, ...] = (
    "*_ARN",
    "*_NAME",
    "*_ID",
    "*_PATH",
    "*_FILE",
    "*_URL",
    "*_URI",
    "*_ENDPOINT",
    "*_HOST",
    "*_REGION",
    "*_TTL",
    "*_EXPIRY",
    "*_EXPIRES",
    "*_EXPIRATION",
    "*_TIMEOUT",
    "*_LENGTH",
    "*_LIMIT",
    "*_HEADER",
    "*_PARAM",
    "*_PARAMETER",
    "*_TYPE",
    "*_VERSION",
    "*_ENABLED",
    "*TOKENIZER*",
    "*TOKENS*",
)

# Values that cannot be a credential, whatever the name says (compared case-insensitively).
PLACEHOLDER_VALUES: frozenset[str] = frozenset(
    {"", "none", "null", "nil", "true", "false", "yes", "no", "on", "off", "-", "n/a", "na", "unset", "<redacted>"}
)
# Values that point at a secret store instead of holding the secret.
REFERENCE_PREFIXES: tuple[str, ...] = (
    "arn:",
    "{{resolve:",
    "${",
    "$(",
    "/aws/reference/secretsmanager/",
    "secretsmanager:",
    "ssm:",
    "vault:",
    "projects/",  # GCP Secret Manager resource names
    "https://",  # a URL without a password in it (those are a value shape above)
    "http://",
)
MIN_NAMED_SECRET_LENGTH = 4  # shorter values under a secret-like name are flags or codes, not credentials

# High-entropy strings: random-looking tokens of base64/base64url characters with mixed case and digits, under a
# name that does not say "identifier" (NOT_SECRET_NAMES). Hexadecimal strings (commit ids, content hashes, UUIDs) are
# left out: far more of them are identifiers than keys.
ENTROPY_CHARSET = re.compile(r"[A-Za-z0-9+/=_-]+")
HEX = re.compile(r"[0-9a-fA-F-]+")
ENTROPY_MIN_LENGTH = 20
ENTROPY_MIN_BITS_PER_CHAR = 4.0
# Share of neighbouring characters that change class (upper, lower, digit, other): about 0.64 in random base64, and
# below 0.4 for CamelCase words such as "ProductionDatabaseReplica01", which are just as varied in characters.
ENTROPY_MIN_CLASS_CHANGES = 0.4

# SECRET-001's grade for secrets recognised only by name or only by entropy (the shapes carry their own).
NAMED_SECRET_SEVERITY = "medium"
HIGH_ENTROPY_KIND = "high_entropy_string"
HIGH_ENTROPY_SEVERITY = "medium"


def severity_of(kind: str) -> str:
    for shape in VALUE_SHAPES:
        if shape.kind == kind:
            return shape.severity
    return HIGH_ENTROPY_SEVERITY if kind == HIGH_ENTROPY_KIND else NAMED_SECRET_SEVERITY
