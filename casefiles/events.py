"""Domain events: the domain announces what changed; listeners outside it (the search
index, the audit trail) subscribe. Subscribers must only record intent; they run inside
the transaction that made the change and must not do slow work or raise.
"""
_subscribers = []


def subscribe(handler):
    """Register ``handler(event)``; returns it, so it can be used as a decorator."""
    if handler not in _subscribers:
        _subscribers.append(handler)
    return handler


def unsubscribe(handler):
    if handler in _subscribers:
        _subscribers.remove(handler)


def notify(event):
    for handler in list(_subscribers):
        handler(event)


class CaseEvent:
    def __init__(self, case):
        self.case = case


class CaseAdded(CaseEvent):
    """A case was registered (or imported)."""


class CaseModified(CaseEvent):
    """A case's metadata, status, deadlines or history changed."""


class AccessChanged(CaseEvent):
    """Who may open the case changed (routing, accused unit, confidentiality)."""


class CaseRemoved(CaseEvent):
    """A case left the database (disposal after its retention period)."""


class DocumentEvent:
    def __init__(self, document):
        self.document = document
        self.case = document.case


class DocumentAdded(DocumentEvent):
    """A document was filed into a case."""


class DocumentModified(DocumentEvent):
    """A document got a new version or new text (e.g. OCR)."""


class PetitionerModified:
    """A petitioner's details (name, ID number, phone, address) changed: every case that
    names the person shows the new details (the search index re-reads those cases)."""

    def __init__(self, petitioner, fields=()):
        self.petitioner = petitioner
        self.fields = tuple(fields)


class UnitModified:
    """A responsible unit's name (or kind, district) changed: the cases routed to it show
    the new name."""

    def __init__(self, unit, fields=()):
        self.unit = unit
        self.fields = tuple(fields)
