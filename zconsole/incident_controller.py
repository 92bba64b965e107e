"""The app's incident controller: the one object that talks to the store for the UI.

The app holds it as ``app.incidents`` (None when the store could not be opened). The action
runner and anything else that wants a timeline line calls :meth:`IncidentController.record`.
No Textual here: the incident flow turns the controller's answers into widget updates.

One error policy: no method raises :class:`StoreUnavailable`. A store that stops answering
(locked, disk full, read-only) is kept in :attr:`IncidentController.problem` until it answers
again, the method returns its "nothing" (None, [], 0), and a failed write the user asked for is
told once through ``on_error``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from zconsole.checks.base import CheckResult
from zconsole.checks.incident import (
    BAD,
    KIND_CHECK,
    KIND_NOTE,
    KIND_UPDATE,
    RESOLVED,
    CheckWatch,
    Clocks,
    Entry,
    Incident,
    IncidentSettings,
    clocks,
    default_author,
)
from zconsole.checks.secrets import redact
from zconsole.store import IncidentStore, StoreUnavailable

if TYPE_CHECKING:
    from zconsole.notify.poster import Notifier
    from zconsole.notify.settings import NotifyTarget

#: Seconds between polls for other processes' entries (the issue asks for "within 2 s").
POLL_INTERVAL_S = 1.0


class IncidentController:
    """Open incident, timeline writes, cross-process polling and the check watch."""

    def __init__(
        self,
        store: IncidentStore,
        config: IncidentSettings,
        *,
        author: str | None = None,
        on_error: Callable[[str], None] | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.store = store
        #: Where status updates are posted (None: no receivers); the caller delivers the outbox.
        self.notifier = notifier
        self.config = config
        self.author = author or default_author()
        self.on_error = on_error
        self.watch = CheckWatch(config.hysteresis_s)
        self.open_incident: Incident | None = None
        #: The incident this process resolved last (its "resolved" update is still to post).
        self.last_resolved: Incident | None = None
        #: When each check last turned crit/unreachable (UTC), for the incident's start time.
        self.bad_since: dict[str, datetime] = {}
        #: Why the store does not answer right now ("" while it does).
        self.problem = ""
        self.last_seen_id = store.last_entry_id()
        self._load_open()

    @classmethod
    def open(
        cls,
        path: str | Path | None,
        config: IncidentSettings,
        *,
        on_error: Callable[[str], None] | None = None,
        read_only: bool = False,
        notify: Sequence[NotifyTarget] = (),
    ) -> IncidentController | str:
        """The controller of the store at ``path`` (read only when asked, or when this user may
        only read it; with the outbox of the ``notify`` receivers beside it); or, when it cannot
        be opened at all (locked, corrupt, newer schema), the one line saying why."""
        try:
            store = IncidentStore.open(path or None, read_only=read_only)
            notifier = None
            # A viewer posts nothing and delivers nothing: that would write to the store too.
            if notify and not store.read_only:
                from zconsole.notify.poster import Notifier

                notifier = Notifier.for_store(notify, store)
            return cls(store, config, on_error=on_error, notifier=notifier)
        except StoreUnavailable as exc:
            return str(exc)

    @property
    def read_only(self) -> bool:
        """Only viewing: ``--read-only``, or a store this user may read but not write."""
        return self.store.read_only

    @property
    def draft_key(self) -> str:
        return f"note:{self.author}"

    @contextmanager
    def _store(self, *, tell: bool = False, suffix: str = "") -> Iterator[None]:
        """Run store calls under the one error policy (see the module docstring). ``tell``:
        a failure is the user's to hear (what they asked for did not happen), ``suffix`` added
        to the store's reason."""
        try:
            yield
        except StoreUnavailable as exc:
            self.problem = str(exc)
            if tell and self.on_error is not None:
                self.on_error(str(exc) + suffix)
        else:
            self.problem = ""

    def _load_open(self) -> None:
        open_now = self.store.open_incidents()
        self.open_incident = open_now[-1] if open_now else None

    # -- the interface the action runner uses --------------------------------------------------

    def record(self, kind: str, text: str) -> None:
        """Write a timeline entry to the open incident; no-op when none is open."""
        incident = self.open_incident
        if incident is None or self.read_only:
            return
        with self._store(tell=True):
            self.store.add_entry(incident.id, kind, redact(text), self.author)

    # -- lifecycle -----------------------------------------------------------------------------

    def declare(
        self,
        *,
        title: str,
        severity: str,
        impact: str = "",
        services: tuple[str, ...] = (),
        commander: str = "",
        started_at: datetime | None = None,
    ) -> Incident | None:
        """Declare; the start is when the first check now failing went bad (else now), so
        that time to acknowledge means something."""
        if started_at is None and self.bad_since:
            started_at = min(self.bad_since.values())
        with self._store(tell=True):
            incident = self.store.declare(
                title=title,
                severity=severity,
                impact=impact,
                services=services,
                author=self.author,
                commander=commander or self.config.commander or self.author,
                responders=(self.author,),
                scheme=self.config.severity_scheme,
                started_at=started_at,
            )
            self.open_incident = incident
            self.last_resolved = None
            self.watch.reset()
            self._tell(incident, declared=True)
            return incident
        return None

    def _tell(self, incident: Incident, *, declared: bool) -> None:
        """Queue a declaration or status change for the receivers that follow them (status
        pages). Inside a store call: the outbox is in the store and shares its policy."""
        if self.notifier is not None:
            self.notifier.lifecycle(incident, declared=declared, author=self.author)

    def failing(self, names: list[str]) -> tuple[str, ...]:
        """Of ``names``, the checks that are critical or unreachable now (the services a
        declaration proposes as affected)."""
        return tuple(name for name in names if name in self.bad_since)

    def note(self, text: str, *, corrects: int | None = None) -> Entry | None:
        incident = self.open_incident
        if incident is None or not text.strip():
            return None
        with self._store(tell=True, suffix=" — the note is kept as a draft"):
            if corrects is not None:
                entry = self.store.correct(corrects, text, self.author)
            else:
                entry = self.store.add_entry(incident.id, KIND_NOTE, text, self.author)
            self.store.drop_draft(self.draft_key)
            if self.author not in incident.responders:
                # A second responder joins by writing: they are listed from then on.
                self.open_incident = self.store.add_responder(incident.id, self.author)
            return entry
        return None

    def set_status(self, status: str) -> Incident | None:
        if self.open_incident is None:
            return None
        with self._store(tell=True):
            before = self.open_incident.status
            incident = self.store.set_status(self.open_incident.id, status, self.author)
            if incident.status != before:
                self._tell(incident, declared=False)
            self.open_incident = incident if incident.is_open else None
            self.last_resolved = None if incident.is_open else incident
            return incident
        return None

    def set_severity(self, severity: str) -> Incident | None:
        if self.open_incident is None:
            return None
        with self._store(tell=True):
            self.open_incident = self.store.set_severity(
                self.open_incident.id, severity, self.author
            )
        return self.open_incident

    def resolve(self, *, root_cause: str = "", resolution: str = "") -> Incident | None:
        """Write what the responder said caused and fixed it (empty fields stay as they were),
        then resolve: the postmortem has them before anyone exports it."""
        if self.open_incident is None:
            return None
        fields = {"root_cause": root_cause, "resolution": resolution}
        with self._store(tell=True):
            self.store.update_fields(
                self.open_incident.id, **{k: v for k, v in fields.items() if v}
            )
        if self.problem:
            return None
        return self.set_status(RESOLVED)

    @property
    def update_subject(self) -> Incident | None:
        """What a status update is about: the open incident, else the one just resolved."""
        return self.open_incident or self.last_resolved

    def posted_update(self, text: str, kind: str = "") -> int:
        """Record a posted status update (also the "resolved" one after resolution) and queue
        it for every receiver; how many it was queued for."""
        subject = self.update_subject
        if subject is None:
            return 0
        with self._store(tell=True):
            self.store.add_entry(subject.id, KIND_UPDATE, text, self.author)
            if self.notifier is not None:
                return self.notifier.post_update(
                    subject, text, update_kind=kind, author=self.author
                )
        return 0

    def update_entries(self) -> list[Entry]:
        """The timeline of the incident a status update is about ([] when there is none)."""
        subject = self.update_subject
        if subject is None:
            return []
        with self._store(tell=True):
            return self.store.entries(subject.id)
        return []

    def entry_text(self, entry_id: int) -> str | None:
        """The text of one entry (a note being corrected); None if it is gone or unreadable."""
        with self._store():
            try:
                return self.store.entry(entry_id).text
            except KeyError:
                return None
        return None

    def timeline_extent(self, incident_id: str) -> tuple[int, int]:
        """(entries, last entry id) of an incident's timeline; (0, 0) while unreadable."""
        with self._store():
            return self.store.count_and_last(incident_id)
        return 0, 0

    def entries_window(self, incident_id: str, start: int, count: int) -> list[Entry]:
        """``count`` entries from the ``start``-th (the timeline's visible block)."""
        with self._store(tell=True):
            return self.store.entries_window(incident_id, start, count)
        return []

    # -- drafts --------------------------------------------------------------------------------

    def save_draft(self, text: str, *, corrects: int | None = None) -> None:
        incident = self.open_incident
        with self._store(tell=True):
            self.store.save_draft(
                self.draft_key,
                text,
                incident_id=incident.id if incident else None,
                corrects=corrects,
            )

    def pending_draft(self) -> tuple[str, int | None] | None:
        """(text, corrects) of a note left half-typed, if it belongs to the open incident."""
        kept = None
        with self._store():
            kept = self.store.draft(self.draft_key)
        if kept is None or self.open_incident is None:
            return None
        text, incident_id, corrects = kept
        if incident_id not in (None, self.open_incident.id):
            return None
        return text, corrects

    # -- polling -------------------------------------------------------------------------------

    def poll(self) -> list[Entry]:
        """Entries written since the last poll by any process; refreshes the open incident.
        Quiet on failure (it runs every second): :attr:`problem` says why."""
        new: list[Entry] = []
        with self._store():
            new = self.store.entries_since(self.last_seen_id)
            if new:
                self.last_seen_id = new[-1].id
                self._load_open()
            elif self.open_incident is not None:
                # Another process may have changed postmortem fields; cheap enough each second.
                self.open_incident = self.store.get(self.open_incident.id)
                if not self.open_incident.is_open:
                    self._load_open()
        subject = self.update_subject
        return [e for e in new if subject is not None and e.incident_id == subject.id]

    def watch_result(self, result: CheckResult, now: float | None = None) -> str | None:
        """Feed a check result; writes the crit/recovered line when the watch says so."""
        latest = result.latest
        if latest.configured and latest.status in BAD:
            self.bad_since.setdefault(result.name, latest.collected_at)
        else:
            self.bad_since.pop(result.name, None)
        if self.open_incident is None:
            return None
        text = self.watch.feed(result, time.monotonic() if now is None else now)
        if text:
            self.record(KIND_CHECK, text)
        return text

    def clocks(self, now: datetime | None = None) -> Clocks | None:
        incident = self.update_subject
        if incident is None:
            return None
        with self._store():
            last_update = self.store.last_entry_at(incident.id, KIND_UPDATE)
            return clocks(
                incident, now or datetime.now(UTC), self.config, last_update_at=last_update
            )
        return None
