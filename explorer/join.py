"""Joining the class: the address students type (or scan) to open this app.

The address comes from the browser's own URL (`st.context.url`); when the teacher's browser is
on the server itself (localhost), students cannot use that, so the machine's address on the
local network is offered instead. It is found without sending anything: connecting a UDP
socket only asks the kernel which interface would route to a private address. The QR code is
drawn here by segno (no network service), as a PNG.
"""

from __future__ import annotations

import functools
import io
import os
import socket
from urllib.parse import urlsplit

import segno
import streamlit as st

from .i18n import tr

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "[::1]"}


def lan_address() -> str | None:
    """This machine's IPv4 address on the local network, or None if it has none (offline)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 9))  # UDP connect sends no packet; it only picks a route
            ip = s.getsockname()[0]
        if not ip.startswith("127.") and ip != "0.0.0.0":
            return ip
    except OSError:
        pass
    try:
        ip = socket.gethostbyname(socket.gethostname())
    except OSError:
        return None
    return None if ip.startswith("127.") else ip


def share_url(browser_url: str | None, lan_ip: str | None, port: int = 8501) -> str | None:
    """The app's root address for students: the browser's scheme and port, on a host they can reach.

    `VAE_EXPLORER_PUBLIC_URL`, when set (a proxy, a DNS name), is the answer as it is."""
    public = os.environ.get("VAE_EXPLORER_PUBLIC_URL", "").strip()
    if public:
        return public
    if not browser_url:  # no browser told us (tests, bare runs): this server's port on the LAN address
        return f"http://{lan_ip}:{port}/" if lan_ip else None
    parts = urlsplit(browser_url)
    host, port = parts.hostname or "", parts.port
    if host in LOOPBACK_HOSTS or host.startswith("127."):
        if not lan_ip:
            return None
        host = lan_ip
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    return f"{parts.scheme or 'http'}://{netloc}/"


@functools.lru_cache(maxsize=16)  # drawn on every page's sidebar: make each address's code once
def qr_png(url: str, scale: int = 10) -> bytes:
    """A QR code of `url` as a PNG, `scale` pixels per module, with its quiet zone (dark on white).

    An image rather than inline SVG: st.html sanitises SVG away, and a PNG scales crisply enough."""
    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=scale, border=4, dark="#000", light="#fff")
    return buf.getvalue()


def _offline_warning() -> None:
    st.warning(
        tr(
            "No network address found: this computer seems to be offline, so students cannot reach it.",
            "네트워크 주소를 찾지 못했습니다. 이 컴퓨터가 네트워크에 연결되어 있지 않아 학생들이 접속할 수 없습니다.",
        )
    )


def _how_to_join() -> None:
    st.caption(
        tr(
            "Phones: scan the code with the camera. Everyone must be on the same network as this computer.",
            "휴대폰은 카메라로 QR 코드를 찍으세요. 모두 이 컴퓨터와 같은 네트워크에 있어야 합니다.",
        )
    )


def join_url() -> str | None:
    return share_url(st.context.url, lan_address(), st.get_option("server.port"))


def join_screen(size: int | str = 360) -> str | None:
    """The same, big, side by side: for the projector, to be read and scanned from the back of a room."""
    url = join_url()
    if url is None:
        _offline_warning()
        return None
    words, code = st.columns([2, 3], vertical_alignment="center")
    with words:
        st.markdown(tr("Students open this address:", "학생들은 이 주소로 접속하세요:"))
        st.markdown(f"## {url}")
        _how_to_join()
    with code:
        st.image(qr_png(url, scale=16), width=size, output_format="PNG")
    return url
