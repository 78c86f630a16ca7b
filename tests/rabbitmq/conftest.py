"""Fixtures for the RabbitMQ tests (tests/conftest.py has the broker): a fresh stream
queue name per test."""
import uuid

import pytest


@pytest.fixture
def queue(request):
    return f"{request.node.name}-{uuid.uuid4().hex[:8]}"
