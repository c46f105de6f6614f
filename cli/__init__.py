"""Console scripts (``casefiles-…``): what they share.

Every script loads the app from its ini file with ``pyramid.paster.bootstrap`` (so
``CASEFILES_VAR`` and every ``casefiles.*`` setting apply exactly as in the web server),
works on the site root inside the request's transaction manager, and closes the database
when it is done. Messages go through the zh_CN catalog like the web UI's; a progress bar on
standard error shows done/total, the rate and the time left.
"""
import contextlib
import importlib.resources
import os
import sys
import threading
import time

from transaction.interfaces import TransientError

from casefiles.errors import DomainError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

_localizer = None


def localizer():
    global _localizer
    if _localizer is None:
        from pyramid.i18n import make_localizer
        locale_dir = str(importlib.resources.files("views").joinpath("locale"))
        _localizer = make_localizer("zh_CN", [locale_dir])
    return _localizer


def t(message):
    """Translate a domain message (``_("id", default=..., mapping=...)``) for the console."""
    return localizer().translate(message)


def say(text="", stream=None):
    print(text, file=stream or sys.stdout, flush=True)


def error(message, fields=None):
    """Print an error (and its field messages) on standard error."""
    say(t(message), sys.stderr)
    for name, text in (fields or {}).items():
        say(f"  {name}: {t(text)}", sys.stderr)


def domain_error(exc):
    error(exc.message, exc.fields)


class Opened:
    """The site, its transaction manager and the request of a bootstrapped app."""

    def __init__(self, env):
        self.env = env
        self.request = env["request"]
        self.registry = env["registry"]
        self.settings = self.registry.settings
        self.tm = self.request.tm
        self.tm.begin()
        self.site = self.request.site
        from pyramid_zodbconn import get_connection
        self.connection = get_connection(self.request)

    @property
    def root(self):
        """The ZODB root (the site hangs from it under ``casefiles.site.ROOT_KEY``)."""
        return self.connection.root()

    committed = False

    def commit(self):
        """Commit what was done so far and begin the next transaction."""
        self.tm.commit()
        self.committed = True
        self.connection.cacheGC()
        self.tm.begin()

    def abort(self):
        self.tm.abort()
        self.tm.begin()

    def audit(self, action, case=None, document=None, detail=None, outcome="ok"):
        """Record what a console script did in the audit trail (after its commit), as the
        operating-system user who ran it: scripts change the database as much as requests do."""
        writer = getattr(self.registry, "audit_writer", None)
        if writer is None:
            return
        import getpass
        from casefiles.audit import make_entry
        try:
            who = getpass.getuser()
        except (KeyError, OSError):
            who = str(os.getuid())
        command = os.path.basename(sys.argv[0] or "") or "casefiles"
        detail = dict(detail or {}, command=command)
        writer.submit([make_entry(action, user=f"cli:{who}", address="local", case=case, document=document,
                                  outcome=outcome, detail=detail)])

    def transact(self, work, attempts=8):
        """Run ``work()`` and commit; on a conflict (the web app or the index worker wrote
        the same objects meanwhile) abort and run it again. ``work`` must be repeatable:
        return what it did rather than counting it outside."""
        for attempt in range(attempts):
            try:
                result = work()
                self.commit()
                return result
            except TransientError:
                self.abort()
                if attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))


@contextlib.contextmanager
def open_site(config_uri):
    """``with open_site("development.ini") as opened:`` … ``opened.site`` … ``opened.commit()``.

    Whatever is not committed when the block ends is aborted; the database is closed.
    """
    from pyramid.paster import bootstrap
    env = bootstrap(config_uri)
    opened = None
    try:
        opened = Opened(env)
        yield opened
    finally:
        try:
            if opened is not None:
                with contextlib.suppress(Exception):
                    opened.tm.abort()
            env["closer"]()
        finally:
            close_app(env["registry"], wait=opened is not None and opened.committed)


INDEX_WAIT_SECONDS = 600


def close_app(registry, wait=False):
    """Let the search index catch up with what was committed (its queue is durable, so a
    timeout loses nothing: the next start applies the rest), then close the databases.
    The audit trail's writer first writes what it still holds."""
    from views.audit import close_audit
    close_audit(registry)
    indexer = getattr(registry, "search_indexer", None)
    if indexer is not None:
        if wait and not indexer.wait_idle(0):
            from casefiles.i18n import _
            started = time.monotonic()
            say(t(_("cli_index_wait", default="Updating the search index…")), sys.stderr)
            done = indexer.wait_idle(INDEX_WAIT_SECONDS)
            took = duration(time.monotonic() - started)
            if done:
                say(t(_("cli_index_done", default="The search index is up to date (${time}).",
                        mapping={"time": took})), sys.stderr)
            else:
                say(t(_("cli_index_later", default="The search index is still catching up after ${time}; "
                        "the server finishes it when it starts.", mapping={"time": took})), sys.stderr)
        threads = indexer.threads()
        indexer.close()
        # the background workers stop between two items; let them, before the database closes
        # (only this app's: another app open in the same process keeps its own running)
        end = time.monotonic() + 60
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, end - time.monotonic()))
    for db in getattr(registry, "_zodb_databases", {}).values():
        db.close()


def run(main_body):
    """Run a script body, turning domain errors into a message and exit status 2."""
    try:
        return main_body()
    except DomainError as exc:
        domain_error(exc)
        return EXIT_USAGE
    except KeyboardInterrupt:
        say("", sys.stderr)
        return 130


def add_config_argument(parser):
    from casefiles.i18n import _
    parser.add_argument("config", metavar="CONFIG",
                        help=t(_("cli_config_help", default="the ini file, e.g. development.ini")))


def check_config(config_uri):
    path = config_uri.split("#", 1)[0]
    if not os.path.exists(path):
        from casefiles.i18n import _
        error(_("cli_config_missing", default="The configuration file ${path} does not exist.",
                mapping={"path": path}))
        return False
    return True


def duration(seconds):
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """A text progress bar on standard error: ``label [#####-----] 120/300 40% 55.1/s ETA 3s``.

    On a terminal the bar redraws in place (at most five times a second); otherwise (a log,
    a pipe) it prints a line at every tenth of the way, so a log stays readable.
    """

    width = 30

    def __init__(self, total, label="", stream=None, clock=time.monotonic):
        self.total = max(int(total or 0), 0)
        self.label = label
        self.stream = stream or sys.stderr
        self.clock = clock
        self.done = 0
        self.started = clock()
        self._drawn = 0.0
        self._tenth = -1
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._closed = False

    def line(self, now=None):
        elapsed = max((self.clock() if now is None else now) - self.started, 1e-9)
        rate = self.done / elapsed
        if self.total:
            frac = min(self.done / self.total, 1.0)
            filled = int(self.width * frac)
            bar = "#" * filled + "-" * (self.width - filled)
            left = (self.total - self.done) / rate if rate > 0 else None
            eta = duration(left) if left is not None else "?"
            text = f"[{bar}] {self.done}/{self.total} {frac * 100:3.0f}% {rate:.1f}/s ETA {eta}"
        else:
            text = f"{self.done} {rate:.1f}/s"
        return f"{self.label} {text}".strip()

    def update(self, n=1):
        self.done += n
        now = self.clock()
        if self.tty:
            if now - self._drawn >= 0.2 or self.done >= self.total:
                self._drawn = now
                self.stream.write("\r" + self.line(now) + "\x1b[K")
                self.stream.flush()
        else:
            tenth = int(10 * self.done / self.total) if self.total else self.done // 100
            if tenth != self._tenth:
                self._tenth = tenth
                self.stream.write(self.line(now) + "\n")
                self.stream.flush()

    def close(self):
        if self._closed:
            return
        self._closed = True
        if self.tty:
            self.stream.write("\r" + self.line() + "\x1b[K\n")
        elif self.total and self.done < self.total or not self.total:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
