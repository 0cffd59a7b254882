"""AppTest of the Comptes page: an administrator cannot lock themself out; each account shows its own role."""

from __future__ import annotations

from reseaux.acces.accounts import AccountStore
from tests.conftest import open_page, sign_in


def test_an_administrator_cannot_delete_or_demote_their_own_account(accounts_file):
    at = sign_in(open_page("comptes"), "admin")
    at.switch_page("views/comptes.py").run()
    at.selectbox(key="acc_who").select("admin").run()
    assert at.button(key="acc_delete").disabled and at.button(key="acc_set_role").disabled
    assert "admin" in AccountStore(accounts_file).load()


def test_choosing_another_account_shows_its_role_and_a_confirmed_deletion_removes_it(accounts_file):
    at = sign_in(open_page("comptes"), "admin")
    at.switch_page("views/comptes.py").run()
    at.selectbox(key="acc_who").select("coord").run()
    assert at.selectbox(key="acc_role_coord").value == "coordinateur"
    at.selectbox(key="acc_who").select("membre").run()
    assert at.selectbox(key="acc_role_membre").value == "membre"
    assert at.button(key="acc_delete").disabled  # not before the confirmation
    at.checkbox(key="acc_confirm_membre").check().run()
    at.button(key="acc_delete").click().run()
    assert "membre" not in AccountStore(accounts_file).load()
    assert any("Compte « membre » supprimé." in s.value for s in at.success)
