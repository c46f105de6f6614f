"""Closing dossiers (ReportLab, pypdf) and archival packages (lxml, BagIt).

Reads closed cases and writes PDF/A dossiers and XML packages into the archive store
under ``<var>/archive``; rendering never changes the database.
"""
import os


def archive_dir(settings):
    return os.path.join(settings["casefiles.var"], "archive")


def includeme(config):
    settings = config.get_settings()
    path = settings.setdefault("casefiles.archive_dir", archive_dir(settings))
    os.makedirs(path, exist_ok=True)
