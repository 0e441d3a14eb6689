"""The OCSF Detection Findings (class 2004) of a scan, built with `py-ocsf-models`, for the OCSF report.

The events are the library's own pydantic models, so whatever the report writes has passed the model's validation.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from py_ocsf_models.events.findings.activity_id import ActivityID
from py_ocsf_models.events.findings.class_uid import ClassUID
from py_ocsf_models.events.findings.detection_finding import DetectionFinding
from py_ocsf_models.events.findings.detection_finding_type_id import DetectionFindingTypeID
from py_ocsf_models.events.findings.severity_id import SeverityID
from py_ocsf_models.events.findings.status_id import StatusID
from py_ocsf_models.objects.analytic import Analytic
from py_ocsf_models.objects.cloud import Cloud
from py_ocsf_models.objects.evidence_artifacts import EvidenceArtifacts
from py_ocsf_models.objects.finding_info import FindingInformation
from py_ocsf_models.objects.metadata import Metadata
from py_ocsf_models.objects.product import Product
from py_ocsf_models.objects.remediation import Remediation
from py_ocsf_models.objects.resource_details import ResourceDetails

from agentiam.reports.json_report import TOOL_NAME
from agentiam.reports.model import FindingRow, ReportData
from agentiam.reports.safety import sorted_findings

SEVERITY_IDS: dict[str, SeverityID] = {
    "info": SeverityID.Informational,
    "low": SeverityID.Low,
    "medium": SeverityID.Medium,
    "high": SeverityID.High,
    "critical": SeverityID.Critical,
}

# OCSF's status is the review state of a finding. agentiam has no review workflow, so a finding it has seen before
# but nobody has triaged is still "New: yet to be reviewed"; "In Progress" would claim a review that isn't happening.
# That a finding persists from an earlier scan is said by the activity (Update), not the status.
# An open finding that a suppression or an access-review exception covers is "suppressed" (see `_review_status`).
STATUS_IDS: dict[str, StatusID] = {
    "new": StatusID.New,
    "persisting": StatusID.New,
    "reopened": StatusID.New,  # back after it was resolved: to be reviewed again
    "suppressed": StatusID.Suppressed,
    "resolved": StatusID.Resolved,
}

# What this scan did to the finding: raised it, saw it again, or saw it gone. A suppressed finding is still there.
ACTIVITY_IDS: dict[str, ActivityID] = {
    "new": ActivityID.Create,
    "persisting": ActivityID.Update,
    "reopened": ActivityID.Update,  # the schema version the models implement has no Reopen activity
    "suppressed": ActivityID.Update,
    "resolved": ActivityID.Close,
}

# The providers that are clouds in OCSF's sense (the `cloud` object); a Kubernetes subject has none.
CLOUD_PROVIDERS: dict[str, str] = {"aws": "AWS", "azure": "Azure"}

_ANALYTIC_RULE = 1  # OCSF analytic type_id 1: Rule


def detection_findings(data: ReportData) -> Iterator[DetectionFinding]:
    """Every finding of the scan, open and resolved, as a validated Detection Finding, worst first."""
    product = Product(name=TOOL_NAME, vendor_name=TOOL_NAME, version=data.tool_version)
    # Every event is this scan's observation of a finding (raised, seen again or gone), hence the scan's time.
    scan_time = epoch_ms(data.scan.started_at)
    for finding in sorted_findings(data.findings):
        yield _detection_finding(finding, product, scan_time)


def _detection_finding(finding: FindingRow, product: Product, scan_time: int) -> DetectionFinding:
    activity = ACTIVITY_IDS.get(finding.status, ActivityID.Other)
    status = STATUS_IDS.get(_review_status(finding), StatusID.Other)
    severity = SEVERITY_IDS.get(finding.severity, SeverityID.Other)
    cloud = CLOUD_PROVIDERS.get(finding.provider)
    return DetectionFinding(
        metadata=Metadata(product=product),
        time=scan_time,
        activity_id=activity,
        activity_name=activity.name,
        type_uid=DetectionFindingTypeID(ClassUID.DetectionFinding * 100 + activity),
        type_name=f"Detection Finding: {activity.name}",
        # "Other" keeps the source's own word in the caption, as OCSF asks.
        severity_id=severity,
        severity=finding.severity if severity is SeverityID.Other else severity.name,
        status_id=status,
        status=finding.status if status is StatusID.Other else status.name,
        status_detail=finding.status,
        finding_info=FindingInformation(
            uid=finding.fingerprint,
            title=finding.title,
            desc=finding.message,
            types=[finding.category],
            first_seen_time=epoch_ms(finding.first_seen_at),
            last_seen_time=epoch_ms(finding.last_seen_at),
            analytic=Analytic(uid=finding.rule_id, name=finding.title, type_id=_ANALYTIC_RULE, type="Rule"),
        ),
        resources=[_resource(finding)],
        cloud=Cloud(provider=cloud) if cloud else None,
        remediation=Remediation(desc=finding.remediation, references=finding.references or None),
        evidences=[EvidenceArtifacts(name=finding.rule_id, data=finding.evidence)] if finding.evidence else None,
        unmapped={"base_severity": finding.base_severity, **_suppression(finding)},
    )


def _review_status(finding: FindingRow) -> str:
    """Suppression is a review state of an open finding; a resolved finding is resolved, suppressed or not."""
    return "suppressed" if finding.suppressed and finding.status != "resolved" else finding.status


def _suppression(finding: FindingRow) -> dict[str, Any]:
    return {"suppression": finding.suppression} if finding.suppression else {}


def _resource(finding: FindingRow) -> ResourceDetails:
    data: dict[str, Any] = {"provider": finding.provider, "scope": finding.scope, "is_agent": finding.subject_is_agent}
    return ResourceDetails(
        uid=finding.subject_uid,
        name=finding.subject_name,
        type=finding.subject_kind,
        data=data,
        labels=["agent"] if finding.subject_is_agent else None,
    )


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, OCSF's timestamp. A naive datetime is taken as UTC, as the store keeps them."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)
