"""Users, their roles and passwords (argon2), and API tokens.

A token is stored by its SHA-256 only, so a copy of the database gives no usable token;
revoking one deletes it.
"""
import datetime
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from BTrees.OOBTree import OOBTree
from persistent import Persistent

from .errors import ValidationError
from .folder import Folder
from .i18n import _
from .security import ROLES
from . import localtime

_hasher = PasswordHasher()
MIN_PASSWORD = 8
MAX_PASSWORD = 256
# account lock-out: this many failed log-ins within the window lock the account for LOCK_SECONDS
LOCK_FAILURES = 5
LOCK_WINDOW = 15 * 60
LOCK_SECONDS = 15 * 60
TOKEN_ID_LENGTH = 12


_dummy = None


def equalise_timing(password):
    """An argon2 verification that fails, costing what checking a real password costs."""
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash(secrets.token_hex(16)))
    try:
        _hasher.verify(_dummy[1], password or "-")
    except (VerificationError, InvalidHashError):
        pass


class User(Persistent):
    __name__ = None
    __parent__ = None
    username = ""
    name = ""
    roles = ()
    unit = None
    password_hash = ""
    active = True
    created = None
    failures = ()          # times (epoch seconds) of the recent failed log-ins
    locked_until = 0.0     # epoch seconds; 0 = not locked
    session_epoch = 0      # bumped on password change, deactivation, role change: old sessions end
    last_login = None
    password_changed = None

    def __init__(self, username, roles, name="", unit=None):
        self.username = username
        self.roles = tuple(roles)
        self.name = name or username
        self.unit = unit
        self.created = localtime.now()

    def password_problem(self, password):
        """None if ``password`` is acceptable for this user, else a message."""
        if not isinstance(password, str):
            return _("password_text", default="A password must be text.")
        if len(password) < MIN_PASSWORD:
            return _("password_short", default="A password has at least ${n} characters.",
                     mapping={"n": MIN_PASSWORD})
        if len(password) > MAX_PASSWORD:
            return _("password_long", default="A password has at most ${n} characters.", mapping={"n": MAX_PASSWORD})
        if password.strip().lower() == (self.username or "").lower():
            return _("password_username", default="The password must not be the username.")
        return None

    def set_password(self, password, field="password"):
        problem = self.password_problem(password)
        if problem:
            raise ValidationError(problem, {field: problem})
        self.password_hash = _hasher.hash(password)
        self.password_changed = localtime.now()

    # lock-out
    def locked_for(self, now):
        """Seconds the account stays locked (0: not locked)."""
        return max(0, int(self.locked_until - now + 0.999)) if self.locked_until > now else 0

    def record_failure(self, now):
        """Count a failed log-in; returns True when this failure locks the account."""
        recent = tuple(t for t in self.failures if now - t < LOCK_WINDOW) + (now,)
        if len(recent) >= LOCK_FAILURES:
            self.failures = ()
            self.locked_until = now + LOCK_SECONDS
            return True
        self.failures = recent
        return False

    def record_success(self, now):
        if self.failures or self.locked_until:
            self.failures = ()
            self.locked_until = 0.0
        self.last_login = localtime.now()

    def unlock(self):
        self.failures = ()
        self.locked_until = 0.0

    def end_sessions(self):
        """Every session cookie issued before now stops working."""
        self.session_epoch = (self.session_epoch or 0) + 1
        self.ended_sessions = None

    ended_sessions = None   # {session id: login time} of sessions logged out before their end

    def end_session(self, sid, started, now, max_age):
        """One logged-out session (``sid``) stops working, even if its cookie was copied."""
        ended = dict(self.ended_sessions or {})
        ended = {k: v for k, v in ended.items() if now - v <= max_age}   # the others have expired anyway
        ended[sid] = started
        self.ended_sessions = ended

    def session_ended(self, sid):
        return bool(self.ended_sessions) and sid in self.ended_sessions

    def check_password(self, password):
        if not self.password_hash or not password:
            return False
        try:
            _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if _hasher.check_needs_rehash(self.password_hash):
            self.password_hash = _hasher.hash(password)
        return True

    @property
    def principals(self):
        out = [f"user:{self.username}"] + [f"role:{r}" for r in self.roles]
        if self.unit:
            out.append(f"unit:{self.unit}")
        return out

    def has_role(self, *roles):
        return any(r in self.roles for r in roles)


class Token(Persistent):
    username = ""
    created = None
    expires = None
    label = ""
    id = ""          # the first hex digits of the digest: names the token without being it

    def __init__(self, username, created, expires, label=""):
        self.username = username
        self.created = created
        self.expires = expires
        self.label = label


def _digest(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


MAX_USERNAME = 64


def _username_char(ch):
    """Latin letters and digits, '-', '_', '.', and Chinese characters (CJK unified
    ideographs and extension A; not compatibility ideographs, which look like others, nor
    full-width or other scripts' letters, which would let one name pass for another)."""
    return (ch.isascii() and (ch.isalnum() or ch in "-_.")) or "\u4e00" <= ch <= "\u9fff" \
        or "\u3400" <= ch <= "\u4dbf"


def username_problem(username):
    """None if ``username`` may name a new user, else a message. The one rule for the API,
    the administrators' form and ``casefiles-adduser``."""
    if not isinstance(username, str) or not username:
        return _("username_required", default="Enter a username.")
    if len(username) > MAX_USERNAME:
        return _("username_long", default="A username has at most ${n} characters.", mapping={"n": MAX_USERNAME})
    if not all(_username_char(ch) for ch in username) or not any(ch not in "-_." for ch in username):
        return _("username_chars", default="A username uses Latin letters, digits, Chinese characters, '-', '_' "
                                           "and '.' only, with at least one letter, digit or Chinese character.")
    return None


def _unit_problem(unit, units):
    if unit and units is not None and unit not in units:
        shown = unit if len(unit) <= 20 else unit[:20] + "…"
        return _("unit_unknown", default="No responsible unit has code ${code}.", mapping={"code": shown})
    return None


def _check_roles(roles, unit, units, fields, roles_field):
    """Known roles, at least one; a unit user belongs to one existing responsible unit; a
    unit code given for anyone is one that exists (it is kept for unit users only).
    Problems go into ``fields`` (the roles' under ``roles_field``)."""
    if not roles or any(r not in ROLES for r in roles):
        fields[roles_field] = _("role_bad", default="Roles are: ${roles}.", mapping={"roles": " ".join(ROLES)})
    problem = _unit_problem(unit, units)
    if problem:
        fields["unit"] = problem
    elif "unit" in roles and not unit:
        fields["unit"] = _("unit_required", default="A unit user belongs to one responsible unit.")


class Users(Folder):
    title = "用户"
    _tokens = None

    def create(self, username, roles, password, name="", unit=None, units=None):
        fields = {}
        problem = username_problem(username)
        if problem:
            fields["username"] = problem
        elif username in self:
            fields["username"] = _("username_taken", default="This username is taken.")
        _check_roles(roles, unit, units, fields, "roles")
        if fields:
            raise ValidationError(_("user_invalid", default="The user cannot be created."), fields)
        user = User(username, roles, name, unit if "unit" in roles else None)
        user.set_password(password)
        self.add(username, user)
        return user

    def authenticate(self, username, password):
        user = self.get(username or "")
        if user is None or not user.active:
            equalise_timing(password)   # the same work whether or not the user exists
            return None
        return user if user.check_password(password) else None

    def update(self, username, name=None, roles=None, unit=None, active=None, units=None):
        """Change a user's name, roles, unit or active flag; returns the names of the changed
        fields. Changing roles, unit or active ends the user's sessions; deactivating also
        revokes the user's tokens."""
        user = self[username]
        fields = {}
        roles = tuple(user.roles) if roles is None else tuple(dict.fromkeys(roles))
        given = unit
        unit = user.unit if unit is None else (unit or None)
        # the stored unit is not checked again: only a unit code sent now must exist
        _check_roles(roles, unit, units if given else None, fields, "roles")
        if "unit" not in roles:
            unit = None
        if name is not None:
            name = " ".join(name.split())
            if not name or len(name) > 100:
                fields["name"] = _("user_name_bad", default="A name has 1 to 100 characters.")
        if fields:
            raise ValidationError(_("user_invalid_update", default="The user cannot be changed."), fields)
        changed = []
        if name is not None and name != user.name:
            user.name = name
            changed.append("name")
        if roles != tuple(user.roles):
            user.roles = roles
            changed.append("roles")
        if unit != user.unit:
            user.unit = unit
            changed.append("unit")
        if active is not None and bool(active) != bool(user.active):
            user.active = bool(active)
            changed.append("active")
        if {"roles", "unit", "active"} & set(changed):
            user.end_sessions()
        if "active" in changed and not user.active:
            self.revoke_tokens(username)
        return changed

    def change_password(self, user, old, new, keep_token=None):
        """The user changes their own password: the old one is required; every session and
        every token of the user but ``keep_token`` (the one of this request) ends."""
        if not isinstance(old, str) or not user.check_password(old):
            message = _("password_old_wrong", default="The current password is wrong.")
            raise ValidationError(message, {"old": message})
        if isinstance(new, str) and new == old:
            message = _("password_same", default="The new password must differ from the current one.")
            raise ValidationError(message, {"new": message})
        user.set_password(new, field="new")
        user.end_sessions()
        return self.revoke_tokens(user.username, keep=keep_token)

    def reset_password(self, username, new):
        """An administrator sets a user's password: every session and token of the user ends."""
        user = self[username]
        user.set_password(new)
        user.unlock()
        user.end_sessions()
        self.revoke_tokens(username)
        return user

    # tokens
    def issue_token(self, username, lifetime_seconds, now=None, label=""):
        if self._tokens is None:
            self._tokens = OOBTree()
        now = now or localtime.now(precise=True)
        token = secrets.token_urlsafe(32)
        digest = _digest(token)
        record = Token(username, now, now + datetime.timedelta(seconds=lifetime_seconds), label)
        record.id = digest[:TOKEN_ID_LENGTH]
        self._tokens[digest] = record
        return token

    @staticmethod
    def token_id(token):
        return _digest(token)[:TOKEN_ID_LENGTH] if token else None

    def tokens(self, username=None, now=None):
        """The unexpired tokens (of one user), newest first, as (id, Token)."""
        if self._tokens is None:
            return []
        now = now or localtime.now(precise=True)
        out = [(digest[:TOKEN_ID_LENGTH], record) for digest, record in self._tokens.items()
               if (username is None or record.username == username) and record.expires >= now]
        return sorted(out, key=lambda pair: pair[1].created, reverse=True)

    def _digest_for_id(self, token_id):
        if self._tokens is None or not token_id or len(token_id) != TOKEN_ID_LENGTH:
            return None
        for digest in self._tokens.keys(min=token_id):
            return digest if digest.startswith(token_id) else None
        return None

    def revoke_token_id(self, username, token_id):
        """Revoke the token of ``username`` named ``token_id``; False if there is none."""
        digest = self._digest_for_id(token_id)
        if digest is None or self._tokens[digest].username != username:
            return False
        del self._tokens[digest]
        return True

    def revoke_tokens(self, username, keep=None):
        """Revoke every token of ``username`` (but ``keep``, a token); also drops expired
        tokens of anyone. Returns how many of the user's tokens were revoked."""
        if self._tokens is None:
            return 0
        keep_digest = _digest(keep) if keep else None
        now = localtime.now(precise=True)
        revoked = 0
        for digest, record in list(self._tokens.items()):
            if record.username == username and digest != keep_digest:
                del self._tokens[digest]
                revoked += 1
            elif record.expires < now:
                del self._tokens[digest]
        return revoked

    def user_for_token(self, token, now=None):
        if not token or self._tokens is None:
            return None
        record = self._tokens.get(_digest(token))
        if record is None or record.expires < (now or localtime.now(precise=True)):
            return None
        user = self.get(record.username)
        return user if user is not None and user.active else None

    def revoke_token(self, token):
        if self._tokens is not None:
            return self._tokens.pop(_digest(token), None) is not None
        return False
