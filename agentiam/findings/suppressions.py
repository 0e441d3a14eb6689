"""Suppressions: findings a team has accepted for a while, with an owner, a reason and an expiry date.

Two sources say the same thing in the same shape:
- a suppressions file (YAML, `--suppressions FILE` or the `suppressions_file` setting): a rule id and a glob over the
  subject's uid and name;
- an approved access-review exception (`agentiam review import`): the findings related to the reviewed grant.

A suppressed finding is still reported everywhere, marked as such; only the gate ignores it. An expired suppression
no longer suppresses anything and is reported as a warning, so that an acceptance never lapses silently.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agentiam.errors import InputFormatError
from agentiam.reports.model import FindingRow, IssueRow

SuppressionKind = Literal["suppression", "exception"]


@dataclass(frozen=True)
class Suppression:
    kind: SuppressionKind
    owner: str
    reason: str
    expires: date  # the last day it applies
    source: str  # where it was written: "<file> entry <n>" or "<review file> line <n>"
    rule_id: str | None = None  # suppressions file: the rule, and a glob over the subject's uid and name
    subject: str | None = None
    fingerprints: frozenset[str] = frozenset()  # access-review exception: the findings it accepts

    def expired(self, today: date) -> bool:
        return today > self.expires

    def matches(self, finding: FindingRow) -> bool:
        if self.fingerprints:
            return finding.fingerprint in self.fingerprints
        if self.rule_id is None or self.subject is None or finding.rule_id.lower() != self.rule_id.lower():
            return False
        return fnmatch.fnmatchcase(finding.subject_uid, self.subject) or fnmatch.fnmatchcase(
            finding.subject_name, self.subject
        )

    def describe(self) -> str:
        what = f"{self.rule_id} on {self.subject}" if self.rule_id else f"{len(self.fingerprints)} finding(s)"
        return f"{self.kind} {self.source} ({what}, owner {self.owner})"

    def marker(self) -> dict[str, Any]:
        """What a suppressed FindingRow carries (see FindingRow.suppression)."""
        return {
            "kind": self.kind,
            "owner": self.owner,
            "reason": self.reason,
            "expires": self.expires.isoformat(),
            "source": self.source,
        }


class _Entry(BaseModel):
    """One entry of a suppressions file."""

    model_config = ConfigDict(extra="forbid")

    rule: str = Field(min_length=1)
    subject: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    expires: date

    @field_validator("rule", "subject", "owner", "reason", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("expires", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> date:
        # YAML reads an unquoted 2026-06-30 as a date, a quoted one as text; a number or a timestamp is a mistake.
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise ValueError(f"must be a date written YYYY-MM-DD, got {value!r}")


def latest_allowed_expiry(today: date, max_days: int) -> date:
    return today + timedelta(days=max_days)


def load_suppressions(
    path: Path, max_days: int, today: date, known_rules: Collection[str] | None = None
) -> list[Suppression]:
    """Read and validate a suppressions file; every problem is listed, each naming the file and the entry.

    Already expired entries are kept (they produce warnings when applied); an expiry beyond `max_days` from today is
    refused, so that no acceptance is open-ended. A rule id that no installed rule has is refused too: a typo would
    otherwise suppress nothing, silently.
    """
    known = {rule.lower() for rule in known_rules} if known_rules is not None else None
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFormatError(str(path), "suppressions file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFormatError(str(path), f"cannot read the suppressions file: {exc}") from None
    except yaml.YAMLError as exc:
        raise InputFormatError(str(path), f"not valid YAML: {exc}") from None
    entries = document.get("suppressions") if isinstance(document, dict) else None
    if not isinstance(entries, list) or set(document) != {"suppressions"}:
        raise InputFormatError(str(path), 'expected one key, "suppressions": a list of entries (see README)')
    problems: list[str] = []
    suppressions: list[Suppression] = []
    latest = latest_allowed_expiry(today, max_days)
    for number, raw in enumerate(entries, start=1):
        where = f"entry {number}"
        if not isinstance(raw, dict):
            problems.append(f"{where}: expected a mapping with rule, subject, owner, reason, expires")
            continue
        try:
            entry = _Entry.model_validate(raw)
        except ValidationError as exc:
            problems.extend(f"{where}: {_field(error)}: {error['msg']}" for error in exc.errors())
            continue
        if known is not None and entry.rule.lower() not in known:
            problems.append(f"{where}: rule {entry.rule!r} is not a known rule id (see `agentiam rules list`)")
            continue
        if entry.expires > latest:
            problems.append(
                f"{where}: expires {entry.expires} is more than {max_days} days away (latest allowed: {latest}; "
                "see the suppression_max_days setting)"
            )
            continue
        suppressions.append(
            Suppression(
                kind="suppression",
                owner=entry.owner,
                reason=entry.reason,
                expires=entry.expires,
                source=f"{path} {where}",
                rule_id=entry.rule,
                subject=entry.subject,
            )
        )
    if problems:
        raise InputFormatError(str(path), "invalid suppressions:\n  " + "\n  ".join(problems))
    return suppressions


def _field(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"]) or "entry"


def apply_suppressions(
    findings: list[FindingRow], suppressions: Iterable[Suppression], today: date
) -> tuple[list[FindingRow], list[IssueRow]]:
    """Mark each finding the first unexpired matching suppression covers; one warning per expired suppression."""
    active: list[Suppression] = []
    warnings: list[IssueRow] = []
    for suppression in suppressions:
        if suppression.expired(today):
            warnings.append(
                IssueRow(
                    source=suppression.source,
                    problem=f"{suppression.describe()} expired on {suppression.expires}: it no longer suppresses",
                    severity="warning",
                    subject_uid=None,
                )
            )
        else:
            active.append(suppression)
    if not active:
        return findings, warnings
    marked = []
    for finding in findings:
        match = next((s for s in active if s.matches(finding)), None)
        marked.append(finding if match is None else dataclasses.replace(finding, suppression=match.marker()))
    return marked, warnings
