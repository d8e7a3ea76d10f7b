"""The update-plan rule, shared by the server's /updates endpoint and the installer client.

From the installed version, repeatedly take the step that applies to it and goes
furthest (newest publication among equals), until no step applies; with a `target`,
only steps that do not pass it are considered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from distro.core.versions import in_range, version_tuple

T = TypeVar("T")
MAX_STEPS = 1000


def plan_path(
    candidates: Iterable[T],
    current: str,
    *,
    version: Callable[[T], str],
    applies_to: Callable[[T], str | None],
    tiebreak: Callable[[T], object],
    target: str | None = None,
) -> list[T]:
    """Ordered steps from `current`; `candidates` are patches and feature packs only."""
    pool = list(candidates)
    at = version_tuple(current, "from")
    limit = version_tuple(target, "to") if target else None
    plan: list[T] = []
    while len(plan) < MAX_STEPS:
        steps = [
            c
            for c in pool
            if at < version_tuple(version(c))
            and (limit is None or version_tuple(version(c)) <= limit)
            and applies_to(c)
            and in_range(at, applies_to(c))
        ]
        if not steps:
            break
        best = max(steps, key=lambda c: (version_tuple(version(c)), tiebreak(c)))
        plan.append(best)
        at = version_tuple(version(best))
    return plan
