"""IAM service last accessed: which granted services each role or user has actually used, and when.

IAM answers through an asynchronous report job per principal (`GenerateServiceLastAccessedDetails`, then
`GetServiceLastAccessedDetails` until the job completes). Jobs run with bounded concurrency and are polled with
backoff. Reports cost two or more calls per principal, so collection is opt-in (`--aws-last-accessed`), and each
principal's report is cached for the day in a JSON file under the user's cache directory: the collector never
touches the inventory database, and a report of this morning is as good as a new one.

`get_service_last_accessed` does the I/O, `transform_service_last_accessed` is pure.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from agentiam.collectors.aws.iam import parse_timestamp, uid
from agentiam.collectors.aws.session import describe_error
from agentiam.config import AwsSettings
from agentiam.inventory.records import AnyRecord, IssueRecord, UsageRecord

log = logging.getLogger(__name__)

GENERATE = "iam:GenerateServiceLastAccessedDetails"
GET = "iam:GetServiceLastAccessedDetails"
SOURCE = "iam:GetServiceLastAccessedDetails"
USAGE_KIND = "service_last_accessed"
# IAM reports service access for the trailing 400 days (IAM User Guide, "Tracking period" of last-accessed data).
TRACKING_DAYS = 400


@dataclass(frozen=True)
class Poll:
    """How a report job is waited for: 0.5 s doubling up to 8 s between polls, at most `max_wait` seconds in all."""

    first_delay: float = 0.5
    max_delay: float = 8.0
    max_wait: float = 300.0
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class LastAccessed:
    """One principal's report (the merged pages of GetServiceLastAccessedDetails), or why there is none."""

    arn: str
    details: dict[str, Any] | None = None
    error: str | None = None


# -- I/O -------------------------------------------------------------------------------------------------------


def get_service_last_accessed(iam: Any, arns: Iterable[str], max_concurrency: int, poll: Poll) -> list[LastAccessed]:
    """A service-level report for each ARN, `max_concurrency` jobs at a time; a failed job is an error, not a raise.

    One client serves every thread: botocore clients are thread-safe (sessions are not).
    """
    with ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="last-accessed") as pool:
        return list(pool.map(lambda arn: _report(iam, arn, poll), arns))


def _report(iam: Any, arn: str, poll: Poll) -> LastAccessed:
    try:
        job_id = iam.generate_service_last_accessed_details(Arn=arn, Granularity="SERVICE_LEVEL")["JobId"]
    except (ClientError, BotoCoreError) as exc:
        return LastAccessed(arn, error=describe_error(exc, GENERATE))
    try:
        details = _wait(iam, job_id, poll)
    except (ClientError, BotoCoreError) as exc:
        return LastAccessed(arn, error=describe_error(exc, GET))
    status = details.get("JobStatus")
    if status == "COMPLETED":
        return LastAccessed(arn, details=details)
    if status == "IN_PROGRESS":
        return LastAccessed(arn, error=f"{GET}: job {job_id} still in progress after {poll.max_wait:g} s")
    message = (details.get("Error") or {}).get("Message") or "no reason given"
    return LastAccessed(arn, error=f"{GET}: job {job_id} {status}: {message}")


def _wait(iam: Any, job_id: str, poll: Poll) -> dict[str, Any]:
    """Poll until the job leaves IN_PROGRESS (or the wait is used up), then read every page of the report."""
    delay, waited = poll.first_delay, 0.0
    page = iam.get_service_last_accessed_details(JobId=job_id)
    while page.get("JobStatus") == "IN_PROGRESS" and waited < poll.max_wait:
        poll.sleep(delay)
        waited += delay
        delay = min(delay * 2, poll.max_delay)
        page = iam.get_service_last_accessed_details(JobId=job_id)
    details = {key: value for key, value in page.items() if key not in ("Marker", "IsTruncated", "ResponseMetadata")}
    services = list(page.get("ServicesLastAccessed") or [])
    while page.get("IsTruncated") and page.get("Marker"):
        page = iam.get_service_last_accessed_details(JobId=job_id, Marker=page["Marker"])
        services.extend(page.get("ServicesLastAccessed") or [])
    return {**details, "ServicesLastAccessed": services}


# -- the day's cache ---------------------------------------------------------------------------------------------


def cache_file(settings: AwsSettings, account: str, day: date) -> Path:
    """`$XDG_CACHE_HOME/agentiam/last-accessed/<account>-<day>.json`, or under `aws.last_accessed_cache_dir`."""
    if settings.last_accessed_cache_dir:
        folder = Path(settings.last_accessed_cache_dir).expanduser()
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        folder = Path(base) / "agentiam" / "last-accessed"
    return folder / f"{account}-{day.isoformat()}.json"


def read_cache(path: Path) -> dict[str, dict[str, Any]]:
    """Today's reports by principal ARN; an unreadable cache is an empty one (the jobs just run again)."""
    try:
        cached = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable last-accessed cache %s: %s", path, exc)
        return {}
    return {k: v for k, v in cached.items() if isinstance(v, dict)} if isinstance(cached, dict) else {}


def write_cache(path: Path, reports: dict[str, dict[str, Any]]) -> None:
    """Only completed reports are written, never errors; a cache that cannot be written costs API calls, no more."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        partial.write_text(json.dumps(reports, default=_jsonable, sort_keys=True))
        partial.replace(path)  # atomic: a concurrent reader sees the old file or the new one
    except OSError as exc:
        log.warning("could not write last-accessed cache %s: %s", path, exc)


def _jsonable(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# -- transform ---------------------------------------------------------------------------------------------------


def transform_service_last_accessed(identity_uid: str, details: dict[str, Any], as_of: datetime) -> UsageRecord:
    """One usage row per principal: each reported service namespace with its last authentication (None: not in
    the tracking period), and the latest of them as the row's last use. `as_of` stands in for a report without a
    completion date."""
    services: dict[str, str | None] = {}
    for entry in details.get("ServicesLastAccessed") or []:
        moment = parse_timestamp(entry.get("LastAuthenticated"))
        services[str(entry.get("ServiceNamespace", "")).lower()] = moment.isoformat() if moment else None
    uses = [datetime.fromisoformat(v) for v in services.values() if v]
    completed = parse_timestamp(details.get("JobCompletionDate"))
    # The tracking period ends when the report was made, so a report read from the cache says the same thing.
    reported_at = completed or as_of
    return UsageRecord(
        subject_uid=identity_uid,
        usage_kind=USAGE_KIND,
        source=SOURCE,
        last_used_at=max(uses) if uses else None,
        detail={
            "services": dict(sorted(services.items())),
            "tracking_since": (reported_at - timedelta(days=TRACKING_DAYS)).isoformat(),
            "job_completed": completed.isoformat() if completed else None,
        },
    )


# -- one account -------------------------------------------------------------------------------------------------


def collect_last_accessed(
    iam: Any, settings: AwsSettings, account: str, arns: list[str], poll: Poll | None = None
) -> list[AnyRecord]:
    """Usage rows for every principal, from today's cache or a new report job; a principal whose report could not
    be had is a warning about that principal, and the others are still collected."""
    now = datetime.now(UTC)
    path = cache_file(settings, account, now.date())
    cached = read_cache(path)
    fresh = get_service_last_accessed(
        iam, [arn for arn in arns if arn not in cached], settings.max_concurrency, poll or Poll()
    )
    reports = {**cached, **{r.arn: r.details for r in fresh if r.details is not None}}
    if len(reports) > len(cached):
        write_cache(path, reports)
    records: list[AnyRecord] = [
        IssueRecord(subject_uid=uid(r.arn), source=f"account {account}", problem=r.error, severity="warning")
        for r in fresh
        if r.error is not None
    ]
    records += [transform_service_last_accessed(uid(arn), reports[arn], now) for arn in arns if arn in reports]
    return records
