"""A Redis server of this test process's own, for tests that touch rq's fixed keys (scheduler
locks, worker registry): under ``pytest -n 2`` tests of one file may run at the same time in
two processes, so a shared database would let them see each other's keys."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from redis import Redis
from redis.exceptions import RedisError


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def private_redis_url() -> Iterator[str]:
    """Start a throw-away redis-server (no persistence) for this process; yield its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                Redis(port=port, socket_connect_timeout=1).ping()
                break
            except RedisError:
                time.sleep(0.1)
        else:
            pytest.skip("the private redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture
def redis_db(private_redis_url: str) -> Iterator[Redis]:
    """An empty database on the private server, emptied again afterwards."""
    connection = Redis.from_url(private_redis_url, socket_connect_timeout=2)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()
