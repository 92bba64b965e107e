"""The blocking tree of a database: who waits on whom, root blockers first.

Both database sources find waits their own way (pg_blocking_pids, InnoDB's lock waits) and keep
their own records; the order they show them in is the same and is worked out here once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar


@dataclass(frozen=True, slots=True)
class Node:
    """One place in the tree, in display order."""

    id: int
    #: Its direct blockers; empty for a root blocker.
    blocked_by: tuple[int, ...]
    #: 0 for a root blocker, 1 for one waiting on it, ...
    depth: int
    #: The root it is shown under.
    root: int


def order(
    blocked_by: Mapping[int, Sequence[int] | None], held: Callable[[int], float]
) -> list[Node]:
    """Root blockers first (the longest `held` first), each followed by those waiting behind
    it, depth first. One blocked by several is shown under the first; a cycle (a deadlock the
    server is about to break) starts at its lowest id."""
    waits = {waiter: tuple(b) for waiter, b in blocked_by.items() if b}
    if not waits:
        return []
    waiters_of: dict[int, list[int]] = {}
    for waiter, blockers in waits.items():
        for b in blockers:
            waiters_of.setdefault(b, []).append(waiter)
    roots = [b for b in waiters_of if b not in waits] or [min(waiters_of)]
    roots.sort(key=held, reverse=True)
    out: list[Node] = []
    seen: set[int] = set()

    def visit(node: int, depth: int, root: int) -> None:
        if node in seen:
            return
        seen.add(node)
        out.append(Node(node, waits.get(node, ()), depth, root))
        for waiter in sorted(waiters_of.get(node, ()), key=held, reverse=True):
            visit(waiter, depth + 1, root)

    for root in roots:
        visit(root, 0, root)
    return out


class Placed(Protocol):
    """A source's record of one place in the tree (its depth and the root it is shown under)."""

    @property
    def depth(self) -> int: ...

    @property
    def root(self) -> int: ...


P = TypeVar("P", bound=Placed)


def root_and_waiters(
    tree: Sequence[P], ident: Callable[[P], int], wanted: int | None = None
) -> tuple[P, list[P]]:
    """The root blocker to act on — the one ``wanted`` names, else the first (the longest
    held) — and those waiting behind it. Raises ValueError when nothing is blocked."""
    roots = [b for b in tree if b.depth == 0]
    if not roots:
        raise ValueError("nothing is blocked: there is no root blocker")
    root = next((b for b in roots if ident(b) == wanted), roots[0])
    return root, [b for b in tree if b.root == ident(root) and b.depth > 0]
