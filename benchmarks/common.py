"""Shared helpers of the benchmarks: timing, percentiles, memory, tables and the JSON results.

Benchmarks are not tests: they measure, print a table, write ``benchmarks/results/<name>.json``
with the machine they ran on, and say whether each target was met.
"""
import datetime
import json
import os
import platform
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")

if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


class Timer:
    """``with Timer() as t: ...`` then ``t.wall`` and ``t.cpu`` in seconds."""

    def __enter__(self):
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        return False


def percentile(values, p):
    """The p-th percentile (0..100) with linear interpolation between closest ranks."""
    if not values:
        return None
    data = sorted(values)
    if len(data) == 1:
        return data[0]
    k = (len(data) - 1) * p / 100.0
    low = int(k)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (k - low)


def summary(seconds):
    """n, mean, p50, p95, p99 and max of a list of durations, in milliseconds."""
    if not seconds:
        return {"n": 0}
    ms = [s * 1000.0 for s in seconds]
    return {
        "n": len(ms),
        "mean_ms": round(sum(ms) / len(ms), 3),
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "max_ms": round(max(ms), 3),
    }


def _status_kb(field):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_mb():
    """Current resident set size of this process in MB."""
    kb = _status_kb("VmRSS")
    if kb is None:
        return peak_rss_mb()
    return round(kb / 1024.0, 1)


def peak_rss_mb():
    """Peak resident set size (VmHWM) of this process in MB."""
    kb = _status_kb("VmHWM")
    if kb is None:  # not Linux: ru_maxrss is KB on Linux, bytes on macOS
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if sys.platform == "darwin":
            kb //= 1024
    return round(kb / 1024.0, 1)


def dir_size_mb(path):
    total = 0
    files = 0
    for base, _dirs, names in os.walk(path):
        for name in names:
            try:
                total += os.path.getsize(os.path.join(base, name))
                files += 1
            except OSError:
                pass
    return round(total / 1048576.0, 1), files


def machine():
    info = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
    }
    try:
        import subprocess
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
        if rev.returncode == 0:
            info["git"] = rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, ValueError):
        pass
    return info


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def target(name, measured, limit, unit, better="lower"):
    """A target line: met when ``measured`` is below (or above, better="higher") ``limit``."""
    if measured is None:
        met = False
    elif better == "lower":
        met = measured < limit
    else:
        met = measured >= limit
    return {"name": name, "measured": measured, "limit": limit, "unit": unit,
            "better": better, "met": met}


def print_targets(targets, out=sys.stdout):
    print("\nTargets", file=out)
    rows = [["target", "measured", "limit", "met"]]
    for t in targets:
        sign = "<" if t["better"] == "lower" else ">="
        rows.append([t["name"], f"{_fmt(t['measured'])} {t['unit']}", f"{sign} {_fmt(t['limit'])} {t['unit']}",
                     "MET" if t["met"] else "NOT MET"])
    print_table(rows, out=out)


def _fmt(value):
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if value is None:
        return "-"
    return f"{value:,}" if isinstance(value, int) else str(value)


def print_table(rows, out=sys.stdout):
    """Print rows (the first is the header) as aligned columns."""
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max(_width(row[i]) for row in cells if i < len(row)) for i in range(len(cells[0]))]
    for n, row in enumerate(cells):
        line = "  ".join(c + " " * (widths[i] - _width(c)) if i == 0 else " " * (widths[i] - _width(c)) + c
                         for i, c in enumerate(row))
        print(line.rstrip(), file=out)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out)


def _width(text):
    # CJK characters take two columns in a terminal
    return sum(2 if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1 for ch in text)


def write_result(name, data):
    """Write ``results/<name>.json`` with the machine info; return its path."""
    os.makedirs(RESULTS, exist_ok=True)
    payload = {"benchmark": name, "machine": machine()}
    payload.update(data)
    path = os.path.join(RESULTS, f"{name}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(payload, f, ensure_ascii=False, indent=2, default=str)
        f.write("\n")
    return path


def progress(message):
    print(message, file=sys.stderr, flush=True)


def profile_top(profiler, limit=25, sort="cumulative"):
    """The top entries of a cProfile.Profile as text."""
    import io
    import pstats
    buf = io.StringIO()
    stats = pstats.Stats(profiler, stream=buf)
    stats.strip_dirs().sort_stats(sort).print_stats(limit)
    return buf.getvalue()
