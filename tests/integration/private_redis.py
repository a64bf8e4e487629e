"""Moved to :mod:`tests.support.redis`; kept so that existing imports keep working."""

from tests.support.redis import private_redis_url, redis_db

__all__ = ["private_redis_url", "redis_db"]
