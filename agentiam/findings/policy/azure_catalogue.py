"""Azure resource-provider operations, indexed once as bitsets (the Azure counterpart of catalogue.py).

Every known operation gets one bit, in the order of its lower-cased name, so each provider occupies a contiguous
run and a set of operations is one Python int. Control-plane operations (a role's Actions) and data actions (its
DataActions) share the bit space and are told apart by two masks: a pattern in Actions only ever matches control
operations, so `*` never grants a data action.

The list is agentiam's own data file, derived from Azure's provider-operation listings by
scripts/update_azure_operations.py (names and the data-action flag only).
"""

from __future__ import annotations

import functools
import gzip
import re
from collections.abc import Iterable
from importlib import resources

from agentiam.findings.policy.catalogue import mask_from_indices

DATA_FILE = "azure_operations.tsv.gz"


@functools.lru_cache(maxsize=8192)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """An Azure operation pattern: `*` is the only wildcard, matching any run of characters (slashes included).

    A whole `/*/` segment may also match nothing: Azure's own Managed Identity Operator grants
    `userAssignedIdentities/*/assign/action` to mean `userAssignedIdentities/assign/action`.
    """
    segments = pattern.lower().split("/*/")
    parts = [".*".join(re.escape(piece) for piece in segment.split("*")) for segment in segments]
    return re.compile("/(?:.*/)?".join(parts), re.DOTALL)


def pattern_matches(pattern: str, operation: str) -> bool:
    return glob_regex(pattern).fullmatch(operation.lower()) is not None


class OperationCatalogue:
    def __init__(self, operations: Iterable[tuple[str, bool]], *, version: str) -> None:
        unique: dict[str, tuple[str, bool]] = {}
        for name, is_data in operations:  # Azure lists a few names twice in different case: the first wins
            unique.setdefault(name.lower(), (name, is_data))
        ordered = sorted(unique)
        self.version = version
        self.names: list[str] = [unique[key][0] for key in ordered]
        self._bits: dict[str, int] = {key: i for i, key in enumerate(ordered)}
        size = len(ordered)
        self.all_mask = (1 << size) - 1
        self.data_mask = mask_from_indices((i for i, key in enumerate(ordered) if unique[key][1]), size)
        self.control_mask = self.all_mask & ~self.data_mask
        self._providers: dict[str, tuple[int, list[str]]] = {}
        for i, key in enumerate(ordered):
            self._providers.setdefault(key.partition("/")[0], (i, []))[1].append(key)
        self._expanded: dict[str, int] = {}  # by lower-cased pattern, both planes

    def __len__(self) -> int:
        return len(self.names)

    def index(self, operation: str) -> int | None:
        return self._bits.get(operation.lower())

    def is_data_action(self, operation: str) -> bool | None:
        i = self.index(operation)
        return None if i is None else bool(self.data_mask >> i & 1)

    def expand(self, pattern: str, *, data: bool) -> int:
        """Bits of the operations of one plane that a pattern matches (0 when none); memoised per pattern."""
        key = pattern.lower()
        bits = self._expanded.get(key)
        if bits is None:  # both planes at once: a role names most patterns in Actions and NotActions alike
            bits = self._expanded[key] = self._expand_uncached(key)
        return bits & (self.data_mask if data else self.control_mask)

    def _expand_uncached(self, pattern: str) -> int:
        if pattern.strip("*") == "":
            return self.all_mask
        if "*" not in pattern:
            i = self._bits.get(pattern)
            return 0 if i is None else 1 << i
        provider = pattern.partition("/")[0]
        rx = glob_regex(pattern)
        if "*" in provider:
            return mask_from_indices((i for i, name in enumerate(self._bits) if rx.fullmatch(name)), len(self))
        run = self._providers.get(provider)
        if run is None:
            return 0
        start, names = run
        local = mask_from_indices((offset for offset, name in enumerate(names) if rx.fullmatch(name)), len(names))
        return local << start

    def names_of(self, bits: int, limit: int) -> list[str]:
        """The first `limit` operation names in `bits`, in sorted order."""
        found: list[str] = []
        while bits and len(found) < limit:
            lowest = bits & -bits
            found.append(self.names[lowest.bit_length() - 1])
            bits ^= lowest
        return found


def load_operation_catalogue() -> OperationCatalogue:
    raw = resources.files("agentiam.findings.data").joinpath(DATA_FILE).read_bytes()
    lines = gzip.decompress(raw).decode("utf-8").splitlines()
    version = lines[0].removeprefix("# source: ") if lines and lines[0].startswith("#") else "unknown"
    rows = (line.split("\t") for line in lines if line and not line.startswith("#"))
    return OperationCatalogue(((name, plane == "data") for name, plane in rows), version=version)


@functools.cache
def default_operation_catalogue() -> OperationCatalogue:
    return load_operation_catalogue()
