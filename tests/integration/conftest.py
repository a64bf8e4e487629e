"""Fixtures for the integration tests beyond tests/conftest.py."""

import pytest

from tests import factories, support
from tests.support.redis import private_redis_url, redis_db  # noqa: F401


@pytest.fixture
def english_ui(world: factories.World) -> None:
    """Everybody of the world reads the UI in English, the messages' source language.

    A module whose every test wants it says ``pytestmark = pytest.mark.usefixtures("english_ui")``.
    """
    support.english(world)


@pytest.fixture
def tokens(world: factories.World) -> dict[str, str]:
    """An API token for each person of the world, by their name in ``world.users``."""
    return support.tokens(world)
