"""Who is asking: the client address and scheme of a request, behind a trusted proxy or not.

Limits (:mod:`reseaux.ratelimit`) and sign-in lock-outs (:mod:`reseaux.accounts`) are counted
per client. Without a reverse proxy, the client is the peer of the connection. Behind one
(``RESEAUX_TRUSTED_PROXY``), every peer is the proxy: the client is then the address the proxy
appended to ``X-Forwarded-For`` (the last one: any earlier one was written by the client and
proves nothing), and ``X-Forwarded-Proto: https`` says the person's connection is encrypted.
When the proxy is not trusted these headers are ignored: anyone can write them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from reseaux import config

#: The client of a request whose peer is unknown (a test, a local run): one shared name.
UNKNOWN = "inconnu"
_YES = {"1", "oui", "yes", "true", "vrai", "on"}


def proxy_trusted() -> bool:
    """True when ``RESEAUX_TRUSTED_PROXY`` says a reverse proxy stands before the app."""
    return config.get("trusted_proxy").strip().lower() in _YES


def client_address(peer: str | None, headers: Mapping[str, str]) -> str:
    """The address to count a request against: the last ``X-Forwarded-For`` entry behind a
    trusted proxy, else ``peer`` (the connection's own address), else :data:`UNKNOWN`.

    The one reading of a request's client, for the routes (:mod:`reseaux.web`) and the sign-in
    (:mod:`reseaux.ui.auth`). ``peer`` may be None behind a proxy on the same host (Streamlit
    names no loopback peer); ``headers`` is the request's own mapping, a header sent twice read
    whole (a plain ``dict`` of it keeps the first value: the client's, not the proxy's)."""
    if proxy_trusted():
        forwarded = _header(headers, "x-forwarded-for").split(",")[-1].strip()
        if forwarded:
            return forwarded[:64]
    return (peer or "").strip()[:64] or UNKNOWN


def counted_as(address: str) -> str:
    """What ``address`` is counted as: an IPv6 address as its /64 network (one subscriber, one
    site, holds a whole /64: one address per try would never be counted twice), an IPv4 address
    (also written ``::ffff:a.b.c.d``) as itself, anything else (:data:`UNKNOWN`) as it is."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])  # without an IPv6 zone (fe80::1%eth0)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(getattr(ip, "ipv4_mapped", None) or ip)


def is_https(scheme: str, headers: Mapping[str, str]) -> bool:
    """True when the person's connection is encrypted: ``scheme`` is https, or a trusted proxy
    says so in ``X-Forwarded-Proto`` (its last value, for the same reason as the address)."""
    if scheme == "https":
        return True
    return proxy_trusted() and _header(headers, "x-forwarded-proto").split(",")[-1].strip().lower() == "https"


def same_origin(headers: Mapping[str, str]) -> bool:
    """True unless the browser says the request comes from another site.

    A browser sends ``Origin`` with every POST and DELETE (and ``Sec-Fetch-Site``); a page of
    another site sending one to us names its own host there. A request without either header
    comes from no browser page, and cannot plant a cookie in anyone's browser.
    """
    site = _header(headers, "sec-fetch-site").lower()
    if site and site not in ("same-origin", "none"):
        return False
    origin = _header(headers, "origin")
    if not origin:
        return True
    host = _header(headers, "x-forwarded-host") if proxy_trusted() else ""
    host = (host.split(",")[-1].strip() or _header(headers, "host")).lower()
    scheme, _, rest = origin.lower().partition("://")
    return scheme in ("http", "https") and bool(host) and rest.rstrip("/") == host


def _header(headers: Mapping[str, str], name: str) -> str:
    """Every value of header ``name``, joined by commas: a header sent twice is read whole (both
    Starlette's and Streamlit's mappings answer ``get`` with the first one only)."""
    for method in ("getlist", "get_all"):  # Starlette, Streamlit
        if callable(every := getattr(headers, method, None)):
            return ", ".join(str(v) for v in every(name))
    return ", ".join(str(v) for k, v in headers.items() if k.lower() == name)
