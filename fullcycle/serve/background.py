"""A real server on a loopback port inside this process, for as long as a ``with`` block.

`fullcycle demo` uses it to show serving end to end (HTTP, validation, the served-row log)
without a second terminal; the socket is bound here first, so the port is known before
uvicorn starts and no other process can take it in between.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from fullcycle.errors import FullcycleError
from fullcycle.serve.app import ServeConfig, create_app

START_TIMEOUT_S = 30.0


def listen_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (0: a free port), or one line saying why not.

    Created with ``IPPROTO_TCP`` rather than 0: asyncio sets TCP_NODELAY only on sockets
    that say so, and without it a response's headers and body wait out the 40 ms delayed
    ACK (measured: p50 44 ms instead of 1 ms per request). uvicorn's own --workers socket
    has that problem, so fullcycle binds the socket itself in every mode.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise FullcycleError(f"cannot listen on {host}:{port} ({exc.strerror}); pass another "
                             "--port or --host") from None
    sock.set_inheritable(True)  # worker processes accept on it
    return sock


def uvicorn_config(target: object, workers: int = 1) -> object:
    """The one uvicorn configuration every fullcycle server uses."""
    import uvicorn

    return uvicorn.Config(target, factory=workers > 1, workers=workers, log_level="warning",
                          access_log=False, server_header=False)


@contextmanager
def running_server(config: ServeConfig, host: str = "127.0.0.1",
                   port: int = 0) -> Iterator[tuple[str, object]]:
    """Serve ``config`` on ``host:port`` (0: a free port); yields (base URL, the app)."""
    import uvicorn

    app = create_app(config)
    sock = listen_socket(host, port)
    bound = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app))
    # uvicorn installs signal handlers only in the main thread; here it runs in another
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True,
                              name="fullcycle-serve")
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        if not server.started:
            raise FullcycleError("the model server did not start; see the messages above")
        yield f"http://{host}:{bound}", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
