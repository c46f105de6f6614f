"""Closing dossiers (ReportLab, pypdf) and archival packages (lxml, BagIt).

Reads closed cases and writes PDF/A dossiers and XML packages into the archive store
under ``<var>/archive``; rendering never changes the database.

    contents  the documents in archival order and what is printed about them
    dossier   the closing dossier: cover, 卷内目录, documents, stamps, bookmarks, 备考表
    pdfa      the PDF/A-3 parts: output intent, XMP, associated files, file identifiers
    package   the DA/T 48-style XML (validated against data/package.xsd) and the BagIt bag
    store     the archive store: write a case's bag when it is archived, read it, verify it
    notices   the workflow's documents in the official-document layout
"""
import os


def archive_dir(settings):
    return os.path.join(settings["casefiles.var"], "archive")


def includeme(config):
    settings = config.get_settings()
    path = settings.setdefault("casefiles.archive_dir", archive_dir(settings))
    os.makedirs(path, exist_ok=True)
    databases = getattr(config.registry, "_zodb_databases", None) or {}
    if "" in databases:
        from . import store
        store.register(databases[""], settings)
        store.Store(path).clean_staging()
