"""Rolling restart with zero failed requests: two gunicorn nodes behind a small balancer that
polls ``/ready`` (as HAProxy or a cloud balancer does). Under steady load each node in turn
is drained (``flask --app wsgi node drain``), stopped gracefully (SIGTERM), started again and
resumed; no request may fail."""

from __future__ import annotations

import http.client
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from drafting import ROOT
from tests.conftest import IS_POSTGRES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(IS_POSTGRES, reason="runs in the SQLite pass of make test"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Node:
    """One web node: gunicorn with its own instance folder, sharing database and secret."""

    def __init__(self, name: str, tmp: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = _free_port()
        (tmp / f"{name}-metrics").mkdir()
        self.env = {
            **env,
            "PROMETHEUS_MULTIPROC_DIR": str(tmp / f"{name}-metrics"),
            "INSTANCE_PATH": str(tmp / name),
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.served = 0

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def stop(self) -> None:
        """Stop gracefully: gunicorn finishes the requests in flight on SIGTERM."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def flask(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=60,
        )

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ready", timeout=2) as r:
                return bool(r.status == 200)
        except OSError:
            return False


class Balancer:
    """Round robin over the nodes whose /ready answered 200 at the last poll (every 0.2 s)."""

    def __init__(self, nodes: list[Node]) -> None:
        self.nodes = nodes
        self.ready: list[Node] = []
        self.turn = itertools.count()
        self.stopped = threading.Event()
        balancer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def _forward(self) -> None:
                ready = list(balancer.ready)
                if not ready:
                    self.send_error(503, "no node ready")
                    return
                node = ready[next(balancer.turn) % len(ready)]
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                except OSError:
                    self.send_error(502, "node failed")
                    return
                finally:
                    conn.close()
                node.served += 1
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _forward
            do_POST = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]

    def poll(self) -> None:
        while not self.stopped.is_set():
            self.ready = [n for n in self.nodes if n.ready()]
            time.sleep(0.2)

    def __enter__(self) -> Balancer:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        threading.Thread(target=self.poll, daemon=True).start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.stopped.set()
        self.server.shutdown()
        self.server.server_close()


def wait_until(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_rolling_restart_fails_no_request(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLASK_", "PYTEST", "PROMETHEUS", "TEST_", "INSTANCE", "GUNICORN"))
    }
    env.update(
        SECRET_KEY="rolling-restart-secret",
        DATABASE_URL=f"sqlite:///{tmp_path / 'shared.sqlite3'}",
        GUNICORN_WORKERS="1",
        GUNICORN_GRACEFUL_TIMEOUT="20",
        LOGIN_RATE_LIMIT="100000 per minute",
    )
    nodes = [Node("web1", tmp_path, env), Node("web2", tmp_path, env)]
    nodes[0].flask("db", "upgrade")
    failures: list[str] = []
    done = threading.Event()
    sent = itertools.count()
    try:
        for node in nodes:
            node.start()
        with Balancer(nodes) as balancer:
            wait_until(lambda: len(balancer.ready) == 2, 60, "both nodes ready")
            base = f"http://127.0.0.1:{balancer.port}"

            def load() -> None:
                while not done.is_set():
                    number = next(sent)
                    try:
                        if number % 2:
                            request = urllib.request.Request(base + "/login")
                        else:
                            request = urllib.request.Request(
                                base + "/login", data=b"email=a%40b.de&password=x", method="POST"
                            )
                        with urllib.request.urlopen(request, timeout=30) as response:
                            response.read()
                    except urllib.error.HTTPError as err:
                        if err.code >= 500:
                            failures.append(f"{err.code} {err.reason}")
                    except OSError as err:
                        failures.append(repr(err))

            clients = [threading.Thread(target=load) for _ in range(3)]
            for client in clients:
                client.start()
            time.sleep(1)
            for node in nodes:
                node.flask("node", "drain")
                wait_until(lambda n=node: n not in balancer.ready, 10, f"{node.name} out")
                time.sleep(0.5)  # requests already routed to it finish
                node.stop()
                node.served = 0
                node.start()
                node.flask("node", "resume")
                wait_until(lambda n=node: n in balancer.ready, 60, f"{node.name} back")
                wait_until(lambda n=node: n.served > 5, 30, f"{node.name} serving again")
            time.sleep(1)
            done.set()
            for client in clients:
                client.join(timeout=60)
    finally:
        done.set()
        for node in nodes:
            node.kill()
    total = next(sent)
    assert total > 100, total
    assert failures == [], f"{len(failures)} of {total} requests failed: {failures[:5]}"
