"""The security headers of serve.py's answers (reseaux.serveur.security_headers), path by path."""

from __future__ import annotations

import pytest

from reseaux.serveur.security_headers import COMPONENT_POLICY, headers_for

MAP_FRAME = "component/streamlit_folium.st_folium/index.html"


def policy(path: str) -> str | None:
    return dict(headers_for(path)).get(b"content-security-policy", b"").decode() or None


@pytest.mark.parametrize("base", ["", "/reseau", "/outils/reseau"])  # server.baseUrlPath
def test_the_map_frame_gets_its_policy_under_any_base_path(base):
    assert policy(f"{base}/{MAP_FRAME}") == COMPONENT_POLICY
    assert policy(f"{base}/") is None and policy(f"{base}/_stcore/health") is None  # the pages keep theirs
    assert policy(f"{base}/static/js/component-index.js") is None


def test_every_answer_is_not_sniffed_and_keeps_its_referrer_home():
    for path in ("/", f"/{MAP_FRAME}", "/_reseaux/session"):
        headers = dict(headers_for(path))
        assert headers[b"x-content-type-options"] == b"nosniff" and headers[b"referrer-policy"] == b"same-origin"
