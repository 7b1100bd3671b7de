"""``reelflow serve``: run the HTTP API (``starter.http_app``) under uvicorn.

Settings come from the environment (``ReelflowSettings``: ``TEMPORAL_ADDRESS``,
``REELFLOW_API_TOKEN``, ``REELFLOW_CORS_ORIGINS``…); the options here are only about the
server process. Also runnable as ``python -m starter.serve --port 8080``.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer
import uvicorn

from starter.config import ReelflowSettings
from starter.http_app import DEFAULT_PING_INTERVAL, DEFAULT_WATCH_INTERVAL, create_app
from starter.http_security import RedactSignatures

GRACEFUL_SHUTDOWN_SECONDS = 5
"""Open streams get this long to end on SIGTERM; clients resume them with ``Last-Event-ID``."""


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8080,
    ping_interval: Annotated[
        float, typer.Option(help="Seconds between SSE keep-alive comments.")
    ] = DEFAULT_PING_INTERVAL,
    watch_interval: Annotated[
        float, typer.Option(help="Seconds between status queries of a streamed job.")
    ] = DEFAULT_WATCH_INTERVAL,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve the HTTP API TanStack AI's video client drives (docs at /docs)."""
    logging.basicConfig(level=log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("uvicorn.access").addFilter(RedactSignatures())
    app = create_app(ReelflowSettings(), ping_interval=ping_interval, watch_interval=watch_interval)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )


def main() -> None:
    typer.run(serve)


if __name__ == "__main__":
    main()
