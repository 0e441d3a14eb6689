"""Kubernetes: agent pods, their service accounts, effective RBAC and links into cloud IAM."""
