"""Fixtures for the RabbitMQ stream tests: a private broker (tests/broker.py) for the
session, and a fresh stream queue name per test."""
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from broker import Broker  # noqa: E402


@pytest.fixture(scope="session")
def broker():
    with Broker() as running:
        yield running


@pytest.fixture
def queue(request):
    return f"{request.node.name}-{uuid.uuid4().hex[:8]}"
