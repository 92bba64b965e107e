"""The one blocking-tree order both database panes show."""

from __future__ import annotations

from zconsole.checks.blocking import Node, order


def test_roots_first_longest_held_first_then_waiters_depth_first() -> None:
    held = {1: 5.0, 2: 50.0, 3: 1.0, 4: 2.0, 5: 9.0}
    tree = order({3: [1], 4: [3], 5: [2], 6: None}, lambda i: held.get(i, 0.0))
    assert tree == [
        Node(2, (), 0, 2),
        Node(5, (2,), 1, 2),
        Node(1, (), 0, 1),
        Node(3, (1,), 1, 1),
        Node(4, (3,), 2, 1),
    ]


def test_blocked_by_several_shows_once_and_a_cycle_still_has_a_root() -> None:
    tree = order({3: [1, 2]}, lambda i: float(i))
    assert [(n.id, n.depth) for n in tree] == [(2, 0), (3, 1), (1, 0)]
    cycle = order({1: [2], 2: [1]}, lambda i: 0.0)
    assert [(n.id, n.depth, n.root) for n in cycle] == [(1, 0, 1), (2, 1, 1)]
    assert order({}, lambda i: 0.0) == []
