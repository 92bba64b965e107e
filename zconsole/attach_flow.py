"""The war room in the console: attach to the collector, or poll (and be the collector).

At start a console that would poll first looks for a collector of its host (`zconsole record`,
or a console that polls). Attached, it polls nothing: the collector's Snapshots draw its panes,
the header names the collector and who else is watching, and its mitigations are built and run
on the collector's connections (a console started late in a pool-exhausted incident could not
connect at all); confirmations stay here. When the collector goes (its end of the socket
closes, or it stops beating for two intervals) the console polls on its own and says so.

A console that polls hosts the socket itself while nobody else does, so the next console
attaches to it.
"""

from __future__ import annotations

import getpass
import os
from typing import TYPE_CHECKING, Any

from zconsole.action_runner import ConfirmKind, ConfirmRequest, timeline_text
from zconsole.actions import Action, ActionOutcome, Outcome, Risk
from zconsole.attach import channel
from zconsole.attach.client import AttachClient, CollectorGone, NoCollector
from zconsole.attach.server import AttachServer, host_for
from zconsole.checks.base import CheckResult
from zconsole.widgets.confirm import PendingScreen
from zconsole.widgets.header import StatusHeader

if TYPE_CHECKING:
    from zconsole.app import ZConsoleApp


class AttachFlow:
    """Attached to a collector, polling on its own, or both polling and serving others."""

    def __init__(self, app: ZConsoleApp, *, what: str = "console") -> None:
        self.app = app
        #: "console", or "browser" for a tab of `zconsole serve` (told to the others).
        self.what = what
        self.client: AttachClient | None = None
        self.server: AttachServer | None = None
        self.polling = False
        #: What the header says about the war room ("" : nothing to say).
        self.note = ""

    @property
    def attached(self) -> bool:
        return self.client is not None

    def mount(self) -> None:
        if not self.app.poll:
            return
        if not self.app.config.warroom.attach:
            self.start_polling()
            return
        self.app.run_worker(self._attach(), name="attach", group="attach", exit_on_error=False)

    async def _attach(self) -> None:
        try:
            client = await AttachClient.connect(
                channel.socket_path(self.app.config), read_only=self.app.read_only, what=self.what
            )
        except NoCollector:
            self.start_polling()
            return
        self.client = client
        self._say(f"◆ attached to {client.collector}")
        interval = float(client.welcome.get("interval", self.app.config.general.interval))
        # Two intervals without a line (it beats twice a second) and the collector is gone.
        silence = 2 * max(min(interval, self.app.config.general.interval), channel.BEAT_S * 2)
        try:
            await client.run(results=self._results, viewers=self._viewers, silence_s=silence)
        except CollectorGone as exc:
            self.client = None
            self.start_polling()
            self._say(f"▲ collector gone ({exc}): polling on its own")
            self.app.notify(
                "The collector went away: this console polls on its own now.",
                title="War room",
                severity="warning",
            )

    def _results(self, results: list[CheckResult]) -> None:
        for result in results:
            self.app.show_result(result)

    def _viewers(self, viewers: list[dict[str, Any]]) -> None:
        others = [v for v in viewers if v.get("pid") != os.getpid()]
        names = ", ".join(
            f"{v.get('user', '?')} {v.get('tty') or v.get('what', '')}".strip() for v in others
        )
        if self.client is not None:
            base = f"◆ attached to {self.client.collector}"
            self._say(f"{base} · also: {names}" if names else base)
        elif self.server is not None:
            self._say(f"◆ collector for: {names}" if names else "")

    def _say(self, text: str) -> None:
        self.note = text
        header = self.app.main_screen.query_one_optional(StatusHeader)
        if header is not None:
            header.war_room = text

    # -- polling -------------------------------------------------------------------------------

    def start_polling(self) -> None:
        """Poll (and record) as a console without a collector does, and serve the others."""
        if self.polling:
            return
        self.polling = True
        app = self.app
        app.run_worker(app._poll(), name="scheduler", group="scheduler", exit_on_error=False)
        app.run_worker(app._open_recording(), name="recording", exit_on_error=False)
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = str(os.getuid())
        describe = f"console of {user} {channel.this_tty()} pid {os.getpid()}".replace("  ", " ")
        server, _why = host_for(
            app.checks, refresh=app.scheduler.refresh, config=app.config, describe=describe
        )
        if server is not None:
            self.server = server
            server.viewers_changed = self._viewers
            app.run_worker(server.run(), name="attach-server", group="attach", exit_on_error=False)

    def accept(self, result: CheckResult) -> None:
        """Every poll this console makes, for the consoles attached to it."""
        if self.server is not None:
            self.server.accept(result)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.server is not None:
            self.server.close()

    # -- actions -------------------------------------------------------------------------------

    async def run_remote(
        self, source: str, name: str, record: object, pending: PendingScreen
    ) -> None:
        """A mitigation built and run by the collector; its confirmations are shown here."""
        flow = self.app.action_flow
        client = self.client
        assert client is not None
        flow.pending = pending

        async def confirm(message: dict[str, Any]) -> bool:
            request = ConfirmRequest(
                action_of(message["action"]),
                ConfirmKind(message["confirm"]),
                repeats=int(message.get("repeats", 0)),
                window_s=float(message.get("window_s", 60.0)),
            )
            return await flow._confirm(request)

        try:
            answer = await client.act(source, name, record, confirm)
        except CollectorGone as exc:
            flow.tell(
                f"{source} {name}: the collector went away ({exc}); it may have run — see "
                "its audit log",
                title="Not known",
                severity="error",
            )
            return
        finally:
            flow.pending = None
            pending.finish()
        if answer["kind"] == "not_built":
            flow.tell(
                f"{name}: {answer.get('error', '')}", title="Cannot build action", severity="error"
            )
            return
        outcome = outcome_of(answer)
        flow._report(outcome)
        incidents = self.app.incidents
        if incidents is not None and not incidents.read_only:
            incidents.record("action", timeline_text(outcome.action, outcome.outcome, outcome.text))
            self.app.incident_flow.poll()


def action_of(data: dict[str, Any]) -> Action:
    """The collector's description of an action (it runs there; nothing runs here)."""
    return Action(
        name=str(data.get("name", "")),
        title=str(data.get("title", "")),
        target=str(data.get("target", "")),
        risk=Risk(str(data.get("risk", "disruptive"))),
        preview=str(data.get("preview", "")),
        execute=lambda: "",
        source=str(data.get("source", "")),
        timeout=float(data.get("timeout", 30.0)),
    )


def outcome_of(data: dict[str, Any]) -> ActionOutcome:
    return ActionOutcome(
        action_of(data["action"]),
        Outcome(str(data["outcome"])),
        str(data.get("text", "")),
        float(data.get("duration_s", 0.0)),
        data.get("audit_error"),
    )
