"""The search box's query language, parsed into Whoosh queries.

    拆迁补偿                  words (all must occur; jieba cuts them as the index does)
    "物业费"  “物业费”         a phrase
    district:浉河区 unit:平桥区人民政府 kind:reply status:已答复 channel:来信 number:XY-2025-000001
    category:城乡建设 year:2025 type:document id:411502… phone:138…
    2025-03..2025-06  2025..  ..2025-06-30   a date range (received for cases, filed for documents)
    -物业  NOT 物业  -status:closed          exclusions
    物业 OR 噪音                              either
    XY-2025-000001  411502197506010019        a bare case number or ID number is exact
    13912345678  139-1234-5678  0376-6221234  a phone number: the petitioners' phones and the text

Petitioners' ID and phone numbers are personal data (``casefiles.privacy``): ``parse(…,
numbers=False)`` is the search of a reader who sees them masked. A part of the box that
searches the ID or phone fields, or words that the privacy policy masks in text (ID and
mobile numbers), then matches nothing (``Parsed.withheld``), so that such a reader can
neither find a case by a number nor learn how many cases hold it.

Field names also have Chinese aliases (属地: 单位: 状态: 渠道: 编号: 分类: 年份: 日期: …), and
values may be codes or the Chinese titles (status:已答复, kind:信访处理意见书, channel:来信).
Bad input raises ``QueryError`` with a Chinese message; nothing is ever guessed silently.
"""
import calendar
import datetime
import re

from whoosh import query as Q

from casefiles.cases import CHANNELS, PETITION_TYPES, STATUSES
from casefiles.documents import KINDS
from casefiles.i18n import _
from casefiles.units import CITY_LEVEL, DISTRICTS

from . import schema as S
from .analysis import normalize, split_word, words

MAX_QUERY = 500
MAX_CLAUSES = 30

FIELDS = {
    "district": S.DISTRICT, "属地": S.DISTRICT, "区县": S.DISTRICT, "地区": S.DISTRICT,
    "unit": S.UNIT, "单位": S.UNIT, "责任单位": S.UNIT,
    "kind": S.KIND, "文书": S.KIND, "材料": S.KIND,
    "status": S.STATUS, "状态": S.STATUS,
    "channel": S.CHANNEL, "渠道": S.CHANNEL,
    "number": S.NUMBER, "编号": S.NUMBER, "案号": S.NUMBER,
    "category": S.CATEGORY, "分类": S.CATEGORY, "类别": S.CATEGORY,
    "year": S.YEAR, "年份": S.YEAR,
    "type": S.TYPE, "对象": S.TYPE,
    "date": S.DATE, "日期": S.DATE,
    "id": S.IDNUMBER, "idnumber": S.IDNUMBER, "身份证": S.IDNUMBER, "身份证号": S.IDNUMBER,
    "phone": S.PHONE, "电话": S.PHONE,
    "petition_type": S.PTYPE, "性质": S.PTYPE,
}
TYPES = {"case": "case", "document": "document", "案件": "case", "信访件": "case", "文书": "document",
         "材料": "document", "文档": "document"}

CASE_NUMBER = re.compile(r"^[A-Za-z]{1,8}-\d{4}-\d{6}$")
ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")
PHONE = re.compile(r"^(?:1\d{2}-?\d{4}-?\d{4}|0\d{2,3}-?\d{7,8})$")
_DATE = r"\d{4}(?:[-/.年]\d{1,2}(?:[-/.月]\d{1,2}日?)?月?)?"
RANGE = re.compile(rf"^(?P<a>{_DATE})?(?:\.\.|～|~|至)(?P<b>{_DATE})?$")
_SCAN = re.compile(r"""
    \s*(?:
      (?P<or>(?:OR|\||或者)(?=\s|$))
    | (?P<not>NOT)\s+
    | (?P<neg>[-－])(?=\S)
    | (?P<phrase>"[^"]*"?|“[^”]*”?|「[^」]*」?)
    | (?P<word>[^\s"“”「」]+)
    )""", re.X)


class QueryError(Exception):
    def __init__(self, message, field="q"):
        super().__init__(message)
        self.message = message
        self.field = field


class Vocabulary:
    """What values mean: unit names and codes (from the site), and the domain's titles."""

    def __init__(self, units=None):
        self.units = dict(units or {})      # code -> name

    @classmethod
    def from_site(cls, site):
        return cls({u.code: u.name for u in site.units.values()})

    def resolve(self, field, value):
        """The indexed value for ``field:value``; raises QueryError when it means nothing."""
        value = value.strip()
        if not value:
            raise QueryError(_("search_value_empty", default="${field}: needs a value.", mapping={"field": field}))
        if field == S.STATUS:
            return _lookup(value, STATUSES, _("search_status_bad", default="Unknown status ${value}."))
        if field == S.CHANNEL:
            return _lookup(value, CHANNELS, _("search_channel_bad", default="Unknown channel ${value}."))
        if field == S.KIND:
            if value in ("case", "案件"):
                return S.CASE_KIND
            return _lookup(value, KINDS, _("search_kind_bad", default="Unknown kind of document ${value}."))
        if field == S.PTYPE:
            return _lookup(value, PETITION_TYPES, _("search_ptype_bad", default="Unknown petition type ${value}."))
        if field == S.DISTRICT:
            for district in DISTRICTS + (CITY_LEVEL,):
                if value == district or (len(value) >= 2 and district.startswith(value)):
                    return district
            raise QueryError(_("search_district_bad", default="${value} is not a district or county of the city.",
                               mapping={"value": value}))
        if field == S.UNIT:
            if value in self.units:
                return value
            exact = [code for code, name in self.units.items() if name == value]
            partial = [code for code, name in self.units.items() if value in name]
            found = exact or partial
            if len(found) == 1:
                return found[0]
            if not found:
                raise QueryError(_("search_unit_bad", default="No responsible unit is called ${value}.",
                                   mapping={"value": value}))
            raise QueryError(_("search_unit_ambiguous", default="${value} names several units: ${names}.",
                               mapping={"value": value,
                                        "names": "、".join(sorted(self.units[c] for c in found)[:6])}))
        if field == S.TYPE:
            if value in TYPES:
                return TYPES[value]
            raise QueryError(_("search_type_bad", default="type: is case or document.", mapping={}))
        if field == S.YEAR:
            if not re.match(r"^\d{4}$", value):
                raise QueryError(_("search_year_bad", default="A year has four digits.", mapping={}))
            return value
        if field == S.NUMBER:
            return value.upper()
        if field == S.IDNUMBER:
            return value.upper()
        if field == S.PHONE:
            return value.replace("-", "").replace(" ", "")
        return value


def _lookup(value, table, message):
    if value in table:
        return value
    for code, title in table.items():
        if value == title:
            return code
    partial = [code for code, title in table.items() if len(value) >= 2 and value in title]
    if len(partial) == 1:
        return partial[0]
    raise QueryError(_(str(message), default=message.default, mapping={"value": value}))


def parse_date(text, end=False):
    """A date or the first (``end``: the last) moment of a year or month."""
    parts = [int(p) for p in re.findall(r"\d+", text)]
    try:
        if len(parts) == 1:
            year = parts[0]
            return datetime.datetime(year, 12, 31, 23, 59, 59) if end else datetime.datetime(year, 1, 1)
        if len(parts) == 2:
            year, month = parts
            if end:
                return datetime.datetime(year, month, calendar.monthrange(year, month)[1], 23, 59, 59)
            return datetime.datetime(year, month, 1)
        year, month, day = parts[:3]
        return datetime.datetime(year, month, day, 23, 59, 59) if end else datetime.datetime(year, month, day)
    except ValueError:
        raise QueryError(_("search_date_bad", default="${value} is not a date.", mapping={"value": text}))


def date_range(start, end):
    a = parse_date(start) if start else None
    b = parse_date(end, end=True) if end else None
    if a is None and b is None:
        raise QueryError(_("search_range_empty", default="A date range needs a start or an end.", mapping={}))
    if a and b and a > b:
        raise QueryError(_("search_range_order", default="The range starts after it ends: ${a}..${b}.",
                           mapping={"a": start, "b": end}))
    return Q.DateRange(S.DATE, a, b)


def word_query(token):
    """A word of the box (no spaces) as a query over the text; None if it has no words."""
    tokens = words(token)
    if not tokens:
        return None, []
    runs = []
    for w in tokens:
        # single characters bind to their neighbours as a phrase (names, 某某区 …)
        if runs and (len(w) == 1 or len(runs[-1][-1]) == 1):
            runs[-1].append(w)
        else:
            runs.append([w])
    parts = [Q.Phrase(S.TEXT, run) if len(run) > 1 else term_query(run[0]) for run in runs]
    return (Q.And(parts) if len(parts) > 1 else parts[0]), tokens


def term_query(word):
    """One word; a long dictionary word also matches its finer cut as a phrase (拆迁补偿 ~ 拆迁 补偿)
    when that cut is into words (single characters would make a slow and loose phrase)."""
    pieces = split_word(word)
    if pieces and all(len(p) > 1 for p in pieces):
        return Q.Or([Q.Term(S.TEXT, word), Q.Phrase(S.TEXT, pieces)])
    return Q.Term(S.TEXT, word)


def phrase_query(text):
    tokens = words(text)
    if not tokens:
        return None, []
    if len(tokens) == 1:
        return term_query(tokens[0]), tokens
    return Q.Phrase(S.TEXT, tokens), tokens


class Parsed:
    def __init__(self):
        self.must = []         # scored text clauses and exact filters
        self.must_not = []
        self.terms = []        # words to highlight
        self.has_text = False
        self.exact = False     # the query names a case number / ID number
        self.withheld = False  # parts searching personal numbers were dropped (numbers=False)

    @property
    def query(self):
        positive = [q for q in self.must if q is not None]
        if not positive:
            base = Q.Every()
        elif len(positive) == 1:
            base = positive[0]
        else:
            base = Q.And(positive)
        if self.must_not:
            return Q.AndNot(base, Q.Or(self.must_not) if len(self.must_not) > 1 else self.must_not[0])
        return base


def _personal(tokens):
    """Whether words hold what ``casefiles.privacy`` masks in text (an ID or mobile number)."""
    from casefiles.privacy import mask_text
    return any(mask_text(t) != t for t in tokens)


def _text_clause(q, toks, numbers):
    if not numbers and _personal(toks):
        return Q.NullQuery, [], True
    return q, toks, True


def _phone_clause(token, numbers):
    """A phone number: the petitioners' phones (exact, without dashes) or the text, as typed
    or without its dashes (``0376-6221234``, ``03766221234``)."""
    compact = token.replace("-", "")
    alternatives, toks = [Q.Term(S.PHONE, compact) if numbers else Q.NullQuery], []
    for form in dict.fromkeys((compact, token)):
        q, words_ = word_query(form)
        if q is not None and (numbers or not _personal(words_)):
            alternatives.append(q)
            toks.extend(words_)
    return (Q.Or(alternatives) if len(alternatives) > 1 else alternatives[0]), toks, True


def _withheld(q):
    """Whether a part of the query was withheld (``Q.NullQuery`` in it)."""
    return q is Q.NullQuery or any(_withheld(c) for c in q.children())


def _clause(token, vocab, kind, numbers=True):
    """(query, highlight words, is text) for one token of the box; ``Q.NullQuery`` stands
    for a part withheld from a reader who sees numbers masked (the whole, or one side of an OR)."""
    if kind == "phrase":
        inner = token.strip('"“”「」').strip()
        compact = re.sub(r"\s+", "", inner)
        if ID_NUMBER.match(compact) or PHONE.match(compact) or CASE_NUMBER.match(compact):
            return _clause(compact, vocab, "word", numbers)     # "139 1234 5678" is the number
        return _text_clause(*phrase_query(inner), numbers)
    m = re.match(r"^([^\s:：]+)[:：](.*)$", token)
    if m and m.group(1).lower() in FIELDS:
        field = FIELDS[m.group(1).lower()]
        value = m.group(2).strip('"“”「」')
        if field == S.DATE:
            r = RANGE.match(value)
            if r:
                return date_range(r.group("a"), r.group("b")), [], False
            return date_range(value, value), [], False
        if field == S.YEAR and RANGE.match(value):
            r = RANGE.match(value)
            return date_range(r.group("a"), r.group("b")), [], False
        value = vocab.resolve(field, value)
        if field in (S.PHONE, S.IDNUMBER) and not numbers:
            return Q.NullQuery, [], False
        return Q.Term(field, value), [], False
    r = RANGE.match(token)
    if r and (r.group("a") or r.group("b")):
        return date_range(r.group("a"), r.group("b")), [], False
    if CASE_NUMBER.match(token):
        return Q.Term(S.NUMBER, token.upper()), [], False
    if ID_NUMBER.match(token):
        return (Q.Term(S.IDNUMBER, token.upper()) if numbers else Q.NullQuery), [], False
    if PHONE.match(token):
        return _phone_clause(token, numbers)
    return _text_clause(*word_query(token), numbers)


def parse(text, vocab=None, numbers=True):
    """Parse the box's text; returns a ``Parsed`` (query, words to highlight). ``numbers``:
    the reader sees petitioners' ID and phone numbers in full and may search by them."""
    vocab = vocab or Vocabulary()
    text = normalize(text or "").strip()
    if len(text) > MAX_QUERY:
        raise QueryError(_("search_too_long", default="The search is at most ${n} characters.",
                           mapping={"n": MAX_QUERY}))
    parsed = Parsed()
    pending_or = False
    negate = False
    clauses = 0
    pos = 0
    while pos < len(text):
        m = _SCAN.match(text, pos)
        if m is None or m.end() == pos:
            break
        pos = m.end()
        if m.group("or"):
            pending_or = True
            continue
        if m.group("not") or m.group("neg"):
            negate = True
            continue
        token = m.group("phrase") or m.group("word")
        kind = "phrase" if m.group("phrase") else "word"
        if not token:
            continue
        clauses += 1
        if clauses > MAX_CLAUSES:
            raise QueryError(_("search_too_many", default="The search has too many parts (at most ${n}).",
                               mapping={"n": MAX_CLAUSES}))
        q, toks, is_text = _clause(token, vocab, kind, numbers)
        if q is None:
            negate = pending_or = False
            continue
        if _withheld(q):
            parsed.withheld = True
        if negate:
            parsed.must_not.append(q)
        elif pending_or and parsed.must:
            last = parsed.must.pop()
            parsed.must.append(Q.Or([last, q]))
            parsed.terms.extend(toks)
            parsed.has_text = parsed.has_text or is_text
        else:
            parsed.must.append(q)
            parsed.terms.extend(toks)
            parsed.has_text = parsed.has_text or is_text
        if not is_text and not negate:
            parsed.exact = parsed.exact or isinstance(q, Q.Term) and q.fieldname in (S.NUMBER, S.IDNUMBER)
        negate = pending_or = False
    seen = set()
    parsed.terms = [t for t in parsed.terms if not (t in seen or seen.add(t))]
    return parsed


FILTER_PARAMS = {
    "status": S.STATUS, "channel": S.CHANNEL, "district": S.DISTRICT, "category": S.CATEGORY,
    "unit": S.UNIT, "kind": S.KIND, "year": S.YEAR, "type": S.TYPE, "case": S.NUMBER,
    "petition_type": S.PTYPE,
}


def filters_from_params(params, vocab):
    """Exact filters from request parameters (facet links, the API's status=&channel=…)."""
    out = []
    for name, field in FILTER_PARAMS.items():
        value = (params.get(name) or "").strip()
        if value:
            try:
                out.append(Q.Term(field, vocab.resolve(field, value)))
            except QueryError as e:
                e.field = name
                raise
    start, end = (params.get("from") or "").strip(), (params.get("to") or "").strip()
    if start or end:
        try:
            out.append(date_range(start, end))
        except QueryError as e:
            e.field = "from" if start else "to"
            raise
    return out
