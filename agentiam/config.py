"""Settings: a TOML file, then AGENTIAM_* environment variables, then command-line flags, validated by pydantic."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from agentiam.errors import UsageError

Severity = Literal["critical", "high", "medium", "low", "info"]
DEFAULT_CONFIG_FILE = "agentiam.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClassificationSettings(_Section):
    """How identities and workloads are recognised as agents'."""

    agent_tag_keys: list[str] = Field(default_factory=lambda: ["ai-agent", "agent"])
    # A tag with one of the keys marks an agent unless its value says no.
    agent_tag_false_values: list[str] = Field(default_factory=lambda: ["false", "no", "0", "off", "none", ""])
    # A team tag groups costs; it names no one accountable, so it is not an owner by default.
    owner_tag_keys: list[str] = Field(default_factory=lambda: ["owner", "contact"])


class AwsSettings(_Section):
    profile: str | None = None
    regions: list[str] = Field(default_factory=lambda: ["us-east-1"])
    max_attempts: int = Field(10, ge=1, le=30)
    # Many accounts: a list here, or --aws-org; each is reached by assuming `assume_role` in it.
    accounts: list[Annotated[str, StringConstraints(pattern=r"^\d{12}$")]] = Field(default_factory=list)
    organization: bool = False
    assume_role: str = "AgentiamReadOnly"
    external_id: str | None = None
    assume_role_in_own_account: bool = False  # the credentials' own account is read directly by default
    max_concurrency: int = Field(4, ge=1, le=32)
    # Service last accessed (--aws-last-accessed): one IAM report job per principal, so opt-in; reports are cached
    # for the day under $XDG_CACHE_HOME/agentiam/last-accessed unless this names another folder.
    last_accessed: bool = False
    last_accessed_cache_dir: str | None = None
    agent_trusted_services: list[str] = Field(
        default_factory=lambda: ["bedrock.amazonaws.com", "bedrock-agentcore.amazonaws.com"]
    )


class KubernetesSettings(_Section):
    kubeconfig: str | None = None  # default: $KUBECONFIG, then ~/.kube/config
    contexts: list[str] = Field(default_factory=list)  # --kube-context, repeatable; empty = the current context
    in_cluster: bool = False  # the pod's service-account token, when agentiam runs inside the cluster
    # The in-cluster cluster's name in uids (an EKS cluster's ARN, so EKS Pod Identity links resolve); "in-cluster".
    cluster_name: str | None = None
    # Pods are selected server-side: one list call per selector, results merged.
    agent_label_selectors: list[str] = Field(default_factory=lambda: ["app=ai-agent"])
    # Agent custom resources, "<group>/<Kind>", discovered through /apis when the cluster serves them.
    agent_crds: list[str] = Field(default_factory=lambda: ["kagent.dev/Agent", "agents.x-k8s.io/Agent"])
    page_size: int = Field(500, ge=1, le=5000)
    max_attempts: int = Field(5, ge=1, le=30)  # per request, for 429 and 5xx
    # Offline exports do not name their cluster; this does (else the file name is used).
    offline_cluster: str | None = None


class AzureSettings(_Section):
    subscriptions: list[str] = Field(default_factory=list)  # --azure-subscription, repeatable; empty = all visible
    tenant_id: str | None = None
    max_attempts: int = Field(10, ge=1, le=30)  # per request, for 429 and 5xx
    # Environment isolation: subscription id or display name -> class (e.g. "production", "non-production"), and the
    # subscription tag that says the same when the mapping does not.
    environments: dict[str, str] = Field(default_factory=dict)
    environment_tag_key: str = "environment"
    production_classes: list[str] = Field(default_factory=lambda: ["production", "prod", "prd"])
    # Federated credentials: issuers trusted without question (AKS OIDC issuers found in the scan are added).
    trusted_federation_issuers: list[str] = Field(
        default_factory=lambda: ["https://token.actions.githubusercontent.com"]
    )


class Settings(_Section):
    db: str = "agentiam.db"
    fail_on: Severity | None = None
    # Findings accepted for a while (YAML; see README "Suppressions"); `--suppressions FILE` overrides it.
    suppressions_file: str | None = None
    # The longest a suppression or an access-review exception may last, in days from the day it is read.
    suppression_max_days: int = Field(90, ge=1, le=3650)
    aws: AwsSettings = Field(default_factory=AwsSettings)
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)
    azure: AzureSettings = Field(default_factory=AzureSettings)
    classification: ClassificationSettings = Field(default_factory=ClassificationSettings)
    # Per-rule parameter overrides: [rules.AWS-IAM-001] some_param = 3
    rules: dict[str, dict[str, Any]] = Field(default_factory=dict)


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if environ.get("AGENTIAM_DB"):
        overrides["db"] = environ["AGENTIAM_DB"]
    if environ.get("AGENTIAM_FAIL_ON"):
        overrides["fail_on"] = environ["AGENTIAM_FAIL_ON"]
    if environ.get("AGENTIAM_AWS_PROFILE"):
        overrides.setdefault("aws", {})["profile"] = environ["AGENTIAM_AWS_PROFILE"]
    return overrides


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}" for e in error.errors())


def load_settings(
    config_file: str | None = None,
    flags: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Read the settings; `flags` holds only options the user actually gave."""
    environ = dict(os.environ if environ is None else environ)
    path = Path(config_file) if config_file else Path(DEFAULT_CONFIG_FILE)
    data: dict[str, Any] = {}
    if config_file or path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"{path}: configuration file not found") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: not valid TOML ({exc})") from None
    data = _merge(_merge(data, _env_overrides(environ)), flags or {})
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise UsageError(f"{path if data else 'settings'}: invalid configuration: {_describe(exc)}") from None
