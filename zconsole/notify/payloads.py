"""What each receiver is sent: one pure builder per kind, from one :class:`Post`.

Each follows the receiver's documented API:
- Slack incoming webhook: ``{"text": …}`` in Slack's mrkdwn (``*bold*``; ``&``, ``<``, ``>``
  escaped, so outside text cannot become ``<!channel>`` or a link);
- Mattermost incoming webhook: ``{"text": …}`` in Markdown, ``@channel``/``@all``/``@here``
  defused so a label or a log line cannot page the whole channel;
- Discord webhook: ``{"content": …}`` (2000 characters at most) with ``allowed_mentions``
  empty, Discord's own switch for "ping nobody";
- Microsoft Teams workflow webhook ("When a Teams webhook request is received"): a message
  with one Adaptive Card attachment, a TextBlock per line;
- generic webhook: zconsole's own JSON (``version`` 1, documented in the README);
- Statuspage incidents API: ``POST /v1/pages/PAGE/incidents`` to create, then
  ``PATCH /v1/pages/PAGE/incidents/ID``, ``Authorization: OAuth KEY``.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

#: The version of the generic webhook's JSON.
WEBHOOK_VERSION = 1
DISCORD_MAX = 2000
#: What a post is: an update the responder posted, or a lifecycle change a status page follows.
EVENT_UPDATE = "update"
EVENT_DECLARED = "declared"
EVENT_STATUS = "status"

#: zconsole's statuses are Statuspage's; spelled out so a rename on either side is caught here.
STATUSPAGE_STATUS = {
    "investigating": "investigating",
    "identified": "identified",
    "monitoring": "monitoring",
    "resolved": "resolved",
}
#: Severity index (most severe first) → Statuspage ``impact_override``.
STATUSPAGE_IMPACT = ("critical", "major", "minor", "none")
#: The public line a status page shows for a lifecycle change (Statuspage's own wording).
STATUSPAGE_BODY = {
    "investigating": "We are currently investigating this issue.",
    "identified": "The issue has been identified and a fix is being implemented.",
    "monitoring": "A fix has been implemented and we are monitoring the results.",
    "resolved": "This incident has been resolved.",
}


@dataclass(frozen=True, slots=True)
class Post:
    """One thing to tell the receivers; stored in the outbox as JSON (text already redacted)."""

    event: str
    incident_id: str
    title: str
    severity: str
    severity_index: int
    status: str
    #: The status update text (the runbooks' template, as the responder edited it); "" for a
    #: lifecycle change.
    text: str = ""
    #: detected / update / resolved, for an update.
    update_kind: str = ""
    impact: str = ""
    started_at: str = ""
    at: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Post:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def _bold_to_slack(text: str) -> str:
    # The runbooks' template is written in Markdown (**bold**); Slack's mrkdwn bolds with one *.
    return re.sub(r"\*\*(.+?)\*\*", r"*\1*", text)


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_BROADCAST = re.compile(r"@(channel|all|here|everyone)\b", re.IGNORECASE)


def _defuse_broadcasts(text: str) -> str:
    # A zero-width joiner after "@" keeps the word readable and stops it from paging everyone.
    return _BROADCAST.sub(lambda m: "@\u2060" + m.group(1), text)


def chat_text(post: Post) -> str:
    """The text a chat receiver shows: the update, or one line for a lifecycle change."""
    if post.text:
        return post.text.rstrip()
    if post.event == EVENT_DECLARED:
        return f"**{post.incident_id}** declared ({post.severity}): {post.title}"
    return f"**{post.incident_id}** {post.title}: status is now {post.status}"


def slack(post: Post) -> dict[str, Any]:
    return {"text": _bold_to_slack(_slack_escape(chat_text(post)))}


def mattermost(post: Post) -> dict[str, Any]:
    return {"text": _defuse_broadcasts(chat_text(post))}


def discord(post: Post) -> dict[str, Any]:
    content = chat_text(post)
    if len(content) > DISCORD_MAX:
        content = content[: DISCORD_MAX - 1] + "…"
    return {"content": content, "allowed_mentions": {"parse": []}}


def teams(post: Post) -> dict[str, Any]:
    lines = [line for line in _defuse_broadcasts(chat_text(post)).splitlines() if line.strip()]
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": line, "wrap": True} for line in lines
    ]
    if body:
        body[0].update(weight="Bolder", size="Medium")
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": body,
                },
            }
        ],
    }


def webhook(post: Post) -> dict[str, Any]:
    return {
        "version": WEBHOOK_VERSION,
        "event": post.event,
        "kind": post.update_kind,
        "incident": {
            "id": post.incident_id,
            "title": post.title,
            "severity": post.severity,
            "status": post.status,
            "impact": post.impact,
            "started_at": post.started_at,
        },
        "text": post.text,
        "sent_at": post.at,
    }


def statuspage_body(post: Post) -> str:
    return post.text.rstrip() if post.text else STATUSPAGE_BODY[post.status]


def statuspage_create(post: Post) -> dict[str, Any]:
    index = min(max(post.severity_index, 0), len(STATUSPAGE_IMPACT) - 1)
    return {
        "incident": {
            "name": post.title,
            "status": STATUSPAGE_STATUS[post.status],
            "impact_override": STATUSPAGE_IMPACT[index],
            "body": statuspage_body(post),
        }
    }


def statuspage_update(post: Post) -> dict[str, Any]:
    return {"incident": {"status": STATUSPAGE_STATUS[post.status], "body": statuspage_body(post)}}


#: Chat and webhook kinds: one POST of this JSON to the URL.
CHAT_BUILDERS = {
    "slack": slack,
    "mattermost": mattermost,
    "discord": discord,
    "teams": teams,
    "webhook": webhook,
}
