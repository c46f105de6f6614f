"""The index schema: one Whoosh document per case and per filed document.

Field names are constants used everywhere (items, queries, facets, checks). A case item
and its documents' items share the case's metadata and the principals allowed to view it,
so that every hit, snippet, count and facet can be filtered by the searcher's principals.
"""
from whoosh import fields as F

from . import speedups  # noqa: F401  (Whoosh's per-posting length look-up, read once per segment)
from .analysis import JiebaAnalyzer

SCHEMA_VERSION = 2      # a different version in the index folder means: build a new index

# identity
ID_ = "id"                # unique: "c:NUMBER" for a case, "d:NUMBER:DOCID" for a document
TYPE = "type"             # "case" | "document"
NUMBER = "number"         # the case number, exact
DOC = "doc"               # the document id ("" for a case)
# text
TITLE = "title"           # shown in hits (stored; its words are in TEXT twice, a title boost)
TEXT = "text"             # everything searchable as words (not stored)
BODY = "body"             # the text snippets are cut from (stored only)
IDNUMBER = "idnumber"     # petitioners' ID numbers, exact
PHONE = "phone"           # petitioners' phone numbers, exact
# facets and filters (exact, stored, sortable columns)
STATUS = "status"
CHANNEL = "channel"
DISTRICT = "district"
CATEGORY = "category"
UNIT = "unit"
YEAR = "year"
KIND = "kind"             # document kind; "case" for a case item
PTYPE = "petition_type"
DATE = "date"             # the case's date received, a document's date filed
# security
ALLOWED = "allowed"       # principals that may view (casefiles.security.principals_allowed)
DENIED = "denied"         # principals explicitly denied before any allow
# bookkeeping
STAMP = "stamp"           # hash of the item's field values, for --check and updates
OCR = "ocr"               # a document's text extraction state

FACETS = (STATUS, CHANNEL, DISTRICT, CATEGORY, UNIT, YEAR, KIND)
CASE_KIND = "case"
NONE = "-"                # the value of an empty facet field


class StampColumn(F.COLUMN):
    """The stamp: a column only (read in bulk by --check), neither indexed nor stored."""

    def __init__(self):
        from whoosh.columns import VarBytesColumn
        super().__init__(VarBytesColumn())

    def to_column_value(self, value):
        return value.encode("ascii") if isinstance(value, str) else value

    def from_column_value(self, value):
        return value.decode("ascii") if isinstance(value, bytes) else value


def make_schema():
    facet = dict(stored=True, sortable=True)
    return F.Schema(**{
        ID_: F.ID(stored=True, unique=True, sortable=True),
        TYPE: F.ID(stored=True),
        NUMBER: F.ID(stored=True),
        DOC: F.STORED(),
        TITLE: F.STORED(),
        TEXT: F.TEXT(analyzer=JiebaAnalyzer(), phrase=True),
        BODY: F.STORED(),
        IDNUMBER: F.KEYWORD(lowercase=False, scorable=False),
        PHONE: F.KEYWORD(lowercase=False, scorable=False),
        STATUS: F.ID(**facet),
        CHANNEL: F.ID(**facet),
        DISTRICT: F.ID(**facet),
        CATEGORY: F.ID(**facet),
        UNIT: F.ID(**facet),
        YEAR: F.ID(**facet),
        KIND: F.ID(**facet),
        PTYPE: F.ID(stored=True),
        DATE: F.DATETIME(stored=True, sortable=True),
        ALLOWED: F.KEYWORD(lowercase=False, scorable=False),
        DENIED: F.KEYWORD(lowercase=False, scorable=False),
        STAMP: StampColumn(),
        OCR: F.ID(stored=True),
    })


def case_id(number):
    return f"c:{number}"


def document_id(number, doc_id):
    return f"d:{number}:{doc_id}"
