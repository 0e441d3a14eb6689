"""Azure: managed identities and service principals, their role assignments, function apps and AI agents."""
