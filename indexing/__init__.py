"""Full-text search (Whoosh, with jieba for Chinese) over every case and document.

ZODB is the truth; the index under ``<var>/index`` is a rebuildable cache written only
after ZODB commits. This package reads the domain and never changes it.
"""
import os


def index_dir(settings):
    return os.path.join(settings["casefiles.var"], "index")


def includeme(config):
    settings = config.get_settings()
    path = settings.setdefault("casefiles.index_dir", index_dir(settings))
    os.makedirs(path, exist_ok=True)
