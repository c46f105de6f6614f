"""Search benchmark: the Whoosh + jieba index of ``indexing`` against tantivy and SQLite FTS5.

    .venv/bin/python benchmarks/bench_search.py [--data DIR] [--sizes real,100000] [--procs 2]

Data: the real citizen messages of the TipDM 2020 C challenge (``--data`` or $CASEFILES_DATA,
default ``../shared/data/tipdm2020c`` beside the repository): every message becomes a case
item and every official reply a document item, as they are ("real"); larger sizes add
synthetic items made of sentences of real messages of the same category, with Xinyang
districts, units, statuses, channels and principals, up to the size asked.

For each size and engine it measures:
- indexing: the time to build the index from the items (for Whoosh, the production schema
  and analyzer; for the baselines, jieba tokenization with the *same* tokens and positions
  plus the engine's own ingest), items per second;
- queries: 1-3 word Chinese queries (words drawn from one real item, so each has hits), half
  as a clerk (sees all) and half as a unit user (sees its unit's items), each returning the
  total, the top 20 and the counts of 7 facets (status, channel, district, category, unit,
  year, kind), all filtered by the user's principals; p50 / p95 / mean latency. Whoosh runs
  the production code (``indexing.query.parse`` + ``indexing.search.search``, snippets
  included); the baselines run AND-of-words queries with their own ranking (BM25).
- relevance: 100 queries made from real message titles (the title typed into the box);
  the share whose message is in the top 10.

Results go to ``benchmarks/results/search.json`` with the ratios Whoosh / tantivy and
Whoosh / SQLite and whether the targets hold (p95 < 100 ms with facets at 100,000 items,
full rebuild < 10 minutes, relevance >= 95 %).
"""
import argparse
import csv
import datetime
import json
import multiprocessing
import os
import random
import re
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from indexing import schema as S  # noqa: E402
from indexing.analysis import JiebaTokenizer, tokenizer, words  # noqa: E402
from indexing.query import parse  # noqa: E402
from indexing.search import Caches, search  # noqa: E402
from indexing.sync import storable  # noqa: E402

DISTRICTS = ("浉河区", "平桥区", "罗山县", "光山县", "新县", "商城县", "固始县", "潢川县", "淮滨县", "息县", "市直")
UNITS = {"浉河区": "411502", "平桥区": "411503", "罗山县": "411521", "光山县": "411522", "新县": "411523",
         "商城县": "411524", "固始县": "411525", "潢川县": "411526", "淮滨县": "411527", "息县": "411528"}
DEPARTMENTS = ("GAJ", "ZRZYJ", "ZJJ", "RSJ", "JYJ", "WJW", "SHJJ", "JTJ", "CGJ", "SJJ")
STATUSES = (("registered", 5), ("accepted", 5), ("assigned", 15), ("reported", 5), ("replied", 20),
            ("closed", 30), ("archived", 15), ("rejected", 3), ("merged", 2))
CHANNELS = (("online", 60), ("letter", 20), ("visit", 10), ("phone", 7), ("transfer", 3))
DOC_KINDS = ("reply", "handling_report", "investigation", "notice", "supervision")
BUREAU = ["role:admin", "role:clerk", "role:assigner", "role:supervisor", "role:analyst", "role:reviewer",
          "role:auditor"]
CLERK = ["system.Everyone", "system.Authenticated", "user:clerk", "role:clerk"]
UNIT_USER = ["system.Everyone", "system.Authenticated", "user:unit", "role:unit", "unit:411502"]
_PLACE = re.compile(r"[A-Z]\d*[市区县]|[A-Z]\d+")
_SENTENCE = re.compile(r"(?<=[。！？!?；;\n])")


def default_data():
    return os.environ.get("CASEFILES_DATA") or os.path.join(ROOT, "..", "shared", "data", "tipdm2020c")


def _time(text):
    text = (text or "").strip()
    for fmt in ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d"):
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            pass
    return datetime.datetime(2019, 1, 1)


def load_messages(folder):
    messages = []
    with open(os.path.join(folder, "attachment2_combined_2241.csv"), encoding="utf-8") as f:
        for row in csv.DictReader(f):
            messages.append({"mid": "a2-" + row["留言编号"], "title": row["留言主题"].strip(),
                             "body": row["留言详情"].strip(), "date": _time(row["留言时间"]),
                             "category": row.get("一级标签") or "", "reply": "", "reply_date": None})
    with open(os.path.join(folder, "attachment4_messages_with_replies_2816.csv"), encoding="utf-8") as f:
        for row in csv.DictReader(f):
            messages.append({"mid": "a4-" + row["留言编号"], "title": row["留言主题"].strip(),
                             "body": row["留言详情"].strip(), "date": _time(row["留言时间"]), "category": "",
                             "reply": (row.get("答复意见") or "").strip(), "reply_date": _time(row.get("答复时间"))})
    return messages


def _weighted(rng, pairs):
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


def _item(rng, item_id, number, kind, title, body, date, category):
    district = rng.choice(DISTRICTS)
    unit = UNITS.get(district) if rng.random() < 0.7 and district in UNITS else rng.choice(DEPARTMENTS)
    allowed = BUREAU + [f"unit:{unit}"]
    denied = []
    if rng.random() < 0.03:              # an accusation against the unit it concerns
        denied = [f"unit:{unit}"]
    return {
        S.ID_: item_id, S.TYPE: "case" if kind == "case" else "document", S.NUMBER: number,
        S.DOC: "" if kind == "case" else item_id, S.TITLE: title, S.TEXT: f"{title}\n{title}\n{body}",
        S.BODY: body, S.STATUS: _weighted(rng, STATUSES), S.CHANNEL: _weighted(rng, CHANNELS),
        S.DISTRICT: district, S.CATEGORY: category or "-", S.UNIT: unit, S.YEAR: str(date.year),
        S.KIND: kind, S.PTYPE: "complaint", S.DATE: date, S.ALLOWED: " ".join(allowed),
        S.DENIED: " ".join(denied), S.STAMP: "x", S.OCR: "",
    }


def make_items(messages, size, seed=1):
    """(items, {message id: case item id}) — the real items, then synthetic ones up to ``size``."""
    rng = random.Random(seed)
    labels = sorted({m["category"] for m in messages if m["category"]})
    items, by_message = [], {}
    for i, m in enumerate(messages):
        number = f"XY-{m['date'].year}-R{i:06d}"
        category = m["category"] or rng.choice(labels)
        m["_category"] = category
        items.append(_item(rng, S.case_id(number), number, "case", m["title"], m["body"], m["date"], category))
        by_message[m["mid"]] = S.case_id(number)
        if m["reply"]:
            items.append(_item(rng, S.document_id(number, "reply"), number, "reply", "答复意见：" + m["title"],
                               m["reply"], m["reply_date"] or m["date"], category))
    if size in (None, "real"):
        return items, by_message
    if size <= len(items):            # a smaller sample of the real items (for trying the benchmark)
        items = items[:size]
        kept = {item[S.ID_] for item in items}
        return items, {mid: item_id for mid, item_id in by_message.items() if item_id in kept}
    sentences = {}
    for m in messages:
        parts = [p.strip() for p in _SENTENCE.split(m["body"] + "\n" + m["reply"]) if len(p.strip()) > 4]
        sentences.setdefault(m["_category"], []).extend(parts)
    titles = [m["title"] for m in messages]
    n = len(items)
    while len(items) < size:
        base = rng.choice(messages)
        pool = sentences[base["_category"]]
        body = "".join(rng.choice(pool) for _ in range(rng.randint(3, 9)))
        district = rng.choice(DISTRICTS)
        first, second = rng.sample(titles, 2)   # a new title: halves of two real ones
        title = _PLACE.sub(district, first[:len(first) // 2] + second[len(second) // 2:])
        date = base["date"] + datetime.timedelta(days=rng.randint(-400, 400))
        number = f"XY-{date.year}-S{n:06d}"
        kind = "case" if rng.random() < 0.7 else rng.choice(DOC_KINDS)
        item_id = S.case_id(number) if kind == "case" else S.document_id(number, "d")
        items.append(_item(rng, item_id, number, kind, title, body, date, base["_category"]))
        n += 1
    return items, by_message


# --- tokens for the baselines: exactly what the Whoosh analyzer produces ---------------------

def _tokens(text):
    out = []
    for t in JiebaTokenizer()(text, positions=True, chars=True, mode="index"):
        out.append((t.text, t.pos, t.startchar, t.endchar))
    return out


def tokenize_all(items, procs):
    texts = [item[S.TEXT] for item in items]
    if procs > 1:
        tokenizer()
        with multiprocessing.get_context("fork").Pool(procs) as pool:
            return pool.map(_tokens, texts, chunksize=200)
    return [_tokens(t) for t in texts]


# --- Whoosh (production) -------------------------------------------------------------------

def build_whoosh(items, folder, procs):
    from whoosh import index
    ix = index.create_in(folder, S.make_schema())
    kwargs = {"limitmb": 256}
    if procs > 1:
        kwargs.update(procs=procs, multisegment=True)
    writer = ix.writer(**kwargs)
    for item in items:
        writer.add_document(**storable(item))
    writer.commit()
    return ix


class WhooshEngine:
    name = "whoosh"

    def __init__(self, ix):
        self.searcher = ix.searcher()
        self.caches = Caches()

    def query(self, text, principals, limit=20):
        results = search(self.searcher, parse(text), principals, self.caches, "relevance", 1, limit)
        return results.total, [h.get(S.ID_) for h in results.hits], results.facets


# --- tantivy -----------------------------------------------------------------------------------

FACET_FIELDS = (S.STATUS, S.CHANNEL, S.DISTRICT, S.CATEGORY, S.UNIT, S.YEAR, S.KIND)


def build_tantivy(items, tokens, folder, procs):
    import tantivy
    sb = tantivy.SchemaBuilder()
    sb.add_text_field(S.ID_, stored=True, tokenizer_name="raw")
    sb.add_text_field(S.TEXT, tokenizer_name="whitespace")
    for field in FACET_FIELDS:
        sb.add_text_field(field, fast=True, tokenizer_name="raw")
    sb.add_text_field(S.ALLOWED, tokenizer_name="raw")
    sb.add_text_field(S.DENIED, tokenizer_name="raw")
    sb.add_date_field(S.DATE, fast=True)
    schema = sb.build()
    ix = tantivy.Index(schema, path=folder)
    writer = ix.writer(heap_size=256_000_000, num_threads=max(1, procs))
    for item, toks in zip(items, tokens):
        doc = tantivy.Document()
        doc.add_text(S.ID_, item[S.ID_])
        doc.add_pre_tokenized_text(S.TEXT, tantivy.PreTokenizedString(
            item[S.TEXT], [tantivy.Token(t, p, a, b) for t, p, a, b in toks]))
        for field in FACET_FIELDS:
            doc.add_text(field, item[field])
        for p in item[S.ALLOWED].split():
            doc.add_text(S.ALLOWED, p)
        for p in item[S.DENIED].split():
            doc.add_text(S.DENIED, p)
        doc.add_date(S.DATE, item[S.DATE])
        writer.add_document(doc)
    writer.commit()
    writer.wait_merging_threads()
    ix.reload()
    return ix, schema


class TantivyEngine:
    name = "tantivy"

    def __init__(self, ix, schema):
        self.ix, self.schema = ix, schema
        self.searcher = ix.searcher()

    def query(self, text, principals, limit=20):
        import tantivy
        Q, Occur = tantivy.Query, tantivy.Occur
        clauses = [(Occur.Must, Q.term_query(self.schema, S.TEXT, w)) for w in words(text)]
        if not clauses:
            return 0, [], {}
        clauses.append((Occur.Must, Q.term_set_query(self.schema, S.ALLOWED, list(principals))))
        clauses.append((Occur.MustNot, Q.term_set_query(self.schema, S.DENIED, list(principals))))
        q = Q.boolean_query(clauses)
        result = self.searcher.search(q, limit, count=True)
        ids = [self.searcher.doc(addr).get_first(S.ID_) for _score, addr in result.hits]
        aggs = self.searcher.aggregate(q, {f: {"terms": {"field": f, "size": 50}} for f in FACET_FIELDS})
        facets = {f: [(b["key"], b["doc_count"]) for b in aggs[f]["buckets"]] for f in FACET_FIELDS}
        return result.count, ids, facets


# --- SQLite FTS5 ---------------------------------------------------------------------------

def _principal_token(p):
    """A principal as one unicode61 token (letters and digits only)."""
    return re.sub(r"[^0-9A-Za-z]", "", p).lower()


def build_sqlite(items, tokens, path):
    """FTS5 with three columns: the jieba tokens (space separated), and the allowed and denied
    principals as tokens, so that one MATCH does the words and the permission filter."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("CREATE VIRTUAL TABLE fts USING fts5(text, acl, deny, tokenize='unicode61 remove_diacritics 0')")
    cols = ", ".join(f"{f} TEXT" for f in FACET_FIELDS)
    db.execute(f"CREATE TABLE docs (id INTEGER PRIMARY KEY, item TEXT, {cols}, date TEXT)")
    marks = ", ".join("?" * (len(FACET_FIELDS) + 3))
    for rowid, (item, toks) in enumerate(zip(items, tokens), 1):
        db.execute("INSERT INTO fts (rowid, text, acl, deny) VALUES (?, ?, ?, ?)",
                   (rowid, " ".join(t[0] for t in toks),
                    " ".join(_principal_token(p) for p in item[S.ALLOWED].split()),
                    " ".join(_principal_token(p) for p in item[S.DENIED].split())))
        db.execute(f"INSERT INTO docs VALUES ({marks})",
                   (rowid, item[S.ID_], *[item[f] for f in FACET_FIELDS], item[S.DATE].isoformat()))
    db.execute("INSERT INTO fts(fts) VALUES('optimize')")
    db.commit()
    return db


class SQLiteEngine:
    name = "sqlite"

    def __init__(self, db):
        self.db = db
        db.execute("CREATE TEMP TABLE hits (id INTEGER PRIMARY KEY, rank REAL)")

    def query(self, text, principals, limit=20):
        terms = words(text)
        if not terms:
            return 0, [], {}

        def quoted(values):
            return " OR ".join('"' + v.replace('"', '""') + '"' for v in values)
        tokens = [_principal_token(p) for p in principals]
        match = f"text : ({' AND '.join(chr(34) + t.replace(chr(34), chr(34) * 2) + chr(34) for t in terms)}) " \
                f"AND acl : ({quoted(tokens)}) NOT deny : ({quoted(tokens)})"
        db = self.db
        db.execute("DELETE FROM hits")
        db.execute("INSERT INTO hits SELECT rowid, bm25(fts, 1.0, 0.0, 0.0) FROM fts WHERE fts MATCH ?", (match,))
        total = db.execute("SELECT count(*) FROM hits").fetchone()[0]
        ids = [r[0] for r in db.execute("SELECT d.item FROM hits h JOIN docs d ON d.id = h.id "
                                        "ORDER BY h.rank LIMIT ?", (limit,))]
        facets = {}
        for f in FACET_FIELDS:
            facets[f] = db.execute(f"SELECT d.{f}, count(*) FROM hits h JOIN docs d ON d.id = h.id "
                                   f"GROUP BY 1 ORDER BY 2 DESC").fetchall()
        return total, ids, facets


# --- the measurements --------------------------------------------------------------------------

def make_queries(items, n, seed=2):
    """1-3 word queries, each drawn from one real item's distinctive words, alternating users."""
    rng = random.Random(seed)
    real = [i for i in items if "-R" in i[S.NUMBER]]
    df = {}
    sample = rng.sample(real, min(3000, len(real)))
    for item in sample:
        for w in set(words(item[S.BODY])):
            df[w] = df.get(w, 0) + 1
    low, high = max(2, len(sample) // 500), len(sample) // 8
    queries = []
    while len(queries) < n:
        item = rng.choice(sample)
        pool = [w for w in set(words(item[S.BODY])) if len(w) >= 2 and not w.isdigit() and low <= df.get(w, 0) <= high]
        k = 1 + len(queries) % 3
        if len(pool) < k:
            continue
        principals = CLERK if len(queries) % 2 == 0 else UNIT_USER
        queries.append((" ".join(rng.sample(sorted(pool), k)), principals))
    return queries


def time_queries(engine, queries, warmup=20):
    for text, principals in queries[:warmup]:
        engine.query(text, principals)
    times, empty, totals = [], 0, []
    for text, principals in queries:
        started = time.perf_counter()
        total, _ids, _facets = engine.query(text, principals)
        times.append((time.perf_counter() - started) * 1000)
        empty += total == 0
        totals.append(total)
    times.sort()
    return {"queries": len(times), "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2), "mean_ms": round(statistics.fmean(times), 2),
            "max_ms": round(times[-1], 2), "zero_hit_queries": empty,
            "median_hits": int(statistics.median(totals))}


def relevance(engine, messages, by_message, n=100, seed=3):
    rng = random.Random(seed)
    candidates = [m for m in messages if len(m["title"]) >= 6 and m["mid"] in by_message]
    chosen = rng.sample(candidates, min(n, len(candidates)))
    found = 0
    misses = []
    for m in chosen:
        _total, ids, _f = engine.query(m["title"], CLERK, limit=10)
        if by_message[m["mid"]] in ids:
            found += 1
        else:
            misses.append(m["title"])
    return {"queries": len(chosen), "top10": round(found / max(len(chosen), 1), 3), "misses": misses[:10]}


def _cpu_seconds():
    """CPU time of this process and its finished children (the writer processes)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def folder_mb(path):
    total = 0
    if os.path.isfile(path):
        return round(os.path.getsize(path) / 1048576, 1)
    for base, _dirs, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(base, f)) for f in files)
    return round(total / 1048576, 1)


def _saved(folder):
    try:
        with open(os.path.join(folder, "bench-stats.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _save(folder, stats):
    with open(os.path.join(folder, "bench-stats.json"), "w") as f:
        json.dump(stats, f)


def run_size(messages, size, args, log):
    items, by_message = make_items(messages, size)
    n = len(items)
    log(f"== {size}: {n} items")
    work = os.path.join(args.keep, str(size)) if args.keep else tempfile.mkdtemp(prefix="bench-search-")
    os.makedirs(work, exist_ok=True)
    out = {"items": n, "cases": sum(1 for i in items if i[S.TYPE] == "case")}
    try:
        queries = make_queries(items, args.queries)
        engines = []
        if "whoosh" in args.engines:
            folder = os.path.join(work, "whoosh")
            stats = _saved(folder)
            if stats is None:
                shutil.rmtree(folder, ignore_errors=True)
                os.makedirs(folder)
                load_before = os.getloadavg()
                cpu_before = _cpu_seconds()
                started = time.perf_counter()
                build_whoosh(items, folder, args.procs)
                seconds = time.perf_counter() - started
                cpu = _cpu_seconds() - cpu_before
                stats = {"index_seconds": round(seconds, 1), "items_per_second": round(n / seconds, 1),
                         "procs": args.procs, "index_mb": folder_mb(folder),
                         "rebuild_projection_100k_seconds": round(seconds * 100000 / n, 1),
                         # CPU time of this process and the writer processes: what the build costs
                         # whatever else runs; cpu / procs is the wall time on otherwise idle cores
                         "cpu_seconds": round(cpu, 1),
                         "idle_cores_projection_seconds": round(cpu / max(1, args.procs), 1),
                         "loadavg_before": [round(x, 2) for x in load_before],
                         "loadavg_after": [round(x, 2) for x in os.getloadavg()]}
                _save(folder, stats)
                log(f"whoosh index {seconds:.1f}s")
            from whoosh import index
            out["whoosh"] = stats
            engines.append(WhooshEngine(index.open_dir(folder)))
        baselines = [e for e in ("tantivy", "sqlite") if e in args.engines]
        tokens = None
        tokenize_seconds = None
        for name in baselines:
            folder = os.path.join(work, name)
            stats = _saved(folder)
            if stats is None:
                if tokens is None:
                    started = time.perf_counter()
                    tokens = tokenize_all(items, args.procs)
                    tokenize_seconds = time.perf_counter() - started
                    log(f"jieba tokens {tokenize_seconds:.1f}s")
                shutil.rmtree(folder, ignore_errors=True)
                os.makedirs(folder)
                started = time.perf_counter()
                if name == "tantivy":
                    build_tantivy(items, tokens, folder, args.procs)
                else:
                    build_sqlite(items, tokens, os.path.join(folder, "fts.sqlite")).close()
                seconds = time.perf_counter() - started
                stats = {"tokenize_seconds": round(tokenize_seconds, 1), "ingest_seconds": round(seconds, 1),
                         "index_seconds": round(seconds + tokenize_seconds, 1),
                         "items_per_second": round(n / (seconds + tokenize_seconds), 1),
                         "index_mb": folder_mb(folder)}
                _save(folder, stats)
                log(f"{name} ingest {seconds:.1f}s")
            out[name] = stats
            if name == "tantivy":
                import tantivy
                tix = tantivy.Index.open(folder)
                engines.append(TantivyEngine(tix, tix.schema))
            else:
                engines.append(SQLiteEngine(sqlite3.connect(os.path.join(folder, "fts.sqlite"))))
        del tokens
        for engine in engines:
            out[engine.name].update(time_queries(engine, queries))
            out[engine.name]["loadavg_after_queries"] = [round(x, 2) for x in os.getloadavg()]
            out[engine.name]["relevance"] = relevance(engine, messages, by_message, args.relevance)
            log(f"{engine.name}: {json.dumps(out[engine.name], ensure_ascii=False)[:400]}")
        out["sample_queries"] = [q for q, _p in queries[:12]]
        w = out.get("whoosh")
        if w:
            for other in ("tantivy", "sqlite"):
                o = out.get(other)
                if o:
                    out[f"ratio_whoosh_{other}"] = {
                        "p50": round(w["p50_ms"] / max(o["p50_ms"], 1e-6), 1),
                        "p95": round(w["p95_ms"] / max(o["p95_ms"], 1e-6), 1),
                        "index_seconds": round(w["index_seconds"] / max(o["index_seconds"], 1e-6), 2),
                    }
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=default_data())
    p.add_argument("--sizes", default="real,100000", help="comma separated: real and/or item counts")
    p.add_argument("--queries", type=int, default=300)
    p.add_argument("--relevance", type=int, default=100)
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--engines", default="whoosh,tantivy,sqlite")
    p.add_argument("--out", default=os.path.join(HERE, "results", "search.json"))
    p.add_argument("--keep", default="", help="keep the built indexes in this folder and reuse them next time "
                   "(their build times are kept with them)")
    args = p.parse_args(argv)
    args.engines = args.engines.split(",")
    messages = load_messages(args.data)
    tokenizer()

    def log(text):
        print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)

    from benchmarks.common import machine
    info = machine()
    info["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
    info.pop("loadavg_at_end", None)
    result = {"generated": datetime.datetime.now().isoformat(timespec="seconds"),
              "machine": info, "command": " ".join(sys.argv),
              "messages": len(messages), "procs": args.procs, "sizes": {}}
    for size in args.sizes.split(","):
        size = size.strip()
        result["sizes"][size] = run_size(messages, "real" if size == "real" else int(size), args, log)
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(result, f, ensure_ascii=False, indent=2, default=str)
    largest = max(result["sizes"].values(), key=lambda s: s["items"])
    w = largest.get("whoosh", {})
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["targets"] = {
        "at_items": largest["items"],
        "p95_ms_with_facets": {"target": 100, "measured": w.get("p95_ms"), "met": (w.get("p95_ms") or 1e9) < 100},
        "rebuild_seconds": {"target": 600, "measured": w.get("index_seconds"),
                            "met": (w.get("index_seconds") or 1e9) < 600},
        "relevance_top10": {"target": 0.95, "measured": w.get("relevance", {}).get("top10"),
                            "met": (w.get("relevance", {}).get("top10") or 0) >= 0.95},
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False, indent=2, default=str)
    log(f"written {args.out}")
    print(json.dumps(result["targets"], ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
