"""HTTPS: peers are verified against ca_file, SSL_CERT_FILE / CURL_CA_BUNDLE or the
system bundle (-v says which); an untrusted certificate is refused with an error that
says so; verify=false works only when asked for and is logged as a warning."""
import pytest


def test_ca_file_option_trusts_a_private_ca(run_cli, https):
    url, ca, _ = https
    result = run_cli("read", "rest", "-v", "-o", f"url={url}", "-o", f"ca_file={ca}").ok()
    assert len(result.rows()) == 100
    assert f"verifying TLS peers against {ca} (option 'ca_file')" in result.stderr


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "CURL_CA_BUNDLE"])
def test_ca_bundle_from_the_environment(cli, https, variable):
    url, ca, _ = https
    env = {"SSL_CERT_FILE": "", "CURL_CA_BUNDLE": "", variable: str(ca)}
    result = cli.run("read", "rest", "-v", "-o", f"url={url}", env=env).ok()
    assert len(result.rows()) == 100
    assert f"verifying TLS peers against {ca} ({variable})" in result.stderr


def test_system_bundle_is_named_and_refuses_a_private_ca(cli, https):
    url, _, _ = https
    env = {"SSL_CERT_FILE": "", "CURL_CA_BUNDLE": ""}
    result = cli.run("read", "rest", "-v", "-o", f"url={url}", "-o", "retries=0", env=env)
    assert ("verifying TLS peers against /etc/ssl/certs/ca-certificates.crt (system bundle)"
            in result.stderr)
    assert result.returncode != 0


def test_untrusted_certificate_is_refused_with_a_clear_error(run_cli, https):
    url, _, other = https
    result = run_cli("read", "rest", "-o", f"url={url}", "-o", f"ca_file={other}",
                     "-o", "retries=0")
    error = result.error()
    assert "SSL certificate problem" in error
    assert f"untrusted certificate: verified against {other}" in error
    assert "set ca_file to the CA that signed it" in error


def test_unreadable_ca_file_is_named(run_cli, https, tmp_path):
    url, _, _ = https
    missing = tmp_path / "nope.pem"
    error = run_cli("read", "rest", "-o", f"url={url}", "-o", f"ca_file={missing}").error()
    assert f"ca_file '{missing}' cannot be read" in error


def test_verify_false_reads_and_warns(run_cli, https):
    url, _, other = https
    result = run_cli("read", "rest", "-o", f"url={url}", "-o", f"ca_file={other}",
                     "-o", "verify=false").ok()
    assert len(result.rows()) == 100
    assert "TLS certificate verification is OFF" in result.stderr
