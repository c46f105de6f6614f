"""The Whoosh index on disk: which folder is current, writers, searchers, rebuild-and-swap.

``<index_dir>/CURRENT`` names the live index folder (``ix-…``). A rebuild writes a new
folder and then replaces CURRENT atomically, so searches never see a half-built index.
While a rebuild runs it holds the write lock of the live index: the app's updates wait
(they stay in the durable queue) and go into the new index after the swap.
"""
import datetime
import logging
import os
import secrets
import shutil
import threading
import uuid

from whoosh import index as whoosh_index
from whoosh.index import LockError

from .schema import SCHEMA_VERSION, make_schema

log = logging.getLogger(__name__)


def _random_name(size=28):
    """Whoosh's names for segments and temporary files, from the operating system's random
    source. Whoosh draws them from the ``random`` module, whose state anything in the process
    may seed (test tools reseed it for every example): two segments of one index could then
    get the same name, and the index's background thread would disturb that state."""
    from whoosh.util import IDCHARS
    return "".join(IDCHARS[b % len(IDCHARS)] for b in secrets.token_bytes(size))


def _own_names():
    """Whoosh's modules import ``random_name`` from ``whoosh.util``: replaced there, modules
    imported later take ours; those imported already get it too."""
    import sys
    import whoosh.util
    whoosh.util.random_name = _random_name
    for name, module in list(sys.modules.items()):
        if name.startswith("whoosh.") and getattr(module, "random_name", None) is not None:
            module.random_name = _random_name


_own_names()
POINTER = "CURRENT"
VERSION_FILE = "casefiles-schema"
WRITE_TIMEOUT = 5.0


def _stamp():
    return datetime.datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


def create(path):
    """A new empty index in ``path``, marked with the schema version."""
    ix = whoosh_index.create_in(path, make_schema())
    with open(os.path.join(path, VERSION_FILE), "w") as f:
        f.write(f"{SCHEMA_VERSION}\n")
    return ix


def _version(path):
    try:
        with open(os.path.join(path, VERSION_FILE)) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


class IndexStore:
    def __init__(self, root):
        self.root = os.path.abspath(root)
        os.makedirs(self.root, exist_ok=True)
        self._local = threading.local()
        self._lock = threading.Lock()
        self.created = False
        self._ensure()

    # --- which folder --------------------------------------------------------------
    def _read_pointer(self):
        try:
            with open(os.path.join(self.root, POINTER), encoding="utf-8") as f:
                name = f.read().strip()
        except FileNotFoundError:
            return None
        return name if name and os.path.isdir(os.path.join(self.root, name)) else None

    def _write_pointer(self, name):
        tmp = os.path.join(self.root, f".{POINTER}.{uuid.uuid4().hex}")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(self.root, POINTER))

    def _ensure(self):
        """The live folder; a new empty index if there is none or its schema is older."""
        with self._lock:
            name = self._read_pointer()
            if name is not None and whoosh_index.exists_in(os.path.join(self.root, name)) \
                    and _version(os.path.join(self.root, name)) == SCHEMA_VERSION:
                return name
            name = "ix-" + _stamp()
            path = os.path.join(self.root, name)
            os.makedirs(path)
            create(path)
            self._write_pointer(name)
            self.created = True
            return name

    @property
    def path(self):
        name = self._read_pointer() or self._ensure()
        return os.path.join(self.root, name)

    def open(self):
        return whoosh_index.open_dir(self.path)

    # --- writing ---------------------------------------------------------------------
    def writer(self, timeout=WRITE_TIMEOUT, **kwargs):
        """A writer on the live index; raises LockError if another writer holds it."""
        for _attempt in range(3):
            path = self.path
            writer = whoosh_index.open_dir(path).writer(timeout=timeout, **kwargs)
            if self.path == path:
                return writer
            writer.cancel()   # swapped while we waited: write to the new one
        raise LockError("the index was swapped repeatedly")

    # --- reading ---------------------------------------------------------------------
    def searcher(self):
        """This thread's searcher on the live index, refreshed when the index changed."""
        local = self._local
        path = self.path
        searcher = getattr(local, "searcher", None)
        if searcher is None or local.path != path:
            if searcher is not None:
                searcher.close()
            searcher = whoosh_index.open_dir(path).searcher()
            local.searcher, local.path = searcher, path
        elif not searcher.up_to_date():
            fresh = searcher.refresh()
            if fresh is not searcher:
                local.searcher = searcher = fresh
        return searcher

    def close(self):
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None:
            searcher.close()
            self._local.searcher = None

    # --- rebuild -----------------------------------------------------------------------
    def new_build(self):
        """(name, index) of a new empty index folder beside the live one."""
        name = "build-" + _stamp()
        path = os.path.join(self.root, name)
        os.makedirs(path)
        return name, create(path)

    def swap(self, build_name):
        """Make the built folder the live index; returns its name. The folders it replaced
        stay until ``cleanup`` (a writer may still hold one open)."""
        live = "ix-" + build_name[len("build-"):]
        os.rename(os.path.join(self.root, build_name), os.path.join(self.root, live))
        self._write_pointer(live)
        return live

    def cleanup(self):
        """Remove index folders other than the live one (and rebuilds that are not running)."""
        live = self._read_pointer()
        for other in os.listdir(self.root):
            path = os.path.join(self.root, other)
            if other == live or not os.path.isdir(path) or not other.startswith("ix-"):
                continue
            shutil.rmtree(path, ignore_errors=True)

    def discard(self, build_name):
        shutil.rmtree(os.path.join(self.root, build_name), ignore_errors=True)
