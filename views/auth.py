"""Authentication and authorization.

Browser users log in with a form and carry a signed session cookie (CSRF-checked on every
POST); API clients log in at /api/login and send ``Authorization: Bearer TOKEN`` (no CSRF
token needed). Permissions come from the ACLs on the resources (``casefiles.security``).
"""
import collections
import secrets
import threading
import time

from pyramid.authorization import ACLHelper, Authenticated, Everyone
from pyramid.csrf import SessionCSRFStoragePolicy
from pyramid.session import SignedCookieSessionFactory

from casefiles.i18n import _
from casefiles.security import LIST
from casefiles import users as U

SESSION_USER = "user"
SESSION_EPOCH = "epoch"
SESSION_LOGIN = "login_ts"
SESSION_ID = "sid"
# per client address: this many failed log-ins within the window answer 429 until the oldest ages out
ADDRESS_FAILURES = 20
ADDRESS_WINDOW = 10 * 60


def bearer_token(request):
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


def max_session_age(request):
    """The absolute lifetime of a browser session (``casefiles.session_max_age``, seconds)."""
    return int(request.registry.settings.get("casefiles.session_max_age") or 12 * 3600)


class SecurityPolicy:
    def identity(self, request):
        site = request.site
        token = bearer_token(request)
        if token:
            return site.users.user_for_token(token)
        session = request.session
        username = session.get(SESSION_USER)
        if username:
            user = site.users.get(username)
            max_age = max_session_age(request)
            if (user is not None and user.active and session.get(SESSION_EPOCH, 0) == (user.session_epoch or 0)
                    and time.time() - session.get(SESSION_LOGIN, 0) <= max_age
                    and not user.session_ended(session.get(SESSION_ID))):
                return user
            session.invalidate()   # ended: too old, user deactivated, password or roles changed
        return None

    def authenticated_userid(self, request):
        user = request.user
        return user.username if user is not None else None

    def effective_principals(self, request):
        principals = [Everyone]
        user = request.user
        if user is not None:
            principals.append(Authenticated)
            principals.extend(user.principals)
        return principals

    def permits(self, request, context, permission):
        return ACLHelper().permits(context, self.effective_principals(request), permission)

    def remember(self, request, userid, **kw):
        request.session.invalidate()          # a new session on every login (no fixation)
        user = request.site.users.get(userid)
        request.session[SESSION_USER] = userid
        request.session[SESSION_EPOCH] = (user.session_epoch or 0) if user is not None else 0
        request.session[SESSION_LOGIN] = time.time()
        request.session[SESSION_ID] = secrets.token_hex(8)
        return []

    def forget(self, request, **kw):
        """Log out: this session ends on the server too (a copy of its cookie stops working)."""
        session = request.session
        user = request.site.users.get(session.get(SESSION_USER) or "")
        if user is not None and session.get(SESSION_ID):
            user.end_session(session[SESSION_ID], session.get(SESSION_LOGIN, 0), time.time(), max_session_age(request))
        session.invalidate()
        return []


class AddressThrottle:
    """Failed log-ins per client address in a sliding window, in this process's memory."""

    def __init__(self, limit=ADDRESS_FAILURES, window=ADDRESS_WINDOW, max_keys=100_000):
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._failures = collections.OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key, now):
        times = self._failures.get(key)
        if times is None:
            return None
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, key, now=None):
        """Seconds until ``key`` may try again (0: now)."""
        now = time.time() if now is None else now
        with self._lock:
            times = self._recent(key, now)
            if times is None or len(times) < self.limit:
                return 0
            return max(1, int(times[-self.limit] + self.window - now + 0.999))

    def fail(self, key, now=None):
        now = time.time() if now is None else now
        with self._lock:
            times = self._recent(key, now)
            if times is None:
                times = self._failures[key] = collections.deque(maxlen=self.limit)
                while len(self._failures) > self.max_keys:
                    self._failures.popitem(last=False)
            times.append(now)
            self._failures.move_to_end(key)

    def clear(self, key):
        with self._lock:
            self._failures.pop(key, None)


class UnknownNames:
    """Failed log-ins for usernames that do not exist, counted like an account's (in this
    process's memory), so that a lock-out does not tell which usernames exist."""

    def __init__(self, max_keys=100_000):
        self._users = collections.OrderedDict()
        self._lock = threading.Lock()
        self.max_keys = max_keys

    def user(self, username):
        with self._lock:
            user = self._users.get(username)
            if user is None:
                user = self._users[username] = _Ghost()
                while len(self._users) > self.max_keys:
                    self._users.popitem(last=False)
            return user


class _Ghost:
    failures = ()
    locked_until = 0.0
    locked_for = U.User.locked_for
    record_failure = U.User.record_failure


LOGIN_FAILED = _("login_failed", default="Wrong username or password.")
LOGIN_LOCKED = _("login_locked", default="Too many failed log-ins. Try again in ${minutes} minutes.")


class LoginRefused(Exception):
    """A refused log-in: ``status`` 401 (wrong credentials) or 429 (throttled, locked)."""

    def __init__(self, status, message, retry_after=0):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


def client_address(request):
    return request.remote_addr or "-"


def _audit(request, action, **kw):
    audit = getattr(request, "audit", None)
    if audit is not None:
        audit(action, **kw)


def check_login(request, username, password):
    """The user for these credentials, or raise LoginRefused. Failures are counted per
    account (on the user, in the database: they survive restarts and are shared by the
    processes; so the caller must return its refusal as a response, not raise it through
    pyramid_tm, which would roll the count back) and per client address (in memory).
    Unknown usernames get the same answers and cost the same time as known ones."""
    now = time.time()
    throttle = request.registry.login_throttle
    address = client_address(request)
    wait = throttle.retry_after(address, now)
    if wait:
        _audit(request, "login.locked", detail={"username": username[:64], "scope": "address"}, outcome="denied")
        raise LoginRefused(429, _locked_message(wait), wait)
    site_users = request.site.users
    user = site_users.get(username)
    account = user if user is not None and user.active else request.registry.login_unknown.user(username)
    wait = account.locked_for(now)
    if wait:
        U.equalise_timing(password)   # a locked account costs the same time as a check
        _audit(request, "login.locked", detail={"username": username[:64], "scope": "account"}, outcome="denied")
        raise LoginRefused(429, _locked_message(wait), wait)
    found = site_users.authenticate(username, password)
    if found is not None:
        found.record_success(now)
        return found
    throttle.fail(address, now)
    locked = account.record_failure(now)
    _audit(request, "login.failed", detail={"username": username[:64]}, outcome="failed")
    if locked:
        _audit(request, "login.locked", detail={"username": username[:64], "scope": "account"}, outcome="denied")
    raise LoginRefused(401, LOGIN_FAILED)


def refusal_response(request, refused):
    """The JSON/HTML error response of a refused log-in (with Retry-After when throttled)."""
    from .errors import error_response
    code = "too_many_requests" if refused.status == 429 else "unauthorized"
    response = error_response(request, refused.status, code, refused.message)
    if refused.retry_after:
        response.headers["Retry-After"] = str(refused.retry_after)
    return response


def _locked_message(seconds):
    return _("login_locked", default="Too many failed log-ins. Try again in ${minutes} minutes.",
             mapping={"minutes": max(1, (seconds + 59) // 60)})


def get_user(request):
    return request.registry.security_policy_instance.identity(request)


def principals(request):
    return request.registry.security_policy_instance.effective_principals(request)


def csrf_needed(request):
    """Cookie-authenticated requests need a CSRF token; bearer-token API calls do not."""
    return bearer_token(request) is None


FLASH_KEEP = 3        # messages waiting in a session's flash queue
FLASH_CHARS = 160     # characters of one message (the cookie holds ~4 KB; a CJK character takes ~8 bytes)


def bounded_flash(factory):
    """The session class with a flash queue that cannot outgrow the cookie: messages that
    are never shown (POSTs whose redirect is not followed) or carry long user input (a
    file name) otherwise make the cookie too long to set, and the response fails."""
    class Session(factory):
        def flash(self, msg, queue="", allow_duplicate=True):
            if isinstance(msg, str) and len(msg) > FLASH_CHARS:
                msg = msg[:FLASH_CHARS - 1] + "…"
            super().flash(msg, queue, allow_duplicate)
            storage = self.get("_f_" + queue)
            if storage and len(storage) > FLASH_KEEP:
                del storage[:-FLASH_KEEP]
    return Session


SESSION_COOKIE = "casefiles"


def includeme(config):
    settings = config.get_settings()
    factory = SignedCookieSessionFactory(
        settings["casefiles.secret"],
        cookie_name=SESSION_COOKIE,
        max_age=None,
        timeout=int(settings["casefiles.session_timeout"]),
        reissue_time=300,
        httponly=True,
        samesite="Lax",
        secure=settings.get("casefiles.secure_cookies", "false").lower() == "true",
    )
    config.set_session_factory(bounded_flash(factory))
    policy = SecurityPolicy()
    config.registry.security_policy_instance = policy
    config.set_security_policy(policy)
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
    config.set_default_csrf_options(require_csrf=True, callback=csrf_needed)
    config.registry.login_throttle = AddressThrottle()
    config.registry.login_unknown = UnknownNames()
    config.add_request_method(get_user, "user", reify=True)
    config.add_request_method(principals, "principals", reify=True)
    config.set_default_permission(LIST)
