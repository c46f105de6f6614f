"""Similar earlier cases (repeat and joint-case detection) and category suggestions.

A candidate is an earlier case the user may open that shares a petitioner (ID number),
or whose text shares the distinctive words of the new matter (the query text's words,
weighted by how rare they are in the index), possibly in the same district. Each comes
with the reasons. The category suggestion is the weighted vote of the nearest cases.
"""
import math
from collections import Counter

from whoosh import query as Q

from . import schema as S
from .analysis import words
from .search import run

KEY_TERMS = 14
MIN_TEXT_SIMILARITY = 0.2


def key_terms(searcher, text, n=KEY_TERMS):
    """[(weight, word)] of the most distinctive words of ``text`` that occur in the index."""
    counts = Counter(w for w in words(text) if len(w) > 1)
    total = max(searcher.doc_count(), 1)
    scored = []
    for word, tf in counts.items():
        df = searcher.doc_frequency(S.TEXT, word)
        if df == 0:
            continue
        idf = math.log(1 + (total - df + 0.5) / (df + 0.5))
        scored.append(((1 + math.log(tf)) * idf, word))
    scored.sort(reverse=True)
    return scored[:n]


class Candidate:
    def __init__(self, number, fields):
        self.number = number
        self.fields = fields
        self.score = 0.0
        self.similarity = 0.0
        self.reasons = []      # (code, detail)
        self.shared = []

    def add(self, code, detail=""):
        if code not in [c for c, _d in self.reasons]:
            self.reasons.append((code, detail))


def similar_cases(searcher, caches, principals, subject="", content="", id_numbers=(), district="",
                  exclude=(), limit=8):
    """[Candidate] best first: same petitioner, similar text, same district."""
    found = {}
    exclude = set(exclude)

    def candidate(docnum):
        fields = searcher.stored_fields(docnum)
        number = fields.get(S.NUMBER)
        if not number or number in exclude:
            return None
        if number not in found:
            found[number] = Candidate(number, fields)
        return found[number]

    case_only = Q.Term(S.TYPE, "case")
    ids = [i.strip().upper() for i in id_numbers if i and i.strip()]
    if ids:
        q = Q.And([Q.Or([Q.Term(S.IDNUMBER, i) for i in ids]), case_only])
        _total, ranked, _f = run(searcher, q, principals, caches, "newest", 1, 50, facets=())
        for _score, docnum in ranked:
            c = candidate(docnum)
            if c is not None:
                c.add("petitioner")
                c.score += 1.0
    text = "\n".join([subject or "", subject or "", content or ""])
    terms = key_terms(searcher, text)
    if terms:
        weight_sum = sum(w for w, _t in terms)
        q = Q.And([Q.Or([Q.Term(S.TEXT, t, boost=w) for w, t in terms]), case_only])
        _total, ranked, _f = run(searcher, q, principals, caches, "relevance", 1, limit * 4, facets=())
        for _score, docnum in ranked:
            c = candidate(docnum)
            if c is None:
                continue
            haystack = ((c.fields.get(S.TITLE) or "") + "\n" + (c.fields.get(S.BODY) or "")).lower()
            shared = [(w, t) for w, t in terms if t in haystack]
            similarity = sum(w for w, _t in shared) / weight_sum if weight_sum else 0.0
            c.similarity = max(c.similarity, similarity)
            if similarity >= MIN_TEXT_SIMILARITY:
                c.shared = [t for _w, t in shared[:5]]
                c.add("text", "、".join(c.shared))
                c.score += similarity
    out = []
    for c in found.values():
        if not c.reasons:
            continue
        if district and c.fields.get(S.DISTRICT) == district:
            c.add("district", district)
            c.score += 0.1
        out.append(c)
    out.sort(key=lambda c: (-c.score, c.number))
    return out[:limit]


def suggest_categories(candidates, limit=3):
    """[(category, weight, count)] from the text-similar candidates' categories."""
    votes, counts = Counter(), Counter()
    for c in candidates:
        category = c.fields.get(S.CATEGORY)
        if not category or category == S.NONE or c.similarity < MIN_TEXT_SIMILARITY:
            continue
        votes[category] += c.similarity
        counts[category] += 1
    total = sum(votes.values()) or 1.0
    return [(cat, round(v / total, 3), counts[cat]) for cat, v in votes.most_common(limit)]
