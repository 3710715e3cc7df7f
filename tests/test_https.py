"""`python -m explorer.https` serves the app over HTTPS with its own certificate: tried on loopback."""

import ssl
import subprocess
import sys
import time
import urllib.request

import pytest
from browser import ROOT, free_port

from explorer.https import make_certificate, names_for, openssl_missing_reason

REASON = openssl_missing_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")


def test_certificate_names_cover_the_lan_address_and_loopback():
    assert names_for("192.168.0.7") == ["DNS:localhost", "IP:127.0.0.1", "IP:192.168.0.7"]
    assert names_for(None) == ["DNS:localhost", "IP:127.0.0.1"]


def test_certificate_is_made_once_and_again_when_the_address_changes(tmp_path):
    cert, key = make_certificate(tmp_path, "10.1.2.3")
    first = cert.read_bytes()
    assert key.stat().st_mode & 0o077 == 0  # the private key is its owner's only
    assert make_certificate(tmp_path, "10.1.2.3")[0].read_bytes() == first
    assert make_certificate(tmp_path, "10.9.9.9")[0].read_bytes() != first
    text = subprocess.run(
        ["openssl", "x509", "-noout", "-text", "-in", str(cert)], capture_output=True, text=True
    ).stdout
    assert "IP Address:10.9.9.9" in text and "IP Address:127.0.0.1" in text and "DNS:localhost" in text


@pytest.mark.slow
def test_the_app_is_healthy_over_https_on_loopback(tmp_path):
    port = free_port()
    cmd = [sys.executable, "-m", "explorer.https", "--port", str(port), "--address", "127.0.0.1"]
    proc = subprocess.Popen(
        [*cmd, "--cert-dir", str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.time() + 90
        while not (tmp_path / "cert.pem").exists() or not (tmp_path / "names.json").exists():
            assert proc.poll() is None and time.time() < deadline, proc.stdout.read().decode(errors="replace")
            time.sleep(0.1)
        # Trust exactly this certificate, and check the host name: 127.0.0.1 must be in it.
        ctx = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
        body = None
        while body is None:
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
            assert time.time() < deadline, "no answer over https in 90 s"
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{port}/_stcore/health", context=ctx, timeout=2) as r:
                    body = r.read()
            except OSError:
                time.sleep(0.2)
        assert body == b"ok"
        with pytest.raises(OSError):  # plain http on the same port is not served
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
