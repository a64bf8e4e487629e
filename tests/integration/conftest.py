"""Fixtures for the integration tests beyond tests/conftest.py."""

from tests.integration.private_redis import private_redis_url, redis_db  # noqa: F401
