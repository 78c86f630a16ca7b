"""Fixtures for the amqps tests: a private broker listening with TLS (certificate from
a private CA, tests/fixtures/tls.py) as well as plain AMQP."""
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
# broker.py lives in tests/ (tests/fixtures/ once the test tree's move lands).
sys.path[:0] = [str(TESTS / "fixtures"), str(TESTS)]

from broker import Broker  # noqa: E402
from tls import issue, make_ca  # noqa: E402


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory):
    """(broker, the CA that signed its certificate, another CA)."""
    base = tmp_path_factory.mktemp("amqps")
    ca = make_ca(base / "ca")
    with Broker(tls=issue(ca, base / "server", "localhost")) as running:
        yield running, ca.cert, make_ca(base / "other", "some other CA").cert
