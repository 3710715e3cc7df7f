"""Serve the app over HTTPS on the local network, so students' browsers allow the camera.

    python -m explorer.https                 # https://<this machine's LAN address>:8501/
    python -m explorer.https --port 8443 -- --server.maxUploadSize 20

Browsers give web pages the camera only in a secure context (HTTPS, or localhost). This makes a
self-signed certificate with `openssl` for this machine's LAN address, localhost and 127.0.0.1
(kept in `.https/`, git-ignored, and made again when the LAN address changes or it is near its
end), then starts Streamlit with `--server.sslCertFile` / `--server.sslKeyFile`. A self-signed
certificate is not trusted by browsers: each student accepts the warning once ("Advanced" ->
"Proceed"). No traffic leaves the machine to make it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .join import lan_address

ROOT = Path(__file__).resolve().parents[1]
DAYS = 30  # validity of the certificate


def openssl_missing_reason() -> str | None:
    if shutil.which("openssl") is None:
        return "openssl is not installed (Debian/Ubuntu: apt-get install openssl; macOS has it)"
    return None


def names_for(lan_ip: str | None) -> list[str]:
    """subjectAltName entries: the LAN address (if any), localhost and loopback."""
    ips = ["127.0.0.1"] + ([lan_ip] if lan_ip and lan_ip != "127.0.0.1" else [])
    return ["DNS:localhost"] + [f"IP:{ip}" for ip in ips]


def make_certificate(folder: Path, lan_ip: str | None) -> tuple[Path, Path]:
    """(cert, key) in `folder`, made again when missing, for other names, or expiring within a day."""
    reason = openssl_missing_reason()
    if reason:
        raise SystemExit(f"Cannot make a certificate: {reason}.")
    folder.mkdir(parents=True, exist_ok=True)
    cert, key, names_file = folder / "cert.pem", folder / "key.pem", folder / "names.json"
    names = names_for(lan_ip)
    try:
        same = json.loads(names_file.read_text()) == names
    except (OSError, ValueError):
        same = False
    fresh = (
        same
        and cert.exists()
        and key.exists()
        and subprocess.run(
            ["openssl", "x509", "-checkend", "86400", "-noout", "-in", str(cert)], capture_output=True
        ).returncode
        == 0
    )
    if fresh:
        return cert, key
    cmd = [
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
        "-days", str(DAYS),
        "-keyout", str(key), "-out", str(cert),
        "-subj", "/CN=VAE latent explorer (self-signed)",
        "-addext", "subjectAltName=" + ",".join(names),
    ]  # fmt: skip
    old = os.umask(0o077)  # the private key readable by its owner only
    try:
        done = subprocess.run(cmd, capture_output=True, text=True)
    finally:
        os.umask(old)
    if done.returncode != 0:
        raise SystemExit(f"openssl could not make the certificate:\n{done.stderr}")
    names_file.write_text(json.dumps(names))
    return cert, key


def streamlit_command(cert: Path, key: Path, port: int, address: str, extra: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.sslCertFile", str(cert),
        "--server.sslKeyFile", str(key),
        "--server.port", str(port),
        "--server.address", address,
        "--server.headless", "true",
        *extra,
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m explorer.https", description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--address", default="0.0.0.0", help="interface to listen on (default: all)")
    p.add_argument("--cert-dir", type=Path, default=ROOT / ".https", help="where the certificate is kept")
    p.add_argument("--print-only", action="store_true", help="make the certificate and print the command only")
    p.add_argument("extra", nargs="*", help="more Streamlit options, after --")
    args = p.parse_args(argv)
    ip = lan_address()
    cert, key = make_certificate(args.cert_dir, ip)
    cmd = streamlit_command(cert, key, args.port, args.address, args.extra)
    where = ip or "127.0.0.1"
    print(f"Students open https://{where}:{args.port}/ and accept the self-signed certificate once.", flush=True)
    if args.print_only:
        print(" ".join(cmd))
        return 0
    os.chdir(ROOT)
    os.execv(cmd[0], cmd)  # Streamlit takes this process's place: Ctrl-C and signals reach it directly


if __name__ == "__main__":
    raise SystemExit(main())
