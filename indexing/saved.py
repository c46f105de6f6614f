"""Saved searches, per user, in ``site.saved_searches`` (username -> tuple of dicts, replaced whole).

A saved search keeps the query text and the filters and sort of the search page; running
it again always applies the user's current permissions.

``created`` is Asia/Shanghai time with its offset (``2026-12-05T22:56:23+08:00``). Searches
saved before that carry the server's local time without an offset (``datetime.now()``);
they are read as such and shown in Asia/Shanghai too.
"""
import datetime
import uuid

from casefiles.errors import NotFound, ValidationError
from casefiles.i18n import _
from casefiles.localtime import SHANGHAI

MAX_SAVED = 50
MAX_NAME = 60
PARAMS = ("q", "sort", "status", "channel", "district", "category", "unit", "kind", "year", "type", "case",
          "petition_type", "from", "to")


def _store(site):
    store = getattr(site, "saved_searches", None)
    if store is None:
        from BTrees.OOBTree import OOBTree
        store = site.saved_searches = OOBTree()
    return store


def created_at(moment=None):
    """``created`` of a search saved at ``moment`` (naive: Asia/Shanghai, as the system
    records time; None: now)."""
    if moment is None:
        moment = datetime.datetime.now(SHANGHAI)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(SHANGHAI).replace(microsecond=0).isoformat()


def _shown_created(value):
    """A stored ``created`` in Asia/Shanghai with the offset; one without an offset was the
    server's local time."""
    if not isinstance(value, str) or not value:
        return value
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.astimezone()          # the server's local time zone, as it was saved
    return created_at(moment)


def _shown(entry):
    out = dict(entry)
    if "created" in out:
        out["created"] = _shown_created(out["created"])
    return out


def list_saved(site, username):
    store = getattr(site, "saved_searches", None)
    return [_shown(s) for s in (store.get(username, ()) if store is not None else ())]


def clean_params(params):
    out = {}
    for name in PARAMS:
        value = params.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            out[name] = value.strip()[:500]
    return out


def save(site, username, name, params, now=None):
    name = (name or "").strip() if isinstance(name, str) else ""
    params = clean_params(params)
    fields = {}
    if not name:
        fields["name"] = _("saved_name_required", default="Give the saved search a name.")
    elif len(name) > MAX_NAME:
        fields["name"] = _("saved_name_long", default="A name is at most ${n} characters.", mapping={"n": MAX_NAME})
    if not any(k != "sort" for k in params):
        fields["q"] = _("saved_empty", default="There is nothing to save: enter search words or choose filters.")
    store = _store(site)
    current = tuple(store.get(username, ()))
    if len(current) >= MAX_SAVED:
        fields["name"] = _("saved_full", default="You can keep at most ${n} saved searches; delete one first.",
                           mapping={"n": MAX_SAVED})
    if fields:
        raise ValidationError(_("saved_invalid", default="The search cannot be saved."), fields)
    entry = {"id": uuid.uuid4().hex[:12], "name": name, "params": params,
             "created": created_at(now)}
    store[username] = tuple(s for s in current if s.get("name") != name) + (entry,)
    return dict(entry)


def delete(site, username, search_id):
    store = _store(site)
    current = tuple(store.get(username, ()))
    kept = tuple(s for s in current if s.get("id") != search_id)
    if len(kept) == len(current):
        raise NotFound(_("saved_missing", default="There is no such saved search."), {})
    if kept:
        store[username] = kept
    else:
        del store[username]
