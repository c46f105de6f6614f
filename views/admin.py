"""Users and their roles, passwords and API tokens.

Administrators (``ADMINISTER``) manage users: ``/admin/users`` (list, create, edit name,
roles, unit and active, reset a password, unlock a locked account, list and revoke the
user's tokens) and the JSON API ``/api/users…``. Every user changes their own password at
``/account/password`` (``POST /api/me/password``) and lists and revokes their own tokens
(``/api/me/tokens``).

Changing a password ends every other session and token of the user: the browser session
(or the bearer token) the change was made with stays valid, everything else stops. An
administrator's reset, a role or unit change and a deactivation end all of them.
Every change is recorded in the audit trail (``user.create``, ``user.update``,
``password.change``, ``token.revoke``).
"""
import time

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import remember
from pyramid.view import view_config

from casefiles.errors import Conflict, NotFound, ValidationError
from casefiles.i18n import _
from casefiles.security import ADMINISTER, LIST, ROLE_TITLES, ROLES

from .auth import LoginRefused, _locked_message, bearer_token, refusal_response
from .errors import error_response
from .fields import text_field, text_fields
from .serialize import token_json, user_admin_json, user_json
from .uploads import json_body

ROUTES = [
    ("admin_users", "/admin/users"),
    ("admin_user_new", "/admin/users/new"),
    ("admin_user", "/admin/users/{username}"),
    ("admin_user_password", "/admin/users/{username}/password"),
    ("admin_user_unlock", "/admin/users/{username}/unlock"),
    ("admin_user_token_revoke", "/admin/users/{username}/tokens/{id}/revoke"),
    ("account_password", "/account/password"),
    ("account_token_revoke", "/account/tokens/{id}/revoke"),
    ("api_users", "/api/users"),
    ("api_user", "/api/users/{username}"),
    ("api_user_tokens", "/api/users/{username}/tokens"),
    ("api_user_token", "/api/users/{username}/tokens/{id}"),
    ("api_user_unlock", "/api/users/{username}/unlock"),
    ("api_user_password", "/api/users/{username}/password"),
    ("api_me_password", "/api/me/password"),
    ("api_me_tokens", "/api/me/tokens"),
    ("api_me_token", "/api/me/tokens/{id}"),
]


def _audit(request, action, **kw):
    audit = getattr(request, "audit", None)
    if audit is not None:
        audit(action, **kw)


def _user(request):
    username = request.matchdict.get("username", "")
    user = request.site.users.get(username)
    if user is None:
        raise NotFound(_("user_missing", default="There is no user ${username}.", mapping={"username": username}))
    return user


def _now():
    return time.time()


def _units(request):
    return set(request.site.units.keys())


def _active_admins(site, without=None):
    return [u for u in site.users.values() if u.active and "admin" in u.roles and u.username != without]


def _keep_an_admin(request, user, roles, active):
    """Refuse a change that would leave no active administrator."""
    stays_admin = ("admin" in (roles if roles is not None else user.roles)
                   and (active if active is not None else user.active))
    if "admin" in user.roles and user.active and not stays_admin and not _active_admins(request.site, user.username):
        raise Conflict(_("last_admin", default="At least one active administrator must remain."),
                       {"roles": "admin"})


def _roles_field(body):
    """The ``roles`` of a JSON body: absent (None) or a list of known role names."""
    roles = body.get("roles")
    if roles is None:
        return None
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        message = _("roles_list", default="The field roles must be a list of role names, such as [\"clerk\"].")
        raise ValidationError(message, {"roles": message})
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        shown = unknown[0] if len(unknown[0]) <= 50 else unknown[0][:50] + "…"
        message = _("role_unknown", default="There is no role \"${role}\". Roles are: ${roles}.",
                    mapping={"role": shown, "roles": " ".join(ROLES)})
        raise ValidationError(message, {"roles": message})
    return roles


def create_user(request, username, roles, password, name, unit):
    users = request.site.users
    user = users.create(username, roles, password, name=name, unit=unit, units=_units(request))
    _audit(request, "user.create", detail={"username": user.username, "roles": list(user.roles), "unit": user.unit})
    return user


def update_user(request, user, name=None, roles=None, unit=None, active=None):
    _keep_an_admin(request, user, roles, active)
    changed = request.site.users.update(user.username, name=name, roles=roles, unit=unit, active=active,
                                        units=_units(request))
    if changed:
        _audit(request, "user.update", detail={"username": user.username, "changed": changed,
                                               "roles": list(user.roles), "unit": user.unit,
                                               "active": bool(user.active)})
    return changed


def reset_password(request, user, password):
    request.site.users.reset_password(user.username, password)
    _audit(request, "user.update", detail={"username": user.username, "changed": ["password"]})


def unlock(request, user):
    user.unlock()
    _audit(request, "user.update", detail={"username": user.username, "changed": ["unlocked"]})


def revoke(request, user, token_id):
    if not request.site.users.revoke_token_id(user.username, token_id):
        raise NotFound(_("token_missing", default="There is no such token."))
    _audit(request, "token.revoke", detail={"username": user.username, "token": token_id})


def change_own_password(request, old, new):
    """The request's user changes their password; this session or token stays valid.

    A wrong current password counts as a failed log-in of the account (a stolen session
    cannot guess the password either): the callers answer the error instead of raising it,
    so that the count is committed."""
    user = request.user
    token = bearer_token(request)
    now = time.time()
    wait = user.locked_for(now)
    if wait:
        raise LoginRefused(429, _locked_message(wait), wait)
    try:
        revoked = request.site.users.change_password(user, old, new, keep_token=token)
    except ValidationError as e:
        if "old" in e.fields:
            _audit(request, "login.failed", detail={"username": user.username, "via": "password.change"},
                   outcome="failed")
            if user.record_failure(now):
                _audit(request, "login.locked", detail={"username": user.username, "scope": "account"},
                       outcome="denied")
        raise
    if token is None:       # a browser: a fresh session for this browser, every other one ends
        csrf = request.session.get("_csrft_")
        remember(request, user.username)
        if csrf:
            request.session["_csrft_"] = csrf
    _audit(request, "password.change", detail={"username": user.username, "tokens_revoked": revoked})
    return revoked


# --- JSON API -----------------------------------------------------------------------------------

@view_config(route_name="api_users", request_method="GET", renderer="json", permission=ADMINISTER)
def api_users(request):
    now = _now()
    return {"users": [user_admin_json(u, now) for u in sorted(request.site.users.values(),
                                                               key=lambda u: u.username)]}


@view_config(route_name="api_users", request_method="POST", renderer="json", permission=ADMINISTER)
def api_create_user(request):
    body = json_body(request)
    # the types here; what the text may be (the username's characters, the password's
    # length, a known unit) is the domain's rule, the same for the form and casefiles-adduser
    username, password = text_fields(body, "username", "password", required=True)
    name, unit = text_fields(body, "name", "unit")
    roles = _roles_field(body) or []
    user = create_user(request, username.strip(), roles, password, (name or "").strip(), unit or None)
    request.response.status_int = 201
    request.response.headers["Location"] = request.route_url("api_user", username=user.username)
    return user_admin_json(user, _now())


@view_config(route_name="api_user", request_method="GET", renderer="json", permission=ADMINISTER)
def api_user(request):
    return user_admin_json(_user(request), _now())


@view_config(route_name="api_user", request_method="PATCH", renderer="json", permission=ADMINISTER)
def api_update_user(request):
    user = _user(request)
    body = json_body(request)
    active = body.get("active")
    if active is not None and not isinstance(active, bool):
        message = _("field_bool", default="The field ${name} must be true or false.", mapping={"name": "active"})
        raise ValidationError(message, {"active": message})
    name, unit = text_fields(body, "name", "unit")
    if "unit" in body and unit is None:
        unit = ""           # null: no unit
    update_user(request, user, name=name, roles=_roles_field(body), unit=unit, active=active)
    return user_admin_json(user, _now())


@view_config(route_name="api_user_password", request_method="POST", renderer="json", permission=ADMINISTER)
def api_reset_password(request):
    user = _user(request)
    reset_password(request, user, text_field(json_body(request), "password", required=True))
    return user_admin_json(user, _now())


@view_config(route_name="api_user_unlock", request_method="POST", renderer="json", permission=ADMINISTER)
def api_unlock(request):
    user = _user(request)
    unlock(request, user)
    return user_admin_json(user, _now())


@view_config(route_name="api_user_tokens", request_method="GET", renderer="json", permission=ADMINISTER)
def api_user_tokens(request):
    user = _user(request)
    current = request.site.users.token_id(bearer_token(request))
    return {"tokens": [token_json(i, t, i == current) for i, t in request.site.users.tokens(user.username)]}


@view_config(route_name="api_user_token", request_method="DELETE", renderer="json", permission=ADMINISTER)
def api_revoke_user_token(request):
    user = _user(request)
    revoke(request, user, request.matchdict["id"])
    return {"revoked": True}


@view_config(route_name="api_me_password", request_method="POST", renderer="json", permission=LIST)
def api_change_password(request):
    body = json_body(request)
    old, new = text_fields(body, "old", "new", required=True)
    try:
        revoked = change_own_password(request, old, new)
    except LoginRefused as refused:       # answered, not raised: the failure count is committed
        return refusal_response(request, refused)
    except ValidationError as e:
        return error_response(request, e.status, e.code, e.message, e.fields)
    return {"changed": True, "tokens_revoked": revoked, "user": user_json(request.user)}


@view_config(route_name="api_me_tokens", request_method="GET", renderer="json", permission=LIST)
def api_my_tokens(request):
    current = request.site.users.token_id(bearer_token(request))
    return {"tokens": [token_json(i, t, i == current) for i, t in request.site.users.tokens(request.user.username)]}


@view_config(route_name="api_me_token", request_method="DELETE", renderer="json", permission=LIST)
def api_revoke_my_token(request):
    revoke(request, request.user, request.matchdict["id"])
    return {"revoked": True}


# --- pages --------------------------------------------------------------------------------------

def _form_values(request):
    post = request.POST
    return {"username": post.get("username", "").strip(), "name": post.get("name", "").strip(),
            "roles": [r for r in post.getall("roles") if isinstance(r, str)], "unit": post.get("unit", "").strip(),
            "active": bool(post.get("active")), "password": post.get("password", "")}


def _page(request, user=None, values=None, errors=None, message=None, status=200):
    request.response.status_int = status
    units = sorted(request.site.units.values(), key=lambda u: u.code)
    now = _now()
    return {"user": user, "values": values or {}, "errors": errors or {}, "message": message,
            "roles": [(r, ROLE_TITLES.get(r, r)) for r in ROLES], "units": units,
            "tokens": request.site.users.tokens(user.username) if user is not None else [],
            "locked_for": user.locked_for(now) if user is not None else 0}


def _errors(request, e):
    return {k: request.t(v) for k, v in e.fields.items()}, request.t(e.message)


@view_config(route_name="admin_users", request_method="GET", renderer="admin_users.jinja2", permission=ADMINISTER)
def users_page(request):
    now = _now()
    users = sorted(request.site.users.values(), key=lambda u: u.username)
    return {"users": [(u, u.locked_for(now)) for u in users], "role_titles": ROLE_TITLES}


@view_config(route_name="admin_user_new", renderer="admin_user_edit.jinja2", permission=ADMINISTER)
def new_user_page(request):
    if request.method != "POST":
        return _page(request, values={"active": True, "roles": []})
    values = _form_values(request)
    try:
        user = create_user(request, values["username"], values["roles"], values["password"], values["name"],
                           values["unit"] or None)
    except ValidationError as e:
        errors, message = _errors(request, e)
        values["password"] = ""
        return _page(request, values=values, errors=errors, message=message, status=422)
    request.session.flash(request.t(_("user_created", default="User ${username} created.",
                                      mapping={"username": user.username})))
    return HTTPSeeOther(request.route_url("admin_user", username=user.username))


def _stored_values(user):
    """The edit form's fields as the user is stored."""
    return {"name": user.name, "roles": list(user.roles), "unit": user.unit or "", "active": user.active}


@view_config(route_name="admin_user", renderer="admin_user_edit.jinja2", permission=ADMINISTER)
def edit_user_page(request):
    user = _user(request)
    if request.method != "POST":
        return _page(request, user, _stored_values(user))
    values = _form_values(request)
    try:
        changed = update_user(request, user, name=values["name"], roles=values["roles"], unit=values["unit"],
                              active=values["active"])
    except (ValidationError, Conflict) as e:
        errors, message = _errors(request, e)
        return _page(request, user, values, errors, message, status=e.status)
    if changed:
        request.session.flash(request.t(_("user_saved", default="Changes to ${username} saved.",
                                          mapping={"username": user.username})))
    return HTTPSeeOther(request.route_url("admin_user", username=user.username))


@view_config(route_name="admin_user_password", request_method="POST", renderer="admin_user_edit.jinja2",
             permission=ADMINISTER)
def reset_password_page(request):
    user = _user(request)
    try:
        reset_password(request, user, request.POST.get("password", ""))
    except ValidationError as e:
        errors, message = _errors(request, e)
        values = _stored_values(user)
        return _page(request, user, values, errors, message, status=422)
    request.session.flash(request.t(_("password_reset_done", default="The password of ${username} was reset; "
                                                                       "their sessions and tokens ended.",
                                      mapping={"username": user.username})))
    return HTTPSeeOther(request.route_url("admin_user", username=user.username))


@view_config(route_name="admin_user_unlock", request_method="POST", permission=ADMINISTER)
def unlock_page(request):
    user = _user(request)
    unlock(request, user)
    request.session.flash(request.t(_("user_unlocked", default="${username} can log in again.",
                                      mapping={"username": user.username})))
    return HTTPSeeOther(request.route_url("admin_user", username=user.username))


@view_config(route_name="admin_user_token_revoke", request_method="POST", permission=ADMINISTER)
def revoke_token_page(request):
    user = _user(request)
    revoke(request, user, request.matchdict["id"])
    request.session.flash(request.t(_("token_revoked", default="The token was revoked.")))
    return HTTPSeeOther(request.route_url("admin_user", username=user.username) + "#tokens")


@view_config(route_name="account_password", renderer="account_password.jinja2", permission=LIST)
def password_page(request):
    user = request.user
    tokens = request.site.users.tokens(user.username)
    if request.method != "POST":
        return {"errors": {}, "message": None, "tokens": tokens}
    try:
        new = request.POST.get("new", "")
        if new != request.POST.get("confirm", ""):
            message = _("password_confirm", default="The two new passwords differ.")
            raise ValidationError(message, {"confirm": message})
        change_own_password(request, request.POST.get("old", ""), new)
    except ValidationError as e:
        errors, message = _errors(request, e)
        request.response.status_int = 422
        return {"errors": errors, "message": message, "tokens": tokens}
    except LoginRefused as refused:
        request.response.status_int = refused.status
        request.response.headers["Retry-After"] = str(refused.retry_after)
        return {"errors": {}, "message": request.t(refused.message), "tokens": tokens}
    request.session.flash(request.t(_("password_changed", default="Your password was changed; your other "
                                                                    "sessions and tokens ended.")))
    return HTTPSeeOther(request.route_url("account_password"))


@view_config(route_name="account_token_revoke", request_method="POST", permission=LIST)
def revoke_own_token_page(request):
    revoke(request, request.user, request.matchdict["id"])
    request.session.flash(request.t(_("token_revoked", default="The token was revoked.")))
    return HTTPSeeOther(request.route_url("account_password") + "#tokens")


def includeme(config):
    from .routes import site_factory
    for name, pattern in ROUTES:
        config.add_route(name, pattern, factory=site_factory)
