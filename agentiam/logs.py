"""Logs as JSON lines (`--log-format json`), for log pipelines that parse rather than read."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (ISO 8601, UTC), level, logger, message.

    Tracebacks are added as `exc_info` only when `with_tracebacks` (debug): at lower verbosity the message already
    says what failed, and a traceback would drown it.
    """

    def __init__(self, with_tracebacks: bool = False) -> None:
        super().__init__()
        self.with_tracebacks = with_tracebacks

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.with_tracebacks and record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
