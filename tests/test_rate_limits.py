"""A client flooding the routes gets a French 429, a person never does;
the session cookie is Secure behind a trusted HTTPS proxy and set only from a page of the site.

The routes are served by Starlette's test client (no browser, no Streamlit); the token buckets
are read with a clock of our own where the answer depends on time.
"""

from __future__ import annotations

import threading
import time

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from reseaux.acces.sessions import COOKIE, SESSIONS
from reseaux.annuaire.fiche_service import SERVICE
from reseaux.app_data import load_actors
from reseaux.serveur.clients import client_address, same_origin
from reseaux.serveur.ratelimit import LIMITS, RateLimiter
from reseaux.serveur.web import FICHES_PATH, SESSION_PATH, routes
from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def fresh_limits(monkeypatch):
    LIMITS.clear()
    monkeypatch.setattr(LIMITS, "clock", lambda: 1000.0)  # time stands still: the counts are exact
    yield
    LIMITS.clear()


@pytest.fixture(scope="module")
def demo_actors(referential):
    return load_actors(ROOT / "data" / "actors.csv", referential).directory.actors


@pytest.fixture()
def token(demo_actors, referential):  # registered in each test's own shared state (conftest)
    return SERVICE.register("test_rate_limits", demo_actors, referential, ttl_s=600)


@pytest.fixture()
def client():
    # The peer is the loopback, where a proxy on the same host connects from (« oui »).
    return TestClient(Starlette(routes=routes()), base_url="http://reseaux.test", client=("127.0.0.1", 50000))


def test_a_bucket_allows_a_quarter_minute_at_once_then_the_rate(monkeypatch):
    monkeypatch.setenv("RESEAUX_RATE_SEARCH", "120")  # 2 a second, 30 at once
    limiter = RateLimiter()
    assert [limiter.wait_for("recherche", "a", now=0.0) for _ in range(30)] == [0.0] * 30
    assert limiter.wait_for("recherche", "a", now=0.0) == pytest.approx(0.5)
    assert limiter.wait_for("recherche", "b", now=0.0) == 0.0  # another client has its own bucket
    assert limiter.wait_for("recherche", "a", now=0.5) == 0.0  # half a second later: one more
    assert limiter.wait_for("recherche", "a", now=0.5) == pytest.approx(0.5)
    monkeypatch.setenv("RESEAUX_RATE_SEARCH", "0")  # 0: no limit
    assert limiter.wait_for("recherche", "a", now=0.5) == 0.0


def test_a_person_typing_and_clicking_is_never_limited():
    limiter = RateLimiter()
    now = 0.0
    for _ in range(5):  # five searches typed at 8 keys a second, a few seconds apart
        for _ in range(16):
            assert limiter.wait_for("recherche", "person", now=now) == 0.0
            now += 0.125
        now += 4.0
    for _ in range(120):  # then a click on the map every half second for a minute, two requests each
        assert limiter.wait_for("fiches", "person", now=now) == 0.0
        assert limiter.wait_for("fiches", "person", now=now) == 0.0
        now += 0.5


def test_ten_threads_of_searches_from_one_address_get_a_french_429(client, token):
    url = f"{FICHES_PATH}/{token}/recherche?q=" + "+".join("abcdefghij" * 10)
    answers = [client.get(url) for _ in range(40)]
    codes = [a.status_code for a in answers]
    assert codes[:30] == [200] * 30 and set(codes[30:]) == {429}  # 120 a minute: 30 at once
    refused = answers[-1]
    assert refused.text.startswith("Trop de demandes en peu de temps") and "réessayez dans 1 s" in refused.text
    assert refused.headers["Retry-After"] == "1" and refused.headers["Cache-Control"] == "no-store"
    # The fiches are a family of their own: a flooded search does not stop the map's clicks.
    assert client.get(f"{FICHES_PATH}/{token}/fiches?lignes=0").status_code == 200


def test_forged_forwarded_addresses_do_not_escape_the_limit_unless_the_proxy_is_trusted(client, token, monkeypatch):
    url = f"{FICHES_PATH}/{token}/fiches?lignes=0"
    codes = [client.get(url, headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(70)]
    assert codes.count(429) == 10  # 240 a minute: 60 at once, whatever the header says
    LIMITS.clear()
    monkeypatch.setenv("RESEAUX_TRUSTED_PROXY", "oui")
    codes = [client.get(url, headers={"X-Forwarded-For": f"6.6.6.6, 10.0.0.{i % 2}"}).status_code for i in range(130)]
    assert codes.count(429) == 10  # two clients behind the proxy, 60 each; the forged first entry is ignored
    LIMITS.clear()
    twice = [("X-Forwarded-For", "10.0.0.9"), ("X-Forwarded-For", "203.0.113.5")]  # the proxy's line comes last
    codes = [
        client.get(
            url, headers=[(k, v if k != "X-Forwarded-For" or n else f"{v}{i}") for n, (k, v) in enumerate(twice)]
        ).status_code
        for i in range(70)
    ]
    assert codes.count(429) == 10


def test_the_client_address_is_the_peer_or_what_the_trusted_proxy_appended(monkeypatch):
    headers = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7"}
    assert client_address("192.0.2.1", headers) == "192.0.2.1"
    assert client_address(None, {}) == "inconnu"
    monkeypatch.setenv("RESEAUX_TRUSTED_PROXY", "oui")
    assert client_address("127.0.0.1", headers) == "203.0.113.7"
    assert client_address("127.0.0.1", {}) == "127.0.0.1"


def test_sign_in_counts_the_address_the_trusted_proxy_appended(monkeypatch):
    """Streamlit gives no peer address (None) for a loopback connection — the proxy on the same
    host — and a header sent twice is one value in ``dict(headers)``, the first: the client's."""
    from types import SimpleNamespace

    from streamlit.runtime.context import StreamlitHeaders

    from reseaux.ui import auth

    def signing_in_with(peer, headers):
        monkeypatch.setattr(auth.st, "context", SimpleNamespace(ip_address=peer, headers=StreamlitHeaders(headers)))
        return auth._client()

    forwarded = [("X-Forwarded-For", "203.0.113.7")]
    assert signing_in_with(None, forwarded) == "inconnu"  # no trusted proxy: the header proves nothing
    assert signing_in_with("192.0.2.1", forwarded) == "192.0.2.1"
    monkeypatch.setenv("RESEAUX_TRUSTED_PROXY", "oui")
    assert signing_in_with(None, forwarded) == "203.0.113.7"
    twice = [("X-Forwarded-For", "10.0.0.9"), ("X-Forwarded-For", "203.0.113.5")]  # the client's, then the proxy's
    assert signing_in_with(None, twice) == "203.0.113.5"
    assert signing_in_with(None, []) == "inconnu"


def _ticket() -> str:
    return SESSIONS.open("coord")[1]


def test_the_session_cookie_is_secure_behind_a_trusted_https_proxy(client, monkeypatch):
    https = {"X-Forwarded-Proto": "https"}
    answer = client.post(SESSION_PATH, content=_ticket(), headers=https)
    assert answer.status_code == 204 and "secure" not in answer.headers["set-cookie"].lower()  # not trusted
    monkeypatch.setenv("RESEAUX_TRUSTED_PROXY", "oui")
    answer = client.post(SESSION_PATH, content=_ticket(), headers=https)
    cookie = answer.headers["set-cookie"].lower()
    assert answer.status_code == 204 and cookie.startswith(COOKIE.lower() + "=")
    assert "; secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "; secure" in client.delete(SESSION_PATH, headers=https).headers["set-cookie"].lower()


def test_forwarded_headers_count_only_from_the_listed_proxy(monkeypatch):
    """The app port reached around the proxy (another host, or the proxy's address not listed): a
    request saying « X-Forwarded-Proto: https » gets no Secure cookie, its X-Forwarded-For is not
    the client. Before, « oui » trusted these headers from any peer."""
    monkeypatch.setenv("RESEAUX_TRUSTED_PROXY", "127.0.0.1, ::1")
    forged = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    around = TestClient(Starlette(routes=routes()), base_url="http://reseaux.test", client=("192.0.2.50", 50000))
    answer = around.post(SESSION_PATH, content=_ticket(), headers=forged)
    assert answer.status_code == 204 and "secure" not in answer.headers["set-cookie"].lower()
    assert client_address("192.0.2.50", forged) == "192.0.2.50"
    for proxy in ("127.0.0.1", "::1", "::ffff:127.0.0.1", None):  # None: Streamlit's loopback peer
        assert client_address(proxy, forged) == "203.0.113.7", proxy
    behind = TestClient(Starlette(routes=routes()), base_url="http://reseaux.test", client=("127.0.0.1", 50000))
    assert "; secure" in behind.post(SESSION_PATH, content=_ticket(), headers=forged).headers["set-cookie"].lower()
    monkeypatch.setenv("RESEAUX_TRUSTED_PROXY", "10.0.0.0/24")  # a proxy on another host of the network
    assert client_address("10.0.0.3", forged) == "203.0.113.7" and client_address(None, forged) == "inconnu"


def test_a_trusted_proxy_that_is_no_address_is_said_in_french(monkeypatch):
    monkeypatch.setenv("RESEAUX_TRUSTED_PROXY", "127.0.0.1, caddy.local")
    with pytest.raises(ValueError, match="« caddy.local » n'est pas une adresse IP ni un réseau"):
        client_address("127.0.0.1", {})


def test_another_sites_page_cannot_set_or_remove_the_session_cookie(client):
    for headers in (
        {"Origin": "https://attaquant.example"},
        {"Origin": "null"},
        {"Origin": "http://reseaux.test.attaquant.example"},
        {"Sec-Fetch-Site": "cross-site"},
    ):
        answer = client.post(SESSION_PATH, content=_ticket(), headers=headers)
        assert answer.status_code == 403 and "set-cookie" not in answer.headers, headers
        assert "ne vient pas d'une page de ce site" in answer.text
        assert client.delete(SESSION_PATH, headers=headers).status_code == 403
    ours = {"Origin": "http://reseaux.test", "Sec-Fetch-Site": "same-origin"}
    assert client.post(SESSION_PATH, content=_ticket(), headers=ours).status_code == 204


def test_same_origin_reads_the_forwarded_host_only_behind_a_trusted_proxy(monkeypatch):
    behind = {"Host": "127.0.0.1:8501", "X-Forwarded-Host": "reseau.example.fr", "Origin": "https://reseau.example.fr"}
    assert not same_origin(behind, "127.0.0.1")
    monkeypatch.setenv("RESEAUX_TRUSTED_PROXY", "oui")
    assert same_origin(behind, "127.0.0.1")
    assert not same_origin(behind, "192.0.2.1")  # not the proxy: its X-Forwarded-Host proves nothing
    assert same_origin({"Host": "reseau.example.fr"}, "192.0.2.1")  # no Origin: no browser page sent it


def test_the_cookie_route_is_limited_too(client):
    codes = [client.post(SESSION_PATH, content="x").status_code for _ in range(12)]
    assert codes[:7] == [403] * 7 and codes[-1] == 429  # 30 a minute: 7.5 at once


def test_a_client_gets_four_requests_served_at_once_not_ten(client, token, monkeypatch):
    release, inside, most, lock = threading.Event(), [0], [0], threading.Lock()

    def slow_search(token, text):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        release.wait(30)
        with lock:
            inside[0] -= 1
        return {"rows": [], "more": False}

    monkeypatch.setattr(SERVICE, "search", slow_search)
    codes = []
    threads = [
        threading.Thread(target=lambda: codes.append(client.get(f"{FICHES_PATH}/{token}/recherche?q=a").status_code))
        for _ in range(10)
    ]
    for thread in threads:
        thread.start()
    for _ in range(300):  # until the six beyond the four at once have been answered
        if len(codes) == 6:
            break
        time.sleep(0.05)
    release.set()
    for thread in threads:
        thread.join(30)
    assert sorted(codes) == [200] * 4 + [429] * 6 and most[0] == 4


def test_a_costly_search_spends_the_clients_server_time_then_waits(client, token, monkeypatch):
    spent = [0.0]
    monkeypatch.setattr(LIMITS, "work_clock", lambda: spent[0])

    def costly_search(token, text):  # what a hundred one-letter words cost on 200,000 fiches
        spent[0] += 2.2
        return {"rows": [], "more": False}

    monkeypatch.setattr(SERVICE, "search", costly_search)
    url = f"{FICHES_PATH}/{token}/recherche?q=" + "+".join("abcdefghij" * 10)
    codes = [client.get(url).status_code for _ in range(8)]
    assert codes == [200] * 5 + [429] * 3  # 10 s a minute: five searches of 2.2 s, then 1 s owed
    refused = client.get(url)
    assert refused.headers["Retry-After"] == "9"  # back to half a second of credit at 10 s a minute
    monkeypatch.setattr(LIMITS, "clock", lambda: 1009.0)
    assert client.get(url).status_code == 200
    assert client.get(f"{FICHES_PATH}/{token}/fiches?lignes=0").status_code == 429  # the debt is the client's
