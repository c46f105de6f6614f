"""Files chosen on a registration form that was refused, kept for the form shown again.

A browser cannot put a chosen file back into a file input, so a refused registration (a
mistyped ID number, a missing subject) would otherwise lose the scans: the clerk corrects the
ID number, sends the form again and registers the letter without them. Instead the files that
are acceptable on their own are kept on disk under ``<var>/pending/<token>/`` (the bytes as
sent, and a ``meta.json`` naming the user, the time and the files); the form shown again
lists them ("已附") with a box to remove each, and carries the token in a hidden field. The
next submission files them first, then any newly chosen files; the folder is removed once that
registration is committed. The token is random, recorded in the user's session and checked
against the user. Folders older than a day are removed whenever files are kept or a form
registration succeeds, so the scans of an abandoned form do not stay on disk.
"""
import json
import os
import re
import secrets
import shutil
import time

from casefiles.documents import Upload

SESSION_KEY = "pending_uploads"
MAX_AGE = 24 * 3600
MAX_TOKENS = 20
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _root(request):
    return os.path.join(request.registry.settings["casefiles.var"], "pending")


def _folder(request, token):
    return os.path.join(_root(request), token)


def _meta(request, token):
    """The folder's record, or None when the token is not one of this user's in this session."""
    if not token or not _TOKEN.match(token) or token not in request.session.get(SESSION_KEY, ()):
        return None
    try:
        with open(os.path.join(_folder(request, token), "meta.json"), encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    if meta.get("user") != request.user.username or time.time() - meta.get("created", 0) > MAX_AGE:
        return None
    return meta


def kept_files(request, token):
    """[{"id", "filename", "size", "media_type"}] kept under ``token`` for this user, or []."""
    meta = _meta(request, token)
    return list(meta["files"]) if meta else []


def open_uploads(request, token, entries):
    """``Upload`` objects for ``entries`` (from ``kept_files``), in the order chosen."""
    uploads = []
    folder = _folder(request, token)
    for entry in entries:
        stream = open(os.path.join(folder, entry["id"] + ".bin"), "rb")
        request.add_finished_callback(lambda _r, s=stream: s.close())
        uploads.append(Upload(entry["filename"], stream))
    return uploads


def keep(request, token, kept, uploads):
    """Keep ``kept`` (entries already under ``token``) and the new ``uploads`` for the form
    shown again; returns (token, entries). Removes what was kept before and not now."""
    cleanup(request)
    meta = _meta(request, token)
    if meta is None:
        token = secrets.token_urlsafe(24)
    folder = _folder(request, token)
    os.makedirs(folder, exist_ok=True)
    entries = [dict(e) for e in kept]
    wanted = {e["id"] for e in entries}
    for entry in (meta or {}).get("files", ()):
        if entry["id"] not in wanted:
            _unlink(os.path.join(folder, entry["id"] + ".bin"))
    number = max([int(e["id"]) for e in (meta or {}).get("files", ())] + [0])
    for upload in uploads:
        number += 1
        upload.stream.seek(0)
        with open(os.path.join(folder, f"{number}.bin"), "wb") as out:
            shutil.copyfileobj(upload.stream, out, 1 << 16)
        upload.stream.seek(0)
        entries.append({"id": str(number), "filename": upload.filename, "size": upload.size,
                        "media_type": upload.media_type})
    if not entries:
        drop(request, token)
        return "", []
    with open(os.path.join(folder, "meta.json"), "w", encoding="utf-8") as f:
        json.dump({"user": request.user.username, "created": time.time(), "files": entries}, f, ensure_ascii=False)
    tokens = [t for t in request.session.get(SESSION_KEY, ()) if t != token]
    request.session[SESSION_KEY] = (tokens + [token])[-MAX_TOKENS:]
    return token, entries


def drop(request, token):
    """Remove the files kept under ``token`` (once they are filed, or no longer wanted)."""
    if token and _TOKEN.match(token):
        shutil.rmtree(_folder(request, token), ignore_errors=True)


def valid(request, token):
    """Whether ``token`` names files kept for this user in this session (and not expired)."""
    return _meta(request, token) is not None


def drop_after_commit(request, token):
    """Remove the kept files once the registration that filed them is committed (not before:
    a retried request must find them again). Only this user's own, from this session: a
    token sent by anyone else removes nothing."""
    if not valid(request, token):
        return
    folder = _folder(request, token)
    request.tm.get().addAfterCommitHook(lambda ok: ok and shutil.rmtree(folder, ignore_errors=True))
    tokens = [t for t in request.session.get(SESSION_KEY, ()) if t != token]
    request.session[SESSION_KEY] = tokens


def cleanup(request, max_age=MAX_AGE):
    """Remove the folders of forms abandoned more than ``max_age`` seconds ago."""
    root = _root(request)
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return
    limit = time.time() - max_age
    for name in names:
        path = os.path.join(root, name)
        try:
            meta = os.path.join(path, "meta.json")
            if os.path.getmtime(meta if os.path.exists(meta) else path) < limit:
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
