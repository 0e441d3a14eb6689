"""Reading timestamps back from the inventory, whatever pandas or the driver hands over."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from agentiam.inventory.views import as_utc


@pytest.mark.parametrize("missing", [None, pd.NaT, float("nan")])
def test_a_missing_timestamp_is_none(missing: object) -> None:
    assert as_utc(missing) is None


def test_timestamps_come_back_aware_and_in_utc() -> None:
    naive = datetime(2025, 1, 2, 3, 4, 5)
    assert as_utc(naive) == naive.replace(tzinfo=UTC)
    assert as_utc(pd.Timestamp("2025-01-02T03:04:05Z")) == naive.replace(tzinfo=UTC)
    assert isinstance(as_utc(pd.Timestamp("2025-01-02T03:04:05Z")), datetime)
