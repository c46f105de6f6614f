"""Fixtures: a fresh database and data folder per test, the real app through WebTest,
one user per role."""
import pytest
import webtest
from argon2 import PasswordHasher

from casefiles import users

from .support import API, ROLES, ServerRules, add_users, close_app, make_app


@pytest.fixture(autouse=True)
def _cheap_passwords(request, monkeypatch):
    """Passwords are not what most tests are about: a cheap argon2 keeps log-ins fast.
    Tests marked ``real_argon2`` keep the production parameters."""
    if "real_argon2" not in request.keywords:
        monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(autouse=True)
def _no_var_env(monkeypatch):
    monkeypatch.delenv("CASEFILES_VAR", raising=False)


@pytest.fixture(autouse=True)
def _server_rules(monkeypatch):
    """Every WebTest app answers under the rules a real WSGI server applies (``ServerRules``)."""
    init = webtest.TestApp.__init__

    def checked_init(self, app, *args, **kwargs):
        init(self, ServerRules(app) if callable(app) and not isinstance(app, ServerRules) else app, *args, **kwargs)
    monkeypatch.setattr(webtest.TestApp, "__init__", checked_init)


@pytest.fixture
def var(tmp_path):
    path = tmp_path / "var"
    path.mkdir()
    return path


@pytest.fixture
def app(var):
    application = make_app(var)
    add_users(application, [(role, [role], "411502" if role == "unit" else None) for role in ROLES]
              + [("unit2", ["unit"], "411503")])
    yield application
    close_app(application)


@pytest.fixture
def testapp(app):
    return webtest.TestApp(app, extra_environ={"HTTP_HOST": "localhost:6543"})


@pytest.fixture
def api(testapp):
    clients = {}

    def client(username="clerk"):
        if username not in clients:
            clients[username] = API(testapp, username)
        return clients[username]
    return client
