"""Who is asking: the client address and scheme of a request, behind a trusted proxy or not.

Limits (:mod:`reseaux.serveur.ratelimit`) and sign-in lock-outs (:mod:`reseaux.acces.accounts`) are counted
per client. Without a reverse proxy, the client is the peer of the connection. Behind one, the
setting ``RESEAUX_TRUSTED_PROXY`` lists the proxy's addresses (or networks): a request whose peer
is one of them comes from the proxy, and the client is the address the proxy appended to
``X-Forwarded-For`` (the last one: any earlier one was written by the client and proves nothing),
and ``X-Forwarded-Proto: https`` says the person's connection is encrypted. From any other peer
these headers are ignored: anyone can write them, and an app port reached around the proxy must
not be told « https » by the person who reached it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from reseaux import config

#: The client of a request whose peer is unknown (a test, a local run): one shared name.
UNKNOWN = "inconnu"
_YES = {"1", "oui", "yes", "true", "vrai", "on"}
_NO = {"", "0", "non", "no", "false", "faux", "off"}
#: What « oui » stands for: a proxy on the same host (Caddy or nginx beside the app).
LOOPBACK = "127.0.0.1/8, ::1"


def trusted_proxies() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The networks of ``RESEAUX_TRUSTED_PROXY``: « non » (the default) none; « oui » the loopback;
    else addresses or networks separated by commas or spaces (``127.0.0.1, ::1``, ``10.0.0.0/24``).

    Raises ValueError, in French, naming a value that is no address."""
    value = config.get("trusted_proxy").strip().lower()
    if value in _NO:
        return []
    networks = []
    for part in (LOOPBACK if value in _YES else value).replace(",", " ").split():
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(
                f"RESEAUX_TRUSTED_PROXY : « {part} » n'est pas une adresse IP ni un réseau "
                "(ex. « 127.0.0.1, ::1 » pour un proxy sur la même machine, « non » sans proxy)."
            ) from None
    return networks


def from_trusted_proxy(peer: str | None) -> bool:
    """True when a connection from ``peer`` comes from a trusted proxy.

    ``peer`` None is the loopback: Streamlit names no peer for 127.0.0.1 or ::1 (``st.context.ip_address``),
    which is where a proxy on the same host connects from."""
    networks = trusted_proxies()
    if not networks:
        return False
    try:
        address = ipaddress.ip_address((peer or "127.0.0.1").split("%")[0])
    except ValueError:
        return False
    address = getattr(address, "ipv4_mapped", None) or address
    return any(address in network for network in networks)


def client_address(peer: str | None, headers: Mapping[str, str]) -> str:
    """The address to count a request against: the last ``X-Forwarded-For`` entry when ``peer``
    is a trusted proxy, else ``peer`` (the connection's own address), else :data:`UNKNOWN`.

    The one reading of a request's client, for the routes (:mod:`reseaux.serveur.web`) and the sign-in
    (:mod:`reseaux.ui.auth`). ``peer`` may be None behind a proxy on the same host (Streamlit
    names no loopback peer); ``headers`` is the request's own mapping, a header sent twice read
    whole (a plain ``dict`` of it keeps the first value: the client's, not the proxy's)."""
    if from_trusted_proxy(peer):
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


def is_https(scheme: str, headers: Mapping[str, str], peer: str | None) -> bool:
    """True when the person's connection is encrypted: ``scheme`` is https, or ``peer`` is a
    trusted proxy that says so in ``X-Forwarded-Proto`` (its last value, for the same reason as
    the address)."""
    if scheme == "https":
        return True
    return from_trusted_proxy(peer) and _header(headers, "x-forwarded-proto").split(",")[-1].strip().lower() == "https"


def same_origin(headers: Mapping[str, str], peer: str | None) -> bool:
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
    host = _header(headers, "x-forwarded-host") if from_trusted_proxy(peer) else ""
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
