"""Running the app: in the foreground for ``hammer serve``, or on a background thread for
tests and the quickstart (a real uvicorn server on a real socket, stopped cleanly)."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn

from hammer_fc.errors import HammerError


class BackgroundServer:
    """``with BackgroundServer(app) as server: server.base_url`` -> ``http://127.0.0.1:PORT/v1``.

    Port 0 (the default) lets the OS pick a free port, read back once uvicorn is listening.
    """

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, start_timeout: float = 30.0
    ) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.host = host
        self.port = port
        self.start_timeout = start_timeout
        self._thread = threading.Thread(target=self.server.run, name="hammer-serve", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise HammerError(f"the server did not start on {self.host}:{self.port}", field="port")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=self.start_timeout)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run(app: Any, *, host: str, port: int) -> None:
    """Serve in the foreground until interrupted."""
    uvicorn.run(app, host=host, port=port, log_level="info")
