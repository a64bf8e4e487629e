"""Fixtures for the integration tests beyond tests/conftest.py."""

from tests.support.redis import private_redis_url, redis_db  # noqa: F401
