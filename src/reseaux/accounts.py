"""Built-in accounts: Argon2 password hashes in a JSON file kept outside the repository.

The file (``RESEAUX_ACCOUNTS``, by default ``~/.config/reseaux/comptes.json``) holds, per
account, the hash, the role, an optional e-mail (to give a role to someone who signs in
through OpenID Connect) and the lock-out state. After :data:`MAX_FAILURES` wrong passwords in
a row, the account is locked for :data:`LOCK_MINUTES`. Writes are atomic.

Every read-modify-write of the file (a sign-in that counts a failure, an account added,
changed, removed, unlocked) holds an exclusive lock (``comptes.json.lock``), across processes
and sessions: without it, ten wrong passwords sent at once were counted as one or two (each
attempt wrote back the count it had read), and a removal or a password change made during a
failed sign-in on another account was undone. The password is checked under the same lock,
so attempts on the file are counted one after the other, whatever the concurrency.

Every refused sign-in gets the same answer, whether the name exists, the password is wrong or
the account is locked (:data:`REFUSED`: no way to learn which names exist), and each failure
for a name makes the next answer for that name a little slower (:func:`_slow_down`).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from reseaux.access import ROLES
from reseaux.exports import file_lock, private_folder, write_atomic
from reseaux.sessions import SESSIONS

MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10
#: The one answer to a refused sign-in.
REFUSED = (f"Identifiant ou mot de passe incorrect. Après {MAX_FAILURES} essais manqués, le compte est verrouillé "
           f"{LOCK_MINUTES} min (l'administration peut le déverrouiller).")
#: Seconds added to a refused answer per recent failure of the same name, at most MAX_DELAY.
DELAY_STEP = 0.25
MAX_DELAY = 2.0
_recent_failures: dict[str, int] = {}
_NAME = re.compile(r"^[a-z0-9._@-]{2,64}$")
_hasher = PasswordHasher()


class AccountError(Exception):
    """A refused sign-in or account change; the message is for the user, in French."""


@dataclass
class Account:
    name: str
    role: str
    hash: str
    email: str = ""
    failures: int = 0
    locked_until: float = 0.0


class AccountStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path).expanduser()
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    def _locked(self):
        return file_lock(self.lock_path)

    def load(self) -> dict[str, Account]:
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            accounts = {name: Account(name=name, **data) for name, data in raw.get("comptes", {}).items()}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError, AttributeError, ValueError) as exc:
            raise AccountError(f"Fichier des comptes {self.path.name} illisible ou mal formé : "
                               "l'administration doit le corriger ou le restaurer.") from exc
        if not all(isinstance(a.hash, str) and isinstance(a.role, str) for a in accounts.values()):
            raise AccountError(f"Fichier des comptes {self.path.name} mal formé : l'administration doit le corriger.")
        return accounts

    def _save(self, accounts: dict[str, Account]) -> None:
        private_folder(self.path.parent)
        data = {"comptes": {a.name: {k: v for k, v in asdict(a).items() if k != "name"} for a in accounts.values()}}
        write_atomic(self.path, json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"))
        self.path.chmod(0o600)

    def add(self, name: str, password: str, role: str, email: str = "") -> Account:
        name = name.strip().lower()
        if not _NAME.match(name):
            raise AccountError("Identifiant invalide : 2 à 64 caractères parmi a-z, 0-9, . _ @ -.")
        if role not in ROLES[1:]:
            raise AccountError(f"Rôle inconnu « {role} » : membre, coordinateur ou administrateur.")
        _check_password(password)
        hashed = _hasher.hash(password)
        with self._locked():
            accounts = self.load()
            if name in accounts:
                raise AccountError(f"Le compte « {name} » existe déjà.")
            accounts[name] = Account(name, role, hashed, email.strip().lower())
            self._save(accounts)
        return accounts[name]

    def set_password(self, name: str, password: str) -> None:
        _check_password(password)
        hashed = _hasher.hash(password)
        with self._locked():
            accounts = self._existing(name)
            account = accounts[name]
            account.hash, account.failures, account.locked_until = hashed, 0, 0.0
            self._save(accounts)
        SESSIONS.close_account(name)  # a new password signs the account out everywhere

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES[1:]:
            raise AccountError(f"Rôle inconnu « {role} ».")
        with self._locked():
            accounts = self._existing(name)
            accounts[name].role = role
            self._save(accounts)

    def remove(self, name: str) -> None:
        with self._locked():
            accounts = self._existing(name)
            del accounts[name]
            self._save(accounts)
        SESSIONS.close_account(name)

    def unlock(self, name: str) -> None:
        with self._locked():
            accounts = self._existing(name)
            accounts[name].failures, accounts[name].locked_until = 0, 0.0
            self._save(accounts)
        _recent_failures.pop(name, None)

    def role_for_email(self, email: str) -> str | None:
        """The role granted to an e-mail (for people signing in through OpenID Connect)."""
        email = (email or "").strip().lower()
        return next((a.role for a in self.load().values() if email and a.email == email), None)

    def authenticate(self, name: str, password: str, *, now: float | None = None, delay: bool = True) -> Account:
        """Return the account, or raise AccountError(:data:`REFUSED`) — the same answer for an
        unknown name, a wrong password and a locked account. ``delay`` slows each refusal."""
        now = time.time() if now is None else now
        name = name.strip().lower()
        try:
            with self._locked():
                account = self._check(name, password, now)
        except AccountError:
            _recent_failures[name] = _recent_failures.get(name, 0) + 1
            if len(_recent_failures) > 10_000:
                _recent_failures.clear()
            if delay:
                time.sleep(min(MAX_DELAY, DELAY_STEP * _recent_failures[name]))
            raise
        _recent_failures.pop(name, None)
        return account

    def _check(self, name: str, password: str, now: float) -> Account:
        """Under the lock: check, count a failure, lock after :data:`MAX_FAILURES` in a row."""
        accounts = self.load()
        account = accounts.get(name)
        if account is None:
            _hasher.hash(password)  # same cost as a real check: timing says nothing
            raise AccountError(REFUSED)
        if account.locked_until > now:
            _hasher.hash(password)
            raise AccountError(REFUSED)
        try:
            _hasher.verify(account.hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            account.failures += 1
            if account.failures >= MAX_FAILURES:
                account.locked_until = now + LOCK_MINUTES * 60
                account.failures = 0
            self._save(accounts)
            raise AccountError(REFUSED) from None
        if account.failures or account.locked_until:
            account.failures, account.locked_until = 0, 0.0
            self._save(accounts)
        return account

    def is_locked(self, name: str, *, now: float | None = None) -> bool:
        """For the administration page only (never for a sign-in answer)."""
        account = self.load().get(name.strip().lower())
        return bool(account and account.locked_until > (time.time() if now is None else now))

    def _existing(self, name: str) -> dict[str, Account]:
        accounts = self.load()
        if name not in accounts:
            raise AccountError(f"Aucun compte « {name} ».")
        return accounts


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Mot de passe trop court : {MIN_PASSWORD} caractères au moins.")
