"""Authentication and authorization.

Browser users log in with a form and carry a signed session cookie (CSRF-checked on every
POST); API clients log in at /api/login and send ``Authorization: Bearer TOKEN`` (no CSRF
token needed). Permissions come from the ACLs on the resources (``casefiles.security``).
"""
import datetime

from pyramid.authorization import ACLHelper, Authenticated, Everyone
from pyramid.csrf import SessionCSRFStoragePolicy
from pyramid.session import SignedCookieSessionFactory

from casefiles.security import LIST
from casefiles import localtime

SESSION_USER = "user"


def bearer_token(request):
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


class SecurityPolicy:
    def identity(self, request):
        site = request.site
        token = bearer_token(request)
        if token:
            return site.users.user_for_token(token)
        username = request.session.get(SESSION_USER)
        if username:
            user = site.users.get(username)
            if user is not None and user.active:
                return user
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
        request.session[SESSION_USER] = userid
        request.session["login_at"] = localtime.now().isoformat()
        return []

    def forget(self, request, **kw):
        request.session.invalidate()
        return []


def get_user(request):
    return request.registry.security_policy_instance.identity(request)


def principals(request):
    return request.registry.security_policy_instance.effective_principals(request)


def csrf_needed(request):
    """Cookie-authenticated requests need a CSRF token; bearer-token API calls do not."""
    return bearer_token(request) is None


def includeme(config):
    settings = config.get_settings()
    factory = SignedCookieSessionFactory(
        settings["casefiles.secret"],
        cookie_name="casefiles",
        max_age=None,
        timeout=int(settings["casefiles.session_timeout"]),
        reissue_time=300,
        httponly=True,
        samesite="Lax",
        secure=settings.get("casefiles.secure_cookies", "false").lower() == "true",
    )
    config.set_session_factory(factory)
    policy = SecurityPolicy()
    config.registry.security_policy_instance = policy
    config.set_security_policy(policy)
    config.set_csrf_storage_policy(SessionCSRFStoragePolicy())
    config.set_default_csrf_options(require_csrf=True, callback=csrf_needed)
    config.add_request_method(get_user, "user", reify=True)
    config.add_request_method(principals, "principals", reify=True)
    config.set_default_permission(LIST)
