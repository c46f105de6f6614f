"""Pages of the web UI that are not about one case: login, logout, the dashboard."""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import NO_PERMISSION_REQUIRED, forget, remember
from pyramid.view import view_config

from casefiles.security import LIST
from casefiles.site import Site


def _safe_came_from(request, value):
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return request.application_url + "/"


@view_config(route_name="login", renderer="login.jinja2", permission=NO_PERMISSION_REQUIRED)
def login(request):
    came_from = _safe_came_from(request, request.params.get("came_from"))
    error = None
    username = ""
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        user = request.site.users.authenticate(username, request.POST.get("password", ""))
        if user is not None:
            headers = remember(request, user.username)
            return HTTPSeeOther(came_from, headers=headers)
        error = request.t("login_failed")
        request.response.status_int = 401
    return {"came_from": came_from, "error": error, "username": username}


@view_config(route_name="logout", request_method="POST", permission=NO_PERMISSION_REQUIRED)
def logout(request):
    headers = forget(request)
    return HTTPSeeOther(request.route_url("login"), headers=headers)


@view_config(context=Site, renderer="site_dashboard.jinja2", permission=LIST)
def dashboard(request):
    from .api import query_cases
    total, recent = query_cases(request, {}, 1, 10)
    return {"total": total, "recent": recent}


def includeme(config):
    pass
