"""Background work yields to requests.

The search indexer and the text-extraction worker run in threads of the web process. While
requests are being served they would take turns with them for the interpreter (and for the
second core, with the extraction child), so a clerk registering one petition after another
would wait for the indexing of the previous ones. A tween counts the requests in flight
(``Activity.begin``/``end``); before each batch the background threads wait until no request
has been served for ``quiet`` seconds, or at the latest ``longest`` seconds, so the index
lags a burst of registrations by a couple of seconds at most. Whoever needs the work done
now (a search reading the index, a script waiting for the queue, a test) hurries it
(``with activity.hurried():``) and it runs at once.

Settings: ``casefiles.background_quiet_seconds`` (default 0.2) and
``casefiles.background_longest_wait_seconds`` (default 2; 0 turns the waiting off).
"""
import contextlib
import threading
import time

QUIET_SECONDS = 0.2
LONGEST_WAIT_SECONDS = 2.0


def _seconds(settings, name, default):
    try:
        value = float(settings.get(name, default))
    except (TypeError, ValueError):
        return default
    return max(0.0, value)


class Activity:
    def __init__(self, settings=None):
        settings = settings or {}
        self.quiet = _seconds(settings, "casefiles.background_quiet_seconds", QUIET_SECONDS)
        self.longest = _seconds(settings, "casefiles.background_longest_wait_seconds", LONGEST_WAIT_SECONDS)
        self._cond = threading.Condition()
        self._active = 0
        self._last = 0.0        # when the last request ended (time.monotonic)
        self._hurry = 0

    # -- requests --
    def begin(self):
        with self._cond:
            self._active += 1

    def end(self):
        # No notify: a waiting thread wakes at its own timeout (at most ``quiet`` seconds) and
        # sees when the last request ended. Waking every waiting thread at the end of every
        # request would hand them the interpreter in the middle of a burst, for nothing.
        with self._cond:
            self._active -= 1
            self._last = time.monotonic()

    @contextlib.contextmanager
    def working(self):
        """Work in flight outside a request (a script's batch of commits): the background
        threads wait for it to pause, as for requests."""
        self.begin()
        try:
            yield
        finally:
            self.end()

    # -- background threads --
    @contextlib.contextmanager
    def hurried(self):
        """While inside, background work does not wait for a pause in the requests."""
        with self._cond:
            self._hurry += 1
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._hurry -= 1

    def wait_quiet(self, stop=None):
        """Wait until no request has been served for ``quiet`` seconds (at most ``longest``
        seconds, less if hurried or ``stop()`` becomes true). Returns the seconds waited."""
        started = time.monotonic()
        deadline = started + self.longest
        with self._cond:
            while not self._hurry and not (stop is not None and stop()):
                now = time.monotonic()
                if now >= deadline:
                    break
                if not self._active:
                    left = self._last + self.quiet - now
                    if left <= 0:
                        break
                else:
                    left = self.quiet
                self._cond.wait(min(left, deadline - now, 0.5))
        return time.monotonic() - started


def tween_factory(handler, registry):
    """Counts the requests in flight for the background threads of ``indexing``."""
    def activity_tween(request):
        indexer = getattr(registry, "search_indexer", None)
        activity = getattr(indexer, "activity", None)
        if activity is None:
            return handler(request)
        activity.begin()
        try:
            return handler(request)
        finally:
            activity.end()
    return activity_tween
