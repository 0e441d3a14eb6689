"""IAM service last accessed: report jobs polled with backoff, bounded concurrency, failures as issues, a daily cache.

moto has no service-last-accessed API, so the two operations are answered by `botocore.stub.Stubber`, which checks
every request and response against the real API model; the rest of the live collector talks to moto.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

import agentiam.collectors.aws.iam as iam_collector
from agentiam.collectors.aws.last_accessed import (
    LastAccessed,
    Poll,
    cache_file,
    collect_last_accessed,
    get_service_last_accessed,
    transform_service_last_accessed,
)
from agentiam.collectors.base import CallStats, CollectContext
from agentiam.config import Settings, load_settings
from agentiam.inventory.records import AnyRecord, IssueRecord, UsageRecord

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/support-agent"
USER = f"arn:aws:iam::{ACCOUNT}:user/ci-deployer"
GENERATE = "generate_service_last_accessed_details"
GET = "get_service_last_accessed_details"
STARTED = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
S3_USED = datetime(2025, 5, 30, 8, 0, tzinfo=UTC)
# Job ids are UUIDs: the API model rejects anything shorter than 36 characters.
JOB_1, JOB_ROLE, JOB_USER = (f"0b5e1c2a-7d3f-4e6b-9a8c-{n:012d}" for n in range(3))


def service(namespace: str, last: datetime | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"ServiceName": namespace.upper(), "ServiceNamespace": namespace}
    if last is not None:
        entry["LastAuthenticated"] = last
    return entry


def report(status: str = "COMPLETED", services: list[dict[str, Any]] | None = None, **more: Any) -> dict[str, Any]:
    """A GetServiceLastAccessedDetails page, with the fields the API model requires."""
    return {
        "JobStatus": status,
        "JobType": "SERVICE_LEVEL",
        "JobCreationDate": STARTED,
        "JobCompletionDate": STARTED,  # required by the model, even while the job runs
        "ServicesLastAccessed": services or [],
        **more,
    }


def expect_job(stubber: Stubber, arn: str, job_id: str, *pages: dict[str, Any]) -> None:
    stubber.add_response(GENERATE, {"JobId": job_id}, {"Arn": arn, "Granularity": "SERVICE_LEVEL"})
    for page in pages:
        stubber.add_response(GET, page, {"JobId": job_id})


class Sleeps:
    """Stands in for time.sleep: records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def iam() -> Any:
    return boto3.client("iam", region_name="us-east-1")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # One job at a time, so that the stubbed answers are consumed in a known order.
    overrides = {"db": str(tmp_path / "x.db"), "aws": {"last_accessed": True, "max_concurrency": 1}}
    return load_settings(None, overrides, environ={})


# -- one job -----------------------------------------------------------------------------------------------------


def test_a_job_is_polled_with_doubling_backoff_capped_at_8_seconds_until_it_completes(iam: Any) -> None:
    sleeps = Sleeps()
    with Stubber(iam) as stubber:
        expect_job(stubber, ROLE, JOB_1, *[report("IN_PROGRESS")] * 6, report(services=[service("s3", S3_USED)]))
        (result,) = get_service_last_accessed(iam, [ROLE], max_concurrency=1, poll=Poll(sleep=sleeps))
        stubber.assert_no_pending_responses()
    assert sleeps.delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert result.error is None and result.details is not None
    assert result.details["ServicesLastAccessed"] == [service("s3", S3_USED)]


def test_the_total_wait_is_bounded_and_a_job_still_running_is_an_error(iam: Any) -> None:
    sleeps = Sleeps()
    with Stubber(iam) as stubber:
        expect_job(stubber, ROLE, JOB_1, *[report("IN_PROGRESS")] * 4)
        (result,) = get_service_last_accessed(iam, [ROLE], 1, Poll(max_wait=3.0, sleep=sleeps))
        stubber.assert_no_pending_responses()
    assert sleeps.delays == [0.5, 1.0, 2.0]  # 3.5 s waited: no further poll
    assert result.details is None and result.error is not None and "still in progress" in result.error


def test_every_page_of_a_report_is_read(iam: Any) -> None:
    with Stubber(iam) as stubber:
        expect_job(stubber, ROLE, JOB_1, report(services=[service("s3", S3_USED)], IsTruncated=True, Marker="m1"))
        stubber.add_response(GET, report(services=[service("dynamodb")]), {"JobId": JOB_1, "Marker": "m1"})
        (result,) = get_service_last_accessed(iam, [ROLE], 1, Poll(sleep=Sleeps()))
        stubber.assert_no_pending_responses()
    assert result.details is not None
    assert [s["ServiceNamespace"] for s in result.details["ServicesLastAccessed"]] == ["s3", "dynamodb"]


def test_a_failed_job_is_a_warning_about_that_principal_never_a_crash(iam: Any, settings: Settings) -> None:
    failed = report("FAILED", Error={"Message": "internal error", "Code": "InternalFailure"})
    with Stubber(iam) as stubber:
        expect_job(stubber, ROLE, JOB_1, failed)
        records = collect_last_accessed(iam, settings.aws, ACCOUNT, [ROLE], Poll(sleep=Sleeps()))
    (issue,) = records
    assert isinstance(issue, IssueRecord)
    assert issue.subject_uid == f"aws:{ROLE}" and issue.severity == "warning"
    assert "FAILED: internal error" in issue.problem
    assert not cache_file(settings.aws, ACCOUNT, datetime.now(UTC).date()).exists()  # errors are never cached


class SlowReports:
    """A client whose jobs take a while, counting how many run at once (Stubber answers in one fixed order, which
    concurrent jobs do not keep)."""

    def __init__(self) -> None:
        self.running = self.peak = 0
        self.lock = threading.Lock()

    def generate_service_last_accessed_details(self, Arn: str, Granularity: str) -> dict[str, Any]:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(0.02)
        with self.lock:
            self.running -= 1
        return {"JobId": Arn}

    def get_service_last_accessed_details(self, JobId: str) -> dict[str, Any]:
        return report()


def test_concurrency_is_bounded() -> None:
    client = SlowReports()
    arns = [f"arn:aws:iam::{ACCOUNT}:role/r{i}" for i in range(12)]
    results = get_service_last_accessed(client, arns, max_concurrency=3, poll=Poll(sleep=Sleeps()))
    assert [r.arn for r in results] == arns and all(r.details for r in results)
    assert 2 <= client.peak <= 3


def test_the_report_becomes_one_usage_row_with_each_service_and_the_latest_use() -> None:
    details = report(services=[service("s3", S3_USED), service("dynamodb")])
    row = transform_service_last_accessed(f"aws:{ROLE}", details, STARTED)
    assert row == UsageRecord(
        subject_uid=f"aws:{ROLE}",
        usage_kind="service_last_accessed",
        source="iam:GetServiceLastAccessedDetails",
        last_used_at=S3_USED,
        detail={
            "services": {"dynamodb": None, "s3": S3_USED.isoformat()},
            "tracking_since": "2024-04-27T09:00:00+00:00",
            "job_completed": STARTED.isoformat(),
        },
    )
    assert LastAccessed(ROLE).details is None


# -- the live collector ------------------------------------------------------------------------------------------


class LastAccessedStubber(Stubber):
    """Stubs the two last-accessed operations only; every other call of the same client goes on to moto."""

    OPERATIONS = ("GenerateServiceLastAccessedDetails", "GetServiceLastAccessedDetails")

    def activate(self) -> None:
        # Stubber.activate hooks every operation ("*.*"); these are the same handlers, scoped to two operations.
        for operation in self.OPERATIONS:
            events = self.client.meta.events
            events.register_first(f"before-parameter-build.iam.{operation}", self._assert_expected_params)
            events.register(f"before-call.iam.{operation}", self._get_response_handler)


@pytest.fixture
def account() -> Iterator[None]:
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"bedrock.amazonaws.com"},"Action":"sts:AssumeRole"}]}'  # noqa: E501
        iam.create_role(RoleName="support-agent", AssumeRolePolicyDocument=trust)
        iam.create_user(UserName="ci-deployer")
        yield


Job = tuple[str, str, dict[str, Any] | None]  # (arn, job id, report); a report of None is an AccessDenied


@dataclass
class Runs:
    """The answers of each collector run, in order: each IAM client the collector makes gets a stubber that gives
    the next run's answers (none queued: any last-accessed call fails the test)."""

    queued: list[list[Job]] = field(default_factory=list)
    stubbers: list[Stubber] = field(default_factory=list)

    def all_answered(self) -> None:
        for stubber in self.stubbers:
            stubber.assert_no_pending_responses()


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> Runs:
    runs = Runs()
    make_client = iam_collector.client

    def client(session: Any, service_name: str, *args: Any, **kwargs: Any) -> Any:
        made = make_client(session, service_name, *args, **kwargs)
        if service_name == "iam":
            stubber = LastAccessedStubber(made)
            for arn, job_id, page in runs.queued.pop(0):
                if page is None:
                    stubber.add_client_error(
                        GENERATE,
                        "AccessDenied",
                        f"not authorized to perform: iam:GenerateServiceLastAccessedDetails on resource: {arn}",
                        403,
                        expected_params={"Arn": arn, "Granularity": "SERVICE_LEVEL"},
                    )
                else:
                    expect_job(stubber, arn, job_id, page)
            stubber.activate()
            runs.stubbers.append(stubber)
        return made

    monkeypatch.setattr(iam_collector, "client", client)
    monkeypatch.setattr("agentiam.collectors.aws.last_accessed.Poll", lambda: Poll(sleep=Sleeps()))
    return runs


def run_collector(settings: Settings) -> list[AnyRecord]:
    collector = iam_collector.AwsIamCollector()
    ctx = CollectContext(settings=settings, aws_session_factory=boto3.Session, stats=CallStats())
    (scope,) = collector.scopes(ctx)
    return list(collector.collect(ctx, scope))


def usage_rows(records: list[AnyRecord]) -> dict[str, UsageRecord]:
    return {r.subject_uid: r for r in records if isinstance(r, UsageRecord) and r.usage_kind == "service_last_accessed"}


def test_access_denied_for_one_principal_is_a_warning_and_the_others_are_collected(
    account: None, settings: Settings, runs: Runs
) -> None:
    runs.queued.append([(ROLE, JOB_ROLE, None), (USER, JOB_USER, report(services=[service("s3")]))])
    records = run_collector(settings)
    runs.all_answered()
    (issue,) = [r for r in records if isinstance(r, IssueRecord)]
    assert issue.subject_uid == f"aws:{ROLE}" and issue.severity == "warning"
    assert "iam:GenerateServiceLastAccessedDetails: AccessDenied" in issue.problem
    assert usage_rows(records)[f"aws:{USER}"].detail["services"] == {"s3": None}


def test_a_second_run_the_same_day_reads_the_cache_instead_of_starting_jobs(
    account: None, settings: Settings, runs: Runs, tmp_path: Path
) -> None:
    runs.queued.append(
        [
            (ROLE, JOB_ROLE, report(services=[service("s3", S3_USED)])),
            (USER, JOB_USER, report(services=[service("ecr")])),
        ]
    )
    runs.queued.append([])  # the second run: no job may be started
    before = run_collector(settings)
    after = run_collector(settings)
    runs.all_answered()
    assert usage_rows(after) == usage_rows(before)
    assert usage_rows(after)[f"aws:{ROLE}"].last_used_at == S3_USED
    cached = tmp_path / "cache" / "agentiam" / "last-accessed" / f"{ACCOUNT}-{datetime.now(UTC).date()}.json"
    assert set(json.loads(cached.read_text())) == {ROLE, USER}


def test_without_the_setting_no_report_is_requested(account: None, settings: Settings, runs: Runs) -> None:
    runs.queued.append([])
    off = settings.model_copy(update={"aws": settings.aws.model_copy(update={"last_accessed": False})})
    assert not usage_rows(run_collector(off))
