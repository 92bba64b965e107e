"""Where each pane goes: the rows go to what is wrong.

The panes are not a fixed grid. A pane with a problem (warn, crit, error) gets the room; a pane
that is OK shrinks to its one summary line while another needs the rows; a source that is not
configured is one line, its hint; a terminal too small for the panes that matter shows one
pane at a time (the number keys switch, the tab bar carries every pane's status). Within its
column a pane gets no more rows than it can fill (:meth:`Pane.wanted_height`), so the rest
goes to the panes that can use them; one at a time, the others' lines fill the rows the shown
one cannot. btop and k9s fill any terminal this way.

:func:`plan` is pure arithmetic over the registry's list of panes, so a sixth source fits like
the other five. :class:`PaneArea` applies a plan, and only when it differs from the last one:
a new plan comes from a resize or a pane whose status or size of data changed, never from a
poll that changed nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from textual import on
from textual.containers import Container
from textual.message import Message

from zconsole.widgets.pane import Pane

#: Narrowest column of panes: the containers' problem, name and state columns side by side.
MIN_COLUMN_WIDTH = 60
#: At most this many columns of panes, however wide the terminal.
MAX_COLUMNS = 3
#: Fewest rows a pane in the grid gets (border, summary, a table header and a few rows);
#: below that the panes are shown one at a time.
MIN_PANE_HEIGHT = 10


class Need(Enum):
    """What a pane needs from the screen, from its latest status."""

    PROBLEM = "problem"  # warn, crit, error: show it whole
    QUIET = "quiet"  # ok, or no verdict yet: a line while something else needs the room
    FOCUSED = "focused"  # quiet, but the responder works in it: never folded to a line
    UNCONFIGURED = "unconfigured"  # always one line: its hint


@dataclass(frozen=True, slots=True)
class PaneState:
    name: str
    need: Need
    #: Rows the pane can fill at most; None: as many as it is given.
    wanted: int | None = None


@dataclass(frozen=True, slots=True)
class Place:
    x: int
    y: int
    width: int
    height: int
    #: Drawn as one line (title, status and summary, or the hint), not as a box.
    line: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    #: Pane name -> where it goes; a pane not in it is hidden.
    places: dict[str, Place]
    #: One pane at a time (the active one): the terminal is too small for the rest.
    tabs: bool


def split(total: int, wants: Sequence[int | None]) -> list[int]:
    """``total`` rows shared by panes that want ``wants`` rows (None: any number).

    Water-filling: equal shares, but a pane that wants less than its share gets what it wants
    and the rest is shared by the others; a pane that can fill any number counts as wanting
    :data:`MIN_PANE_HEIGHT` until the others have theirs, then takes the rows left. Rows
    nobody wants are spread evenly (a roomier pane beats a blank band). The result always sums
    to ``total``.
    """
    count = len(wants)
    if count == 0:
        return []
    asked = [MIN_PANE_HEIGHT if w is None else w for w in wants]
    given = [0] * count
    open_ = list(range(count))
    left = total
    while open_ and left > 0:
        share = left // len(open_)
        capped = [i for i in open_ if asked[i] - given[i] <= share]
        if not capped:
            for n, i in enumerate(open_):
                given[i] += share + (1 if n < left - share * len(open_) else 0)
            left = 0
            break
        for i in capped:
            left -= asked[i] - given[i]
            given[i] = asked[i]
            open_.remove(i)
    # Everyone has what they asked for: the rows left go to the panes that can fill any
    # number, else round all of them.
    takers = [i for i in range(count) if wants[i] is None] or list(range(count))
    for n in range(left):
        given[takers[n % len(takers)]] += 1
    return given


def _partitions(count: int, parts: int) -> Iterable[tuple[int, ...]]:
    """Every way to cut ``count`` panes, in order, into ``parts`` non-empty columns (sizes)."""
    if parts == 1:
        yield (count,)
        return
    for first in range(1, count - parts + 2):
        for rest in _partitions(count - first, parts - 1):
            yield (first, *rest)


def _unmet(panes: Sequence[PaneState], height: int) -> int:
    """Rows the panes of one column want beyond the column's height."""
    return max(0, sum(MIN_PANE_HEIGHT if p.wanted is None else p.wanted for p in panes) - height)


def _grid(
    full: Sequence[PaneState], width: int, height: int
) -> tuple[dict[str, Place], bool] | None:
    """``full`` in columns, in registry order; None when a pane would get too few rows.

    Of every count of columns (each at least :data:`MIN_COLUMN_WIDTH` wide) and every way to
    cut the panes into them, the one that leaves the fewest wanted rows unmet wins; on a tie,
    fewer columns (wider tables), then the more even cut. The bool says whether every pane
    got all the rows it wants.
    """
    if not full:
        return {}, True
    best: tuple[tuple[int, int, int], tuple[int, ...]] | None = None
    most = max(1, min(MAX_COLUMNS, width // MIN_COLUMN_WIDTH, len(full)))
    for columns in range(1, most + 1):
        for sizes in _partitions(len(full), columns):
            if max(sizes) * MIN_PANE_HEIGHT > height:
                continue
            start, unmet = 0, 0
            for size in sizes:
                unmet += _unmet(full[start : start + size], height)
                start += size
            score = (unmet, columns, max(sizes))
            if best is None or score < best[0]:
                best = (score, sizes)
    if best is None:
        return None
    (unmet, columns, _), sizes = best
    places: dict[str, Place] = {}
    x, start = 0, 0
    for column, size in enumerate(sizes):
        members = full[start : start + size]
        start += size
        column_width = width // columns + (1 if column < width % columns else 0)
        y = 0
        for pane, rows in zip(members, split(height, [p.wanted for p in members]), strict=True):
            places[pane.name] = Place(x, y, column_width, rows)
            y += rows
        x += column_width
    return places, unmet == 0


def plan(width: int, height: int, panes: Sequence[PaneState], active: str) -> Plan:
    """Where each of ``panes`` goes in a ``width`` x ``height`` area (pure)."""
    if width <= 0 or height <= 0 or not panes:
        return Plan({}, tabs=False)
    configured = [p for p in panes if p.need is not Need.UNCONFIGURED]
    problems = [p for p in configured if p.need is Need.PROBLEM]
    kept = [p for p in configured if p.need is not Need.QUIET]
    # The quiet panes are whole only when the ones with a problem have every row they want.
    choices: list[list[PaneState]] = [configured]
    if problems and len(kept) < len(configured):
        choices = [configured, kept]
    for index, full in enumerate(choices):
        lines = [p for p in panes if p not in full]
        grid = _grid(full, width, height - len(lines))
        if grid is None:
            continue
        places, satisfied = grid
        if problems and not satisfied and index < len(choices) - 1:
            continue
        y = height - len(lines)
        for pane in lines:  # below the grid, in registry order
            places[pane.name] = Place(0, y, width, 1, line=True)
            y += 1
        return Plan(places, tabs=False)
    return _tabs(width, height, panes, active)


def _tabs(width: int, height: int, panes: Sequence[PaneState], active: str) -> Plan:
    """One pane at a time: the active one, and below it, as lines, as many of the others as
    leave it the rows it wants (those with a problem first)."""
    shown = next((p for p in panes if p.name == active), panes[0])
    others = sorted((p for p in panes if p is not shown), key=lambda p: p.need is not Need.PROBLEM)
    keep = max(MIN_PANE_HEIGHT, shown.wanted or height)
    lines = others[: max(0, min(len(others), height - keep))]
    places = {shown.name: Place(0, 0, width, height - len(lines))}
    for row, pane in enumerate(sorted(lines, key=panes.index)):
        places[pane.name] = Place(0, height - len(lines) + row, width, 1, line=True)
    return Plan(places, tabs=True)


def need_of(pane: Pane) -> Need:
    result = pane.result
    if result is None:
        return Need.QUIET
    latest = result.latest
    if not latest.configured:
        return Need.UNCONFIGURED
    if latest.error is not None or latest.status.rank >= 2:  # warn and worse
        return Need.PROBLEM
    # The pane the responder is working in is not folded away under the cursor (a hidden
    # table would lose the focus and the row it was on).
    return Need.FOCUSED if pane.has_focus_within else Need.QUIET


class PaneArea(Container):
    """The panes of the registry's sources, placed by :func:`plan`."""

    DEFAULT_CSS = """
    PaneArea { height: 1fr; width: 1fr; overflow: hidden hidden; }
    PaneArea > Pane { position: absolute; }
    """

    class ModeChanged(Message):
        """The panes went from a grid to one at a time, or back."""

        def __init__(self, tabs: bool) -> None:
            super().__init__()
            self.tabs = tabs

    def __init__(self, panes: Iterable[Pane], *, id: str | None = None) -> None:
        super().__init__(*panes, id=id)
        self.active = ""
        self._plan: Plan | None = None

    @property
    def tabs(self) -> bool:
        return self._plan is not None and self._plan.tabs

    def show_active(self, name: str) -> None:
        """The pane shown when there is room for one only."""
        self.active = name
        if self._plan is None or self._plan.tabs:
            self.replan()

    def on_resize(self) -> None:
        self.replan()

    @on(Pane.NeedChanged)
    def _need_changed(self, message: Pane.NeedChanged) -> None:
        message.stop()
        self.replan()

    def states(self) -> list[PaneState]:
        return [PaneState(p.source, need_of(p), p.wanted_height()) for p in self.query(Pane)]

    def replan(self) -> None:
        """Place the panes again; touches only the panes whose place changed."""
        size = self.size
        if size.width <= 0 or size.height <= 0:
            return
        new = plan(size.width, size.height, self.states(), self.active)
        if new == self._plan:
            return
        before = self._plan
        self._plan = new
        for pane in self.query(Pane):
            place = new.places.get(pane.source)
            if before is not None and before.places.get(pane.source) == place:
                continue
            if place is None:
                pane.display = False
                continue
            pane.set_class(place.line, "-line")
            pane.styles.offset = (place.x, place.y)
            pane.styles.width = place.width
            pane.styles.height = place.height
            pane.display = True
        if before is None or before.tabs != new.tabs:
            self.post_message(self.ModeChanged(new.tabs))
