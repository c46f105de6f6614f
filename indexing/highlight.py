"""Highlighted snippets: the searched words marked with ``<mark>`` in escaped text.

Occurrences are found with a plain string search and then confirmed by cutting a small
window around each one with the index's own analyzer, so a mark always falls on a word
the index matched (研究生命 does not mark 研究生), and long documents cost no more than
their few windows.
"""
from markupsafe import Markup, escape

from .analysis import subwords, tokens

ELLIPSIS = "…"
MARGIN = 6


def _occurrences(low, terms, limit=200):
    found = []
    for term in terms:
        start = 0
        n = 0
        while n < limit:
            i = low.find(term, start)
            if i < 0:
                break
            found.append((i, i + len(term)))
            start = i + 1
            n += 1
    found.sort()
    return found


def _confirmed(text, a, b, terms):
    """Spans of ``terms`` that are words (or dictionary sub-words) of the text around [a, b)."""
    lo, hi = max(0, a - MARGIN), min(len(text), b + MARGIN)
    spans = []
    for word, s, e in tokens(text[lo:hi]):
        s += lo
        e += lo
        if e <= a or s >= b:
            continue
        if word in terms:
            spans.append((s, e))
        elif len(word) > 2:
            for sub in subwords(word):
                if sub in terms:
                    k = word.find(sub)
                    spans.append((s + k, s + k + len(sub)))
    return spans


def matches(text, terms, enough=60):
    """Confirmed spans of ``terms`` in ``text``, in order (at most about ``enough``)."""
    low = text.lower()
    spans = []
    for s, e in _occurrences(low, terms, limit=enough):
        spans.extend(_confirmed(text, s, e, terms))
        if len(spans) >= enough:
            break
    return _merge(spans)


def _merge(spans):
    out = []
    for s, e in sorted(spans):
        if out and s < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _render(text, a, b, spans):
    parts = [ELLIPSIS] if a > 0 else []
    at = a
    for s, e in spans:
        if e <= a or s >= b:
            continue
        s, e = max(s, a), min(e, b)
        parts.append(str(escape(text[at:s])))
        parts.append(f"<mark>{escape(text[s:e])}</mark>")
        at = e
    parts.append(str(escape(text[at:b])))
    if b < len(text):
        parts.append(ELLIPSIS)
    return Markup("".join(parts))


def fragments(text, terms, count=3, surround=36):
    """Up to ``count`` snippets of ``text`` around the words, as safe HTML strings.

    Occurrences are grouped into windows; in the windows with the most different words each
    occurrence is confirmed by cutting a few characters around it with the analyzer (a
    window without a confirmed word gives way to the next)."""
    if not text:
        return []
    terms = {t.lower() for t in terms if t}
    if not terms:
        return []
    low = text.lower()
    occurrences = _occurrences(low, terms, limit=100)
    if not occurrences:
        return []
    width = 2 * surround
    groups = []
    for s, e in occurrences:
        if groups and e - groups[-1][0] <= width:
            groups[-1][1] = max(groups[-1][1], e)
            groups[-1][2].append((s, e))
        else:
            groups.append([s, e, [(s, e)]])
    ranked = sorted(groups, key=lambda g: (-len({low[s:e] for s, e in g[2]}), g[0]))
    chosen = []
    for s, e, found in ranked[:count * 2]:
        spans = []
        for x, y in found[:8]:
            spans.extend(_confirmed(text, x, y, terms))
        if spans:
            pad = max(8, (width - (e - s)) // 2)
            chosen.append((max(0, s - pad), min(len(text), e + pad), _merge(spans)))
            if len(chosen) == count:
                break
    return [_render(text, a, b, spans) for a, b, spans in sorted(chosen)]


def mark_all(text, terms, limit=200_000):
    """The whole text (up to ``limit`` characters) with every matched word marked."""
    text = (text or "")[:limit]
    terms = {t.lower() for t in terms if t}
    if not terms:
        return Markup(escape(text)), 0
    spans = matches(text, terms, enough=2000)
    return _render(text, 0, len(text), spans), len(spans)


def plain(text, length=120):
    text = " ".join((text or "").split())
    return Markup(escape(text[:length] + (ELLIPSIS if len(text) > length else "")))
