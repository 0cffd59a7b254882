"""Sign-in through OpenID Connect (st.login) against a real provider started on loopback."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from reseaux.acces.accounts import AccountStore
from tests.browser import settle
from tests.conftest import PASSWORD, SCREENSHOTS, ServedApp, free_port

pytestmark = pytest.mark.browser


def test_sign_in_with_the_organisation_account(page, tmp_path, audit_file):
    from oidc_provider_mock import run_server_in_thread

    # An account file gives the coordinator role to this e-mail; other people get « membre ».
    AccountStore(tmp_path / "comptes.json").add("coord", PASSWORD, "coordinateur", "coord@example.org")
    with run_server_in_thread(port=free_port()) as provider:
        issuer = f"http://localhost:{provider.server_port}"
        # The provider vouches for this address (only a verified e-mail is given its role).
        import json
        import urllib.request

        claims = json.dumps({"email": "coord@example.org", "email_verified": True}).encode()
        urllib.request.urlopen(
            urllib.request.Request(
                f"{issuer}/users/coord@example.org",
                data=claims,
                method="PUT",
                headers={"Content-Type": "application/json"},
            ),
            timeout=10,
        )
        app = ServedApp(
            {"RESEAUX_ACCOUNTS": str(tmp_path / "comptes.json")},
            args=["--secrets.files", str(tmp_path / "secrets.toml")],
        )
        (tmp_path / "secrets.toml").write_text(
            "[auth]\n"
            f'redirect_uri = "{app.url}/oauth2callback"\n'
            'cookie_secret = "un-secret-de-test-assez-long-pour-signer"\n'
            'client_id = "reseaux-test"\n'
            'client_secret = "secret-client-de-test"\n'
            f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n',
            encoding="utf-8",
        )
        with app:
            page.goto(app.url)
            settle(page)  # a click while the page is still being drawn can be lost in the rerun
            page.get_by_text("Se connecter (membres du réseau)").click()
            settle(page)
            page.get_by_role("button", name="Se connecter avec le compte de mon organisation").click()
            page.wait_for_url(f"{issuer}/**", timeout=30_000)
            page.locator("input[name=sub]").fill("coord@example.org")
            page.get_by_role("button", name="Authorize").click()
            page.get_by_text("Connecté·e : coord@example.org").wait_for(timeout=60_000)
            expect(page.get_by_test_id("stSidebar")).to_contain_text("Coordination")
            nav = page.get_by_test_id("stSidebarNav").inner_text()
            assert "Annuaire" in nav and "Comptes" not in nav  # coordinator, not administrator
            page.get_by_text("acteurs sur 185").wait_for(timeout=30_000)  # members see every fiche
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "connexion-oidc.png"))
    # The sign-in is in the audit trail, once for this tab; from where as clients.client_address
    # reads it (Streamlit names no loopback peer: « inconnu » on this machine, the address behind a proxy).
    signed = [
        e
        for e in (json.loads(line) for line in audit_file.read_text(encoding="utf-8").splitlines())
        if e["evenement"] == "connexion"
    ]
    assert [(e["qui"], e["depuis"], e["par"]) for e in signed] == [("coord@example.org", "inconnu", "OpenID Connect")]
