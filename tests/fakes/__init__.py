"""Fakes of external systems that the real client libraries talk to (there is no cloud or cluster here)."""
