"""`zconsole serve`: the console in a browser (the war-room TV) through textual-serve.

Each browser tab runs the console in a process of its own (textual-serve's model), read-only
unless ``--allow-actions``, attached to the host's collector: tabs add no polling. When no
collector runs, serve hosts one (the scheduler, the recording when nobody else writes it, the
attach socket) in its own process. It listens on 127.0.0.1 unless told otherwise, and anywhere
else only behind a token or basic auth.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import ipaddress
import os
import shlex
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from zconsole.checks.secrets import redact, register_secret
from zconsole.config import Config

TOKEN_ENV = "ZCONSOLE_SERVE_TOKEN"  # noqa: S105 - the variable's name, not a token
BASIC_AUTH_ENV = "ZCONSOLE_SERVE_BASIC_AUTH"
TOKEN_COOKIE = "zconsole_token"  # noqa: S105 - the cookie's name
#: Tells a served console it is a browser tab (the others' headers say so).
ATTACH_AS_ENV = "ZCONSOLE_ATTACH_AS"
DEFAULT_PORT = 8765
#: The global options a served console is started with, as this command was given them.
PASSED_OPTIONS = (
    ("config", "--config"),
    ("target", "--target"),
    ("store", "--store"),
    ("interval", "--interval"),
    ("database_url", "--database-url"),
    ("redis_url", "--redis-url"),
    ("docker_host", "--docker-host"),
    ("project", "--project"),
)


def add_parser(subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    serve = subparsers.add_parser(
        "serve",
        parents=list(parents),
        help="the console in a browser (the war-room TV): read-only, attached to the collector",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port ({DEFAULT_PORT})")
    serve.add_argument(
        "--token",
        help=f"required as ?token= (then a cookie) by every request; or ${TOKEN_ENV}",
    )
    serve.add_argument(
        "--basic-auth",
        metavar="USER:PASSWORD",
        help=f"HTTP basic auth for every request; or ${BASIC_AUTH_ENV}",
    )
    serve.add_argument(
        "--public-url", help="the URL browsers use, when behind a proxy or not on --host"
    )
    serve.add_argument(
        "--allow-actions",
        action="store_true",
        help="let browser tabs act, note and change status (default: read-only)",
    )
    serve.set_defaults(handler=serve_command)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def console_command(args: argparse.Namespace) -> str:
    """The console each tab runs: this interpreter, the options serve was given, read-only."""
    argv = [sys.executable, "-m", "zconsole"]
    for name, flag in PASSED_OPTIONS:
        value = getattr(args, name, None)
        if value is not None:
            argv += [flag, str(value)]
    if getattr(args, "no_discover", False):
        argv.append("--no-discover")
    if not args.allow_actions:
        argv.append("--read-only")
    return shlex.join(argv)


Handler = Callable[[Any], Awaitable[Any]]


def auth_middleware(token: str, basic: str) -> Any:
    """Every request needs the token (query once, then the cookie) or the basic credentials."""
    from aiohttp import web

    expected_basic = "Basic " + base64.b64encode(basic.encode()).decode() if basic else ""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> Any:
        if token:
            given = request.query.get("token") or request.cookies.get(TOKEN_COOKIE) or ""
            if not hmac.compare_digest(given.encode(), token.encode()):
                return web.Response(status=401, text="zconsole: token required\n")
            response = await handler(request)
            if "token" in request.query and isinstance(response, web.Response):
                response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="Strict")
            return response
        if expected_basic:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), expected_basic.encode()):
                return web.Response(
                    status=401,
                    text="zconsole: credentials required\n",
                    headers={"WWW-Authenticate": 'Basic realm="zconsole"'},
                )
        return await handler(request)

    return guard


def serve_command(config: Config, args: argparse.Namespace) -> int:
    from textual_serve.server import Server

    token = args.token or os.environ.get(TOKEN_ENV, "")
    basic = args.basic_auth or os.environ.get(BASIC_AUTH_ENV, "")
    for secret in (token, basic, basic.partition(":")[2]):
        if secret:
            register_secret(secret)
    if basic and ":" not in basic:
        print("zconsole: --basic-auth wants USER:PASSWORD", file=sys.stderr)
        return 2
    if not is_loopback(args.host) and not (token or basic):
        print(
            f"zconsole: serve: listening on {args.host} needs --token or --basic-auth "
            f"(or ${TOKEN_ENV} / ${BASIC_AUTH_ENV}); 127.0.0.1 needs neither",
            file=sys.stderr,
        )
        return 2
    os.environ[ATTACH_AS_ENV] = "browser"
    collector = _collector(config)
    middleware = auth_middleware(token, basic) if token or basic else None

    class Wallboard(Server):
        def initialize_logging(self) -> None:
            # textual-serve's handler renders tracebacks with their local variables: a frame
            # holding a token or a DSN would print it. Plain lines, no locals.
            # Every line redacted too: the access log writes each URL, ?token= included.
            import logging

            handler = logging.StreamHandler()
            handler.addFilter(_redact_record)
            logging.basicConfig(
                level="INFO", format="zconsole serve: %(message)s", handlers=[handler]
            )

        async def _make_app(self) -> Any:
            app = await super()._make_app()
            if middleware is not None:
                app.middlewares.append(middleware)
            app.on_startup.append(_start_collector)
            app.on_cleanup.append(_stop_collector)
            return app

        async def on_startup(self, app: Any) -> None:
            print(f"zconsole serve: {redact(self.public_url)} ({note})", flush=True)

    # Here, not at the top: the CLI builds this parser on the console's start path.
    import asyncio

    tasks: list[asyncio.Task[None]] = []

    async def _start_collector(_app: Any) -> None:
        if collector is not None:
            tasks.append(asyncio.create_task(collector.run()))

    async def _stop_collector(_app: Any) -> None:
        for task in tasks:
            task.cancel()
        if collector is not None:
            collector.close()

    note = "read-only" if not args.allow_actions else "actions allowed"
    note += ", polling for the tabs" if collector is not None else ", attached to the collector"
    server = Wallboard(
        console_command(args),
        host=args.host,
        port=args.port,
        title="zconsole",
        public_url=args.public_url,
    )
    server.serve()
    return 0


def _redact_record(record: Any) -> bool:
    record.msg = redact(record.getMessage())
    record.args = None
    return True


def _collector(config: Config) -> Any:
    """A collector in this process when none serves the socket yet (None otherwise)."""
    from zconsole.attach.server import host_for
    from zconsole.recorder import RecorderHost
    from zconsole.recording.writer import console_sink
    from zconsole.registry import build_checks

    checks = build_checks(config)
    host = RecorderHost(checks)
    attach, _why = host_for(
        {c.name: c for c in checks},
        refresh=host.scheduler.refresh,
        config=config,
        describe=f"zconsole serve pid {os.getpid()}",
    )
    if attach is None:
        host.close()
        return None
    recording, _note = console_sink(config)
    if recording is not None:
        host.add_sink(recording)
    host.add_sink(attach)
    host.add_service(attach.run)
    return host
