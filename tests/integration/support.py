"""Moved to :mod:`tests.support`; kept so that existing imports keep working."""

from tests.support import (
    UNTHROTTLED,
    Api,
    IsolatedClient,
    configured_app,
    english,
    fresh,
    isolated_client,
    login,
    tokens,
)

__all__ = [
    "UNTHROTTLED",
    "Api",
    "IsolatedClient",
    "configured_app",
    "english",
    "fresh",
    "isolated_client",
    "login",
    "tokens",
]
