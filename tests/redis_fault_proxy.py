"""A TCP proxy in front of a real Redis that injects network faults (no tests in this module).

It relays bytes both ways, and can be told to
- delay every client request (a slow network: work that takes longer than a lock lives),
- drop the reply to any request containing some bytes and close that connection: the command
  ran on the server, but the client never learns its outcome (a reply lost in the network).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class FaultyRedisProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.delay_s = 0.0
        self.drop_reply_to: bytes | None = None
        self.dropped = 0
        self._closed = False
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.listener.close()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self._sockets += [client, server]
            doomed = threading.Event()
            threading.Thread(
                target=self._requests, args=(client, server, doomed), daemon=True
            ).start()
            threading.Thread(
                target=self._replies, args=(server, client, doomed), daemon=True
            ).start()

    def _requests(self, client: socket.socket, server: socket.socket, doomed: threading.Event):  # type: ignore[no-untyped-def]
        while True:
            try:
                data = client.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            if self.delay_s:
                time.sleep(self.delay_s)
            if self.drop_reply_to and self.drop_reply_to in data:
                doomed.set()  # before the server can answer: its reply is never relayed
                self.dropped += 1
            try:
                server.sendall(data)
            except OSError:
                break
            if doomed.is_set():
                time.sleep(0.2)  # let the server run the command, then hang up on the client
                break
        for sock in (client, server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def _replies(self, server: socket.socket, client: socket.socket, doomed: threading.Event):  # type: ignore[no-untyped-def]
        while True:
            try:
                data = server.recv(65536)
            except OSError:
                return
            if not data or doomed.is_set():
                return
            try:
                client.sendall(data)
            except OSError:
                return
