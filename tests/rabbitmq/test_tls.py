"""rabbitmq.lua over amqps: the broker's certificate is verified against ca_file (or
the default bundle); a broker signed by another CA is refused with an error saying
so; verify=false is an explicit, logged choice."""
import json
import uuid


def publish(run_cli, url, queue, n):
    rows = "".join(json.dumps({"body": f"m{i}"}) + "\n" for i in range(n))
    run_cli("write", "rabbitmq", "-o", f"broker={url}", "-o", f"queue={queue}", input=rows).ok()


def test_stream_read_over_amqps_with_ca_file(tls_broker, run_cli):
    broker, ca, _ = tls_broker
    queue = f"tls-{uuid.uuid4().hex[:8]}"
    publish(run_cli, broker.url, queue, 30)
    result = run_cli("read", "rabbitmq", "-v", "-o", f"broker={broker.tls_url}",
                     "-o", f"queue={queue}", "-o", f"ca_file={ca}").ok()
    assert [row["body"] for row in result.rows()] == [f"m{i}" for i in range(30)]
    assert f"amqp: verifying TLS peers against {ca} (option 'ca_file')" in result.stderr


def test_publishing_over_amqps(tls_broker, run_cli):
    broker, ca, _ = tls_broker
    queue = f"tls-{uuid.uuid4().hex[:8]}"
    rows = "".join(json.dumps({"body": f"s{i}"}) + "\n" for i in range(5))
    run_cli("write", "rabbitmq", "-o", f"broker={broker.tls_url}", "-o", f"queue={queue}",
            "-o", f"ca_file={ca}", input=rows).ok()
    read = run_cli("read", "rabbitmq", "-o", f"broker={broker.url}", "-o", f"queue={queue}").ok()
    assert [row["body"] for row in read.rows()] == [f"s{i}" for i in range(5)]


def test_wrong_ca_is_refused_with_a_clear_error(tls_broker, run_cli):
    broker, _, other = tls_broker
    error = run_cli("read", "rabbitmq", "-o", f"broker={broker.tls_url}", "-o", "queue=q",
                    "-o", f"ca_file={other}").error()
    assert f"cannot connect to localhost:{broker.tls_port}" in error
    assert f"untrusted certificate: verified against {other}" in error
    assert "set ca_file to the CA that signed it" in error
    assert "guest:guest" not in error  # no credentials in the message


def test_default_bundle_refuses_a_private_ca(tls_broker, cli):
    broker, _, _ = tls_broker
    result = cli.run("read", "rabbitmq", "-o", f"broker={broker.tls_url}", "-o", "queue=q",
                     env={"SSL_CERT_FILE": "", "CURL_CA_BUNDLE": ""})
    assert "untrusted certificate: verified against /etc/ssl/certs/ca-certificates.crt" in \
        result.error()


def test_verify_false_connects_and_warns(tls_broker, run_cli):
    broker, _, other = tls_broker
    queue = f"tls-{uuid.uuid4().hex[:8]}"
    publish(run_cli, broker.url, queue, 3)
    result = run_cli("read", "rabbitmq", "-o", f"broker={broker.tls_url}", "-o", f"queue={queue}",
                     "-o", f"ca_file={other}", "-o", "verify=false").ok()
    assert len(result.rows()) == 3
    assert "TLS certificate verification is OFF" in result.stderr
