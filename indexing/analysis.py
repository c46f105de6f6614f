"""Chinese text analysis for the search index: jieba with the bureau's user dictionary.

Text is cut into words with jieba's exact mode (no HMM, so that the same string is cut the
same way in a letter and in a query), with the city's place names and petition terms from
``data/userdict.txt``. At index time a long word also yields the shorter dictionary words
inside it (as jieba's search mode does) *at the same position*, so ``补偿`` finds
``补偿款`` and phrases still line up. Punctuation, spaces and a few function words are
dropped; Latin letters are lowercased.

``words(text)`` gives the query-side words; ``JiebaAnalyzer`` is the Whoosh analyzer. One
jieba tokenizer per process, loaded on first use.
"""
import importlib.resources
import logging
import re
import threading

from whoosh.analysis import Token, Tokenizer

log = logging.getLogger(__name__)

STOPWORDS = frozenset("的 了 和 与 及 或 是 在 也 都 就 而 之 其 把 被 让 向 从 对 于 以 等 着 呢 吗 吧 啊 呀 嘛 哦 么 之类".split())
_SKIP = re.compile(r"^[\W_]+$", re.UNICODE)
_CJK = "\u3001-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff60"
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}])[ \t\u3000]+(?=[{_CJK}])")

_lock = threading.Lock()
_tokenizer = None


def userdict_path():
    return str(importlib.resources.files("indexing").joinpath("data/userdict.txt"))


def tokenizer():
    """The process's jieba tokenizer with the user dictionary loaded."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba
                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.initialize()
                tk.load_userdict(userdict_path())
                _tokenizer = tk
    return _tokenizer


def normalize(text):
    """Text as the index sees it: full-width letters and digits folded to ASCII."""
    return text.translate(_FULLWIDTH) if text else ""


def join_cjk(text):
    """Remove the spaces OCR leaves between Chinese characters."""
    return _CJK_SPACE.sub("", text) if text else ""


# full-width digits and Latin letters fold to ASCII (Chinese punctuation stays as written)
_FULLWIDTH = {code: code - 0xFEE0 for code in list(range(0xFF10, 0xFF1A)) + list(range(0xFF21, 0xFF3B))
              + list(range(0xFF41, 0xFF5B))}


def _keep(word):
    return bool(word.strip()) and not _SKIP.match(word) and word not in STOPWORDS


def tokens(text):
    """(word, start, end) for each kept word of ``text`` (exact mode, lowercased)."""
    tk = tokenizer()
    for word, start, end in tk.tokenize(text, HMM=False):
        if _keep(word):
            yield word.lower(), start, end


def words(text):
    """The kept words of ``text``, in order."""
    return [w for w, _s, _e in tokens(normalize(text))]


def subwords(word):
    """Dictionary words of two and three characters inside a longer word (jieba's search mode)."""
    n = len(word)
    if n <= 2:
        return []
    freq = tokenizer().FREQ
    out = []
    for size in (2, 3):
        if n <= size:
            break
        for i in range(n - size + 1):
            gram = word[i:i + size]
            if freq.get(gram):
                out.append(gram)
    return out


def split_word(word):
    """A finer cut of a dictionary word into shorter dictionary words (greedy longest match,
    single characters where nothing matches), or [] if the word has no finer cut."""
    n = len(word)
    if n < 3:
        return []
    freq = tokenizer().FREQ
    out, i = [], 0
    while i < n:
        for size in range(min(n - 1, n - i), 0, -1):
            piece = word[i:i + size]
            if size == 1 or freq.get(piece):
                out.append(piece)
                i += size
                break
    return [p for p in out if _keep(p)] if len(out) > 1 else []


def index_terms(text):
    """Every term the index stores for ``text`` (words and their sub-words), for baselines
    that must see exactly the same tokens."""
    out = []
    for word, _s, _e in tokens(normalize(text)):
        out.append(word)
        out.extend(subwords(word))
    return out


class JiebaTokenizer(Tokenizer):
    """Whoosh tokenizer over jieba; sub-words share their word's position at index time."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar = start_char
                t.endchar = start_char + len(value)
            yield t
            return
        expand = mode != "query"
        pos = start_pos
        for word, start, end in tokens(value):
            t.text = word
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = word
            if positions:
                t.pos = pos
            if chars:
                t.startchar = start_char + start
                t.endchar = start_char + end
            yield t
            if expand and len(word) > 2:
                for sub in subwords(word):
                    t.text = sub
                    if keeporiginal:
                        t.original = sub
                    if chars:
                        offset = word.find(sub)
                        t.startchar = start_char + start + offset
                        t.endchar = t.startchar + len(sub)
                    yield t
            pos += 1


def JiebaAnalyzer():
    """The analyzer of the index's text field (picklable: the schema stores it by reference)."""
    return JiebaTokenizer()
