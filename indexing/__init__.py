"""Full-text search (Whoosh, with jieba for Chinese) over every case and document.

ZODB is the truth; the index under ``<var>/index`` is a rebuildable cache written only
after ZODB commits (``sync``). This package reads the domain; the only things it writes
back are the text it extracts from files (``ocr``) and its own queues and saved searches.

    analysis   jieba analyzer and the user dictionary (``data/userdict.txt``)
    schema     field names and the Whoosh schema
    items      the fields of a case and of a document, read from the database
    sync       per-transaction buffer, durable queue, the indexer thread, recovery at start
    store      index folders, writers, searchers, rebuild-and-swap
    reindex    rebuild, check and repair (``casefiles-reindex``)
    query      the query language;  search  filtered search with facets;  highlight  snippets
    extract    PDF text and OCR in a bounded child process;  ocr  the extraction worker
    similar    similar cases and category suggestions;  saved  saved searches
"""
import os

from . import sync
from .store import IndexStore


def index_dir(settings):
    return os.path.join(settings["casefiles.var"], "index")


def get_indexer(registry):
    return getattr(registry, "search_indexer", None)


def _request_indexer(request):
    return get_indexer(request.registry)


def includeme(config):
    from . import analysis
    from .ocr import OCRWorker
    settings = config.get_settings()
    # jieba's dictionary is loaded on first use (the first search or index write), not here:
    # opening the app stays fast. Its prepared form is cached under <var>/cache.
    analysis.configure(settings.get("casefiles.jieba_cache") or os.path.join(settings["casefiles.var"], "cache"))
    path = settings.setdefault("casefiles.index_dir", index_dir(settings))
    os.makedirs(path, exist_ok=True)
    db = config.registry._zodb_databases[""]
    indexer = sync.Indexer(db, IndexStore(path), settings)
    indexer.ocr = OCRWorker(indexer, settings)
    sync.register(db, indexer)
    sync.drain_at_exit(indexer)
    config.registry.search_indexer = indexer
    # counts the requests in flight: the indexer and the extraction worker wait for a pause
    config.add_tween("indexing.activity.tween_factory")
    config.add_request_method(_request_indexer, "search_indexer", reify=True)
    indexer.recover()
