"""Actions that read sensitive data or hand out credentials: granted on `Resource: "*"`, they reach every secret,
key, parameter or object of the account (AWS-DATA-001, AWS-CRED-001).

Sources: Cloudsplaining's data-exfiltration and credentials-exposure lists (salesforce/cloudsplaining,
shared/default-exclusions and privilege catalogue), and each service's Service Authorization Reference, which says
what the action returns. Names are matched against the installed catalogue; one the catalogue does not know is
simply not granted by it, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SensitiveFamily:
    key: str  # stable: part of the finding's fingerprint
    description: str  # "secret reads": what the message calls them
    actions: tuple[str, ...]


DATA_ACCESS: tuple[SensitiveFamily, ...] = (
    SensitiveFamily(
        "secret-reads",
        "secret reads",
        ("secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue"),
    ),
    SensitiveFamily(
        "decryption",
        "decryption actions",
        ("kms:Decrypt", "kms:ReEncryptFrom", "kms:GenerateDataKey", "kms:GenerateDataKeyPair"),
    ),
    SensitiveFamily(
        "parameter-reads",
        "parameter reads",
        ("ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:GetParameterHistory"),
    ),
    SensitiveFamily(
        "object-reads",
        "object reads",
        ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes"),
    ),
)

CREDENTIAL_RETURNING: tuple[SensitiveFamily, ...] = (
    SensitiveFamily(
        "credential-returning",
        "actions that return credentials",
        (
            "iam:CreateAccessKey",
            "iam:CreateServiceSpecificCredential",
            "iam:ResetServiceSpecificCredential",
            "ec2:GetPasswordData",
            "redshift:GetClusterCredentials",
            "redshift:GetClusterCredentialsWithIAM",
            "redshift-serverless:GetCredentials",
            "rds-db:connect",
            "lightsail:GetInstanceAccessDetails",
            "lightsail:DownloadDefaultKeyPair",
            "cognito-identity:GetCredentialsForIdentity",
            "cognito-identity:GetOpenIdTokenForDeveloperIdentity",
            "codeartifact:GetAuthorizationToken",
            "gamelift:GetInstanceAccess",
            "connect:GetFederationToken",
            "mediapackage:RotateIngestEndpointCredentials",
        ),
    ),
)
