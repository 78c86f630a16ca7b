"""Fixtures for the RabbitMQ tests (tests/conftest.py has the broker): a fresh stream
queue name per test, and for the amqps tests a second private broker that also listens
with TLS (its certificate signed by a private CA, tests/fixtures/tls.py)."""
import uuid

import pytest
from broker import Broker
from tls import issue, make_ca


@pytest.fixture
def queue(request):
    return f"{request.node.name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory):
    """(broker, the CA that signed its certificate, another CA)."""
    base = tmp_path_factory.mktemp("amqps")
    ca = make_ca(base / "ca")
    with Broker(tls=issue(ca, base / "server", "localhost")) as running:
        yield running, ca.cert, make_ca(base / "other", "some other CA").cert
