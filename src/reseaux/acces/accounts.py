"""Built-in accounts: Argon2 password hashes in a JSON file kept outside the repository.

The file (``RESEAUX_ACCOUNTS``, by default ``~/.config/reseaux/comptes.json``) holds, per
account, the hash, the role, an optional e-mail (to give a role to someone who signs in
through OpenID Connect) and the lock-out state. After :data:`MAX_FAILURES` wrong passwords in
a row from one client (an address, see :mod:`reseaux.serveur.clients`), the account is locked for
:data:`LOCK_MINUTES` for that client only: an attacker who locked a name from their address
has not locked the real person out from theirs. A client is an IPv4 address or an IPv6 /64
network (:func:`reseaux.serveur.clients.counted_as`: one subscriber holds a whole /64), named in the file
by a digest, kept only until its count clears; a lock still running is never forgotten. A client
with more than ``RESEAUX_SIGNIN_FAILURES`` failures in :data:`LOCK_MINUTES`, whatever the names,
is refused outright, before any password is checked (one address cannot try five passwords on
every name, nor keep the file locked). An account whose password was missed more than
``RESEAUX_ACCOUNT_FAILURES`` times in :data:`~reseaux.acces.signin_limits.BUDGET_MINUTES`, from any
addresses, accepts only the clients it was signed in from lately (a thousand addresses cannot try
five passwords each), until the window passes or the administration unlocks it. When the address is
unknown (:data:`reseaux.serveur.clients.UNKNOWN`), every sign-in is one client, as before per-client
counts, and that client has no limit of its own nor an account's budget (it is everyone). Writes
are atomic. The failure counts, the limits' windows and the clients an account was signed in from
live in the file every process of the data shares (:mod:`reseaux.acces.signin_limits`): a budget spent
through one process is spent in all.

Every read-modify-write of the file (a sign-in that counts a failure, an account added,
changed, removed, unlocked) holds an exclusive lock (``comptes.json.lock``), across processes
and sessions: without it, ten wrong passwords sent at once were counted as one or two (each
attempt wrote back the count it had read), and a removal or a password change made during a
failed sign-in on another account was undone. The password is checked under the same lock,
so attempts on the file are counted one after the other, whatever the concurrency.

With ``RESEAUX_DATABASE_URL`` set, the same document is a row of the database
(:mod:`reseaux.stockage.documents`) and the lock a database lock: servers of one database share the
accounts, and their sign-ins and changes are counted one after the other as the processes' are.

Every refused sign-in gets the same answer, whether the name exists, the password is wrong or
the account is locked (:data:`REFUSED`: no way to learn which names exist), and each failure
for a name from a client makes the next answer for that name and client a little slower
(:func:`reseaux.acces.signin_limits.slow_down`) — never the answer to someone else signing in from
elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from reseaux.acces import audit, signin_limits
from reseaux.acces.access import ROLES
from reseaux.acces.sessions import SESSIONS
from reseaux.acces.signin_limits import LOCK_MINUTES
from reseaux.annuaire.exports import LockTimeout
from reseaux.serveur.clients import UNKNOWN
from reseaux.stockage import documents
from reseaux.stockage.errors import StorageUnavailable

MAX_FAILURES = 5
MIN_PASSWORD = 10
#: A client's failures on an account are forgotten after this many hours without another one.
FORGET_HOURS = 24
#: Counts kept per account (the most recent) besides the locks still running: room for every real
#: person, not for a botnet.
MAX_CLIENTS = 1_000
#: The one answer to a refused sign-in.
REFUSED = (
    f"Identifiant ou mot de passe incorrect. Après {MAX_FAILURES} essais manqués, le compte est verrouillé "
    f"{LOCK_MINUTES} min (l'administration peut le déverrouiller)."
)
LOG = logging.getLogger("reseaux")
_NAME = re.compile(r"^[a-z0-9._@-]{2,64}$")
_hasher = PasswordHasher()


class AccountError(Exception):
    """A refused sign-in or account change; the message is for the user, in French."""


class _Busy(AccountError):
    """The accounts file's lock was held too long by another; said to an administrator, never
    to a person signing in (only an existing name reaches the lock)."""


@dataclass
class Account:
    name: str
    role: str
    hash: str
    email: str = ""
    #: Client digest → [failures in a row, locked until, last failure] (epoch seconds).
    clients: dict[str, list[float]] = field(default_factory=dict)

    @property
    def locked_until(self) -> float:
        """When the last lock of any client ends (0.0: none was set)."""
        return max((entry[1] for entry in self.clients.values()), default=0.0)


def account_stamp(account: Account) -> str:
    """A digest of what grants an account its powers (password hash and role)."""
    return hashlib.sha256(f"{account.role}\n{account.hash}".encode()).hexdigest()[:32]


#: Per accounts document: (its stamp, {name: stamp}), so a click does not parse the accounts.
_STAMPS: dict[str, tuple[tuple, dict[str, str]]] = {}
_STAMPS_LOCK = threading.Lock()


class AccountStore:
    """The accounts: the file at ``path`` (``RESEAUX_ACCOUNTS``), or the document « comptes » of the
    database when ``RESEAUX_DATABASE_URL`` is set (:mod:`reseaux.stockage.documents`), shared then by
    every server of that database."""

    #: How long a sign-in or an account change waits for another one to finish (seconds).
    LOCK_TIMEOUT = 10.0

    def __init__(self, path: Path, *, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.path = Path(path).expanduser()
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.lock_timeout = lock_timeout
        self.document = documents.document("comptes", self.path, private=True, lock_timeout=lock_timeout)

    def _where(self) -> str:
        """How the accounts are named in a message: « Fichier des comptes comptes.json »."""
        if isinstance(self.document, documents.FileDocument):
            return f"Fichier des comptes {self.path.name}"
        return f"Comptes ({self.document.describe()})"

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The accounts file's lock; a holder stuck longer than ``lock_timeout`` makes this an
        :class:`AccountError` in French (nothing read or written), not a wait for ever."""
        with ExitStack() as held:
            try:
                held.enter_context(self.document.locked())
            except LockTimeout as exc:
                message = str(exc)
                raise _Busy(message[:1].upper() + message[1:] + ".") from exc
            yield

    def load(self) -> dict[str, Account]:
        try:
            data = self.document.read()
        except documents.DocumentUnavailable as exc:
            raise AccountError(str(exc)[:1].upper() + str(exc)[1:] + ".") from exc
        if data is None:
            return {}
        try:
            raw = json.loads(data.decode("utf-8"))
            accounts = {name: Account(name=name, **_current(data)) for name, data in raw.get("comptes", {}).items()}
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError, AttributeError, ValueError) as exc:
            raise AccountError(
                f"{self._where()} illisible ou mal formé : l'administration doit le corriger ou le restaurer."
            ) from exc
        if not all(isinstance(a.hash, str) and isinstance(a.role, str) for a in accounts.values()):
            raise AccountError(f"{self._where()} mal formé : l'administration doit le corriger.")
        return accounts

    def stamp(self, name: str) -> str | None:
        """What a session of ``name`` was opened for: a digest of its password hash and role, or
        None when the account no longer exists. A session whose stamp is no longer the account's
        (password or role changed, here or by the command line in another process or server) is
        over at the next click; the accounts are read again only when they changed."""
        try:
            key = self.document.stamp()
        except StorageUnavailable:
            raise  # not known now: the caller says so, the session is not closed for it
        except OSError:
            return None
        if key is None:
            return None
        where = self.document.identity()
        with _STAMPS_LOCK:
            known = _STAMPS.get(where)
        if known is None or known[0] != key:
            stamps = {a.name: account_stamp(a) for a in self.load().values()}
            with _STAMPS_LOCK:
                _STAMPS[where] = (key, stamps)
            known = (key, stamps)
        return known[1].get(name)

    def _save(self, accounts: dict[str, Account]) -> None:
        data = {"comptes": {a.name: {k: v for k, v in asdict(a).items() if k != "name"} for a in accounts.values()}}
        self.document.write(json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"))

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
        audit.record("compte", action="création", compte=name, role=role)
        return accounts[name]

    def set_password(self, name: str, password: str) -> None:
        _check_password(password)
        hashed = _hasher.hash(password)
        with self._locked():
            accounts = self._existing(name)
            account = accounts[name]
            account.hash, account.clients = hashed, {}
            self._save(accounts)
        audit.record("compte", action="mot de passe changé", compte=name)
        SESSIONS.close_account(name)  # a new password signs the account out everywhere

    def set_role(self, name: str, role: str) -> None:
        if role not in ROLES[1:]:
            raise AccountError(f"Rôle inconnu « {role} ».")
        with self._locked():
            accounts = self._existing(name)
            accounts[name].role = role
            self._save(accounts)
        audit.record("compte", action="rôle changé", compte=name, role=role)

    def remove(self, name: str) -> None:
        with self._locked():
            accounts = self._existing(name)
            del accounts[name]
            self._save(accounts)
        audit.record("compte", action="suppression", compte=name)
        signin_limits.forget_account(name)  # a new account of that name starts afresh
        SESSIONS.close_account(name)

    def unlock(self, name: str) -> None:
        with self._locked():
            accounts = self._existing(name)
            accounts[name].clients = {}
            self._save(accounts)
        audit.record("compte", action="déverrouillage", compte=name)
        signin_limits.forget_failures(name)  # every client may try again

    def role_for_email(self, email: str) -> str | None:
        """The role granted to an e-mail (for people signing in through OpenID Connect)."""
        email = (email or "").strip().lower()
        return next((a.role for a in self.load().values() if email and a.email == email), None)

    def authenticate(
        self, name: str, password: str, *, client: str = UNKNOWN, now: float | None = None, delay: bool = True
    ) -> Account:
        """Return the account, or raise AccountError(:data:`REFUSED`) — the same answer for an
        unknown name, a wrong password, an account locked for ``client``, a client over its limit
        and an account over its budget for a client it does not know. ``client`` is the address
        asking (:func:`reseaux.serveur.clients.client_address`); ``delay`` slows each refusal. A cause of refusal that is not the person's (the accounts
        file's lock held too long) is logged on the server; a file unreadable is said as it is
        (it says nothing of the name: every name is refused alike)."""
        name = name.strip().lower()
        key = signin_limits.client_digest(client)
        with signin_limits.turn(key):
            now = time.time() if now is None else now  # read in the turn: after the failures counted before it
            try:
                if signin_limits.over_client_limit(key, now):
                    raise AccountError(REFUSED)  # before the lock and the hash: costs nobody anything
                account = self._check(name, password, key, now)
            except AccountError as exc:
                # Counted before the turn passes: the client's next attempt, waiting for it, sees it.
                refusal, count = exc, signin_limits.count_failure(name, key, now)
            else:
                refusal, count = None, 0
                signin_limits.count_success(name, key, now)
        if refusal is None:
            return account
        if delay:
            signin_limits.slow_down(count)  # outside the turn: a sleeping refusal holds nobody up
        if isinstance(refusal, _Busy):
            LOG.warning("Connexion refusée : %s", refusal.__cause__ or refusal)
            raise AccountError(REFUSED) from refusal
        raise refusal

    def _check(self, name: str, password: str, client: str, now: float) -> Account:
        """Refuse an unknown name or an account locked for ``client`` without taking the file
        lock (the file is written atomically: a read sees a whole version), so that attempts
        bound to fail do not make everyone else's sign-in wait; check the rest under the lock."""
        account = self.load().get(name)
        if account is None or _locked_for(account, client, now) or signin_limits.over_budget(name, client, now):
            _hasher.hash(password)  # same cost as a real check: timing says nothing
            raise AccountError(REFUSED)
        with self._locked():
            return self._verify(name, password, client, now)

    def _verify(self, name: str, password: str, client: str, now: float) -> Account:
        """Under the lock: check, count a failure of ``client``, lock the account for that client
        after :data:`MAX_FAILURES` in a row."""
        accounts = self.load()
        account = accounts.get(name)
        # Changed since the first look: removed, locked for this client, its budget spent.
        if account is None or _locked_for(account, client, now) or signin_limits.over_budget(name, client, now):
            _hasher.hash(password)
            raise AccountError(REFUSED)
        try:
            _hasher.verify(account.hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            # Under the lock: attempts at once from many clients cannot overshoot.
            signin_limits.count_missed(name, now)
            entry = account.clients.setdefault(client, [0, 0.0, now])
            entry[:] = [entry[0] + 1, entry[1], now]
            if entry[0] >= MAX_FAILURES:
                entry[:] = [0, now + LOCK_MINUTES * 60, now]
            account.clients = _pruned(account.clients, now)
            self._save(accounts)
            raise AccountError(REFUSED) from None
        if client in account.clients:  # other clients' counts and locks stay: they may be an attacker's
            del account.clients[client]
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


def _current(data: dict) -> dict:
    """An account's fields as read from the file; the one lock state of files written before
    per-client counts (``failures``, ``locked_until``) is dropped: at worst a lock ends early."""
    return {k: v for k, v in data.items() if k not in ("failures", "locked_until")}


def _pruned(clients: dict[str, list[float]], now: float) -> dict[str, list[float]]:
    """The clients worth keeping: every lock still running (newer failures from other addresses
    must not free an attacker), and the :data:`MAX_CLIENTS` most recent counts within
    :data:`FORGET_HOURS` (addresses by the thousand must not fill the file; the account's budget
    bounds the locks)."""
    locks = {c: e for c, e in clients.items() if e[1] > now}
    counts = [(c, e) for c, e in clients.items() if c not in locks and e[0] and now - e[-1] < FORGET_HOURS * 3600]
    counts.sort(key=lambda pair: pair[1][-1], reverse=True)
    return {**locks, **dict(counts[:MAX_CLIENTS])}


def _locked_for(account: Account, client: str, now: float) -> bool:
    entry = account.clients.get(client)
    return bool(entry and entry[1] > now)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Mot de passe trop court : {MIN_PASSWORD} caractères au moins.")
