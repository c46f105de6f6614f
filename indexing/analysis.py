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
import hashlib
import importlib.resources
import logging
import math
import os
import pickle
import re
import tempfile
import threading

from whoosh.analysis import Token, Tokenizer

log = logging.getLogger(__name__)

STOPWORDS = frozenset("的 了 和 与 及 或 是 在 也 都 就 而 之 其 把 被 让 向 从 对 于 以 等 着 呢 吗 吧 啊 呀 嘛 哦 么 之类".split())
_SKIP = re.compile(r"^[\W_]+$", re.UNICODE)
_CJK = "\u3001-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff60"
_CJK_SPACE = re.compile(rf"(?<=[{_CJK}])[ \t\u3000]+(?=[{_CJK}])")

_lock = threading.Lock()
_tokenizer = None
_cache_dir = None
CACHE_FORMAT = 1


def userdict_path():
    return str(importlib.resources.files("indexing").joinpath("data/userdict.txt"))


def configure(cache_dir=None):
    """Where the prepared dictionary is cached (the app passes ``<var>/cache``); the system's
    temporary folder when not configured."""
    global _cache_dir
    _cache_dir = cache_dir


def loaded():
    """True once the dictionary is in memory (it is loaded on first use)."""
    return _tokenizer is not None


def _cache_file(folder):
    import jieba
    digest = hashlib.sha1()
    with open(userdict_path(), "rb") as f:
        digest.update(f.read())
    name = os.path.join(os.path.dirname(jieba.__file__), "dict.txt")
    st = os.stat(name)
    digest.update(f"{name}:{st.st_size}:{st.st_mtime_ns}".encode())
    digest.update(f"{jieba.__version__}:{CACHE_FORMAT}".encode())
    return os.path.join(folder, f"jieba-{digest.hexdigest()[:16]}.pickle")


def _shared_cache_dir():
    return os.path.join(tempfile.gettempdir(), "casefiles-jieba")


def _read_cache(path):
    try:
        with open(path, "rb") as f:
            freq, total = pickle.load(f)
        return freq, total
    except FileNotFoundError:
        return None
    except Exception:
        log.warning("ignoring an unreadable jieba cache %s", path)
        return None


def _write_cache(path, data):
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".jieba-")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(data, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        log.warning("could not cache the jieba dictionary in %s", folder)


def _load():
    """jieba's prefix dictionary with the user dictionary merged in. The merged dictionary is
    cached as a pickle under the configured folder (and the system's temporary folder, which
    new data folders start from): 0.3 s to read, against 1.2 s for jieba's own marshal cache
    plus 0.2 s for the user dictionary, or 3-5 s when jieba has to build its cache."""
    import jieba
    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    folders = [f for f in dict.fromkeys((_cache_dir, _shared_cache_dir())) if f]
    try:
        name = os.path.basename(_cache_file(folders[0]))
    except OSError:
        name = None
    if name is not None:
        for i, folder in enumerate(folders):
            data = _read_cache(os.path.join(folder, name))
            if data is not None:
                tk.FREQ, tk.total = data
                tk.initialized = True
                if i > 0:
                    _write_cache(os.path.join(folders[0], name), data)
                return tk
    tk.initialize()
    tk.load_userdict(userdict_path())
    if name is not None:
        for folder in folders:
            _write_cache(os.path.join(folder, name), (tk.FREQ, tk.total))
    return tk


def tokenizer():
    """The process's jieba tokenizer with the user dictionary loaded (on first use)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                _tokenizer = _load()
    return _tokenizer


# --- jieba's exact mode without HMM, in one pass -------------------------------------------------
# The same cut as ``jieba.Tokenizer.tokenize(text, HMM=False)`` (tests compare them), with the
# DAG and the best route computed in one loop instead of a dict of lists and a max() over a
# generator of tuples per character: about twice as fast, and it is most of indexing's time.
_RE_HAN = re.compile(r"([\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]+)", re.U)
_RE_SKIP = re.compile(r"(\r\n|\s)", re.U)
_RE_ENG1 = re.compile(r"[a-zA-Z0-9]", re.U)


def _cut_block(sentence, freq, logtotal, log=math.log):
    n = len(sentence)
    score = [0.0] * (n + 1)
    nxt = list(range(n))
    for idx in range(n - 1, -1, -1):
        best = None
        end = idx
        i = idx
        frag = sentence[idx]
        while frag in freq:
            f = freq[frag]
            if f:
                s = log(f) - logtotal + score[i + 1]
                if best is None or s >= best:      # ties go to the longer word, as in jieba
                    best, end = s, i
            i += 1
            if i >= n:
                break
            frag = sentence[idx:i + 1]
        if best is None:
            best = log(freq.get(sentence[idx]) or 1) - logtotal + score[idx + 1]
        score[idx] = best
        nxt[idx] = end
    x = 0
    buf = ""
    while x < n:
        y = nxt[x] + 1
        word = sentence[x:y]
        if y - x == 1 and _RE_ENG1.match(word):
            buf += word
        else:
            if buf:
                yield buf
                buf = ""
            yield word
        x = y
    if buf:
        yield buf


def cut(text, tk=None):
    """The words of ``text`` in jieba's exact mode without HMM (every character kept)."""
    tk = tk or tokenizer()
    freq = tk.FREQ
    logtotal = math.log(tk.total)
    for block in _RE_HAN.split(text):
        if not block:
            continue
        if _RE_HAN.match(block):
            yield from _cut_block(block, freq, logtotal)
        else:
            for x in _RE_SKIP.split(block):
                if _RE_SKIP.match(x):
                    yield x
                else:
                    yield from x


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
    start = 0
    for word in cut(text):
        end = start + len(word)
        if _keep(word):
            yield word.lower(), start, end
        start = end


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
