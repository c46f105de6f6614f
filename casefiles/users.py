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

    def __init__(self, username, roles, name="", unit=None):
        self.username = username
        self.roles = tuple(roles)
        self.name = name or username
        self.unit = unit
        self.created = localtime.now()

    def set_password(self, password):
        if len(password or "") < MIN_PASSWORD:
            raise ValidationError(_("password_short", default="A password has at least ${n} characters.",
                                    mapping={"n": MIN_PASSWORD}), {"password": "too short"})
        self.password_hash = _hasher.hash(password)

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

    def __init__(self, username, created, expires, label=""):
        self.username = username
        self.created = created
        self.expires = expires
        self.label = label


def _digest(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Users(Folder):
    title = "用户"
    _tokens = None

    def create(self, username, roles, password, name="", unit=None, units=None):
        fields = {}
        if not username or not username.replace("-", "").replace("_", "").replace(".", "").isalnum() \
                or len(username) > 64:
            fields["username"] = _("username_bad", default="Use letters, digits, '-', '_' or '.'.")
        elif username in self:
            fields["username"] = _("username_taken", default="This username is taken.")
        bad = [r for r in roles if r not in ROLES]
        if not roles or bad:
            fields["role"] = _("role_bad", default="Roles are: ${roles}.", mapping={"roles": " ".join(ROLES)})
        if "unit" in roles:
            if not unit:
                fields["unit"] = _("unit_required", default="A unit user belongs to one responsible unit.")
            elif units is not None and unit not in units:
                fields["unit"] = _("unit_unknown", default="No responsible unit has code ${code}.",
                                   mapping={"code": unit})
        if fields:
            raise ValidationError(_("user_invalid", default="The user cannot be created."), fields)
        user = User(username, roles, name, unit if "unit" in roles else None)
        user.set_password(password)
        self.add(username, user)
        return user

    def authenticate(self, username, password):
        user = self.get(username or "")
        if user is None or not user.active:
            _hasher.hash("timing-equaliser")  # the same work whether or not the user exists
            return None
        return user if user.check_password(password) else None

    # tokens
    def issue_token(self, username, lifetime_seconds, now=None, label=""):
        if self._tokens is None:
            self._tokens = OOBTree()
        now = now or localtime.now(precise=True)
        token = secrets.token_urlsafe(32)
        self._tokens[_digest(token)] = Token(username, now, now + datetime.timedelta(seconds=lifetime_seconds),
                                             label)
        return token

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
