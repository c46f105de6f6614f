"""Text from filed files: the text layer of PDFs (pypdf) and OCR of scans (Tesseract, chi_sim).

Extraction never runs in a request and never fails a filing: the OCR worker
(``indexing.ocr``) calls ``extract_file`` for documents waiting in the extraction queue,
and ``extract_file`` hands the file to a child process running this module, bounded in
time (killed at the deadline), in pages and in memory, so that a hostile or broken PDF
costs at most its time slot. The child is long-lived (``--serve``): it reads one JSON
request a line on stdin and answers one JSON object a line, ``{"text", "state",
"error"}``, so a filing does not pay for a new interpreter, pypdf's import and the
Tesseract check each time; it is replaced after a time-out, a crash, a change of limits
and every ``RECYCLE_AFTER`` files. ``python -m indexing.extract PATH TYPE ...`` still
extracts one file.

States: ``text`` (the PDF's own text), ``ocr`` (read by OCR), ``empty`` (nothing legible),
``failed`` (an error or the deadline), ``unavailable`` (no tesseract with chi_sim here).
"""
import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from .analysis import join_cjk, normalize

SCAN_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/tiff")
IMAGE_TYPES = ("image/jpeg", "image/png", "image/tiff")
MIN_PAGE_TEXT = 20            # characters a page needs to count as having a text layer
DEFAULTS = {"timeout": 300, "max_pages": 50, "ocr_pages": 20, "ocr_lang": "chi_sim", "memory_mb": 2048}
_WORDISH = re.compile(r"\w", re.UNICODE)


def needs_extraction(document):
    version = document.current
    return (version is not None and version.media_type in SCAN_TYPES
            and getattr(document, "extracted_version", 0) != version.number)


def extraction_state(document):
    """What the document page shows: pending, or the state of the last extraction ("" if none applies)."""
    if needs_extraction(document):
        return "pending"
    version = document.current
    if version is None or getattr(document, "extracted_version", 0) != version.number:
        return ""
    return getattr(document, "ocr_state", "") or ""


_ocr_check = {}


def ocr_available(lang="chi_sim"):
    """True if a tesseract with the language is installed (checked once per process)."""
    if lang not in _ocr_check:
        exe = shutil.which("tesseract")
        ok = False
        if exe:
            try:
                out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=20)
                ok = lang in (out.stdout + out.stderr).split()
            except (OSError, subprocess.SubprocessError):
                ok = False
        _ocr_check[lang] = ok
    return _ocr_check[lang]


RECYCLE_AFTER = 200           # files one child process extracts before a fresh one takes over


def extract_file(path, media_type, timeout=None, max_pages=None, ocr_pages=None, ocr_lang=None, memory_mb=None):
    """Extract the text of one file in the child process; returns (text, state, error)."""
    opts = dict(DEFAULTS)
    for key, value in (("timeout", timeout), ("max_pages", max_pages), ("ocr_pages", ocr_pages),
                       ("ocr_lang", ocr_lang), ("memory_mb", memory_mb)):
        if value not in (None, ""):
            opts[key] = value
    request = {"path": str(path), "media_type": media_type, "max_pages": int(opts["max_pages"]),
               "ocr_pages": int(opts["ocr_pages"]), "lang": str(opts["ocr_lang"])}
    with _worker_lock:
        global _worker
        if _worker is not None and not _worker.usable(int(opts["memory_mb"])):
            _worker.stop()
            _worker = None
        if _worker is None:
            try:
                _worker = _Worker(int(opts["memory_mb"]))
            except OSError as e:
                return "", "failed", str(e)
        result = _worker.ask(request, float(opts["timeout"]))
        if result is None:   # timed out or died: it is not asked again
            error = _worker.error or f"timed out after {opts['timeout']} s"
            _worker.stop()
            _worker = None
            return "", "failed", error
    return result.get("text", ""), result.get("state", "failed"), result.get("error", "")


class _Worker:
    """One long-lived child process (``python -m indexing.extract --serve``) with the memory
    limit and a lower priority; asked one file at a time."""

    def __init__(self, memory_mb):
        self.memory_mb = memory_mb
        self.pid = os.getpid()     # a forked parent must not share its child
        self.done = 0
        self.error = ""
        self._buffer = b""
        limit = memory_mb * 1024 * 1024

        def _limits():  # pragma: no cover - runs in the child
            try:
                import resource
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
                os.nice(10)
            except (ImportError, ValueError, OSError):
                pass

        env = dict(os.environ)
        env["OMP_THREAD_LIMIT"] = "1"   # tesseract: one core, the other serves requests
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen([sys.executable, "-m", "indexing.extract", "--serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, preexec_fn=_limits,
                                     env=env, cwd=here)

    def usable(self, memory_mb):
        return (self.pid == os.getpid() and self.proc.poll() is None and self.memory_mb == memory_mb
                and self.done < RECYCLE_AFTER)

    def ask(self, request, timeout):
        """The child's answer, or None after ``timeout`` seconds or if the child died."""
        import select
        deadline = time.monotonic() + timeout     # from before the request is sent
        self.done += 1
        request = dict(request, id=self.done)
        try:
            self.proc.stdin.write(json.dumps(request, ensure_ascii=False).encode("utf-8") + b"\n")
            self.proc.stdin.flush()
        except OSError as e:
            self.error = f"the extraction process ended ({e})"
            return None
        fd = self.proc.stdout.fileno()
        while True:
            line, sep, rest = self._buffer.partition(b"\n")
            if sep:
                self._buffer = rest
                try:
                    answer = json.loads(line.decode("utf-8"))
                except ValueError:
                    continue
                if answer.get("id") == request["id"]:
                    return answer
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _w, _x = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                status = self.proc.wait()
                self.error = f"the extraction process ended (exit status {status})"
                return None
            self._buffer += chunk

    def stop(self):
        if self.pid != os.getpid():
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self.proc.stdout.close()


_worker = None
_worker_lock = threading.Lock()


@atexit.register
def _stop_worker():
    if _worker is not None:
        _worker.stop()


# --- the child process --------------------------------------------------------------------

def _meaningful(text):
    return len(_WORDISH.findall(text or ""))


def _ocr_image(path, lang, timeout=120, max_frames=20):
    """OCR one image file (every page of a multi-page TIFF) with tesseract, after making each
    page grey and at least 1200 pixels wide."""
    try:
        from PIL import Image, ImageOps
    except ImportError:
        return _tesseract(path, lang, timeout)
    from casefiles.documents import MAX_IMAGE_PIXELS, image_pixels
    with open(path, "rb") as f:
        if (image_pixels(f) or 0) > MAX_IMAGE_PIXELS:   # a decompression bomb is not decoded
            raise ValueError("the image has too many pixels to read")
    pages = []
    with Image.open(path) as image:
        for i in range(min(getattr(image, "n_frames", 1), max_frames)):
            image.seek(i)
            page = ImageOps.grayscale(image.convert("RGB"))
            if page.width < 1200:
                scale = 1200 / max(page.width, 1)
                page = page.resize((int(page.width * scale), int(page.height * scale)))
            out = f"{path}.{i}.png"
            page.save(out)
            pages.append(out)
    return "\n".join(t for t in (_tesseract(p, lang, timeout) for p in pages) if t)


def _tesseract(path, lang, timeout):
    proc = subprocess.run(["tesseract", path, "stdout", "-l", lang, "--psm", "3"], capture_output=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.decode("utf-8", "replace").strip()[-300:] or "tesseract failed")
    return proc.stdout.decode("utf-8", "replace")


def _pdf(path, max_pages, ocr_pages, lang, workdir):
    from pypdf import PdfReader
    reader = PdfReader(path)
    texts, used_ocr, ocr_done = [], False, 0
    can_ocr = ocr_available(lang)
    missing_ocr = False
    for number, page in enumerate(reader.pages):
        if number >= max_pages:
            break
        try:
            text = page.extract_text() or ""
        except Exception:  # a broken page does not lose the others
            text = ""
        if _meaningful(text) >= MIN_PAGE_TEXT:
            texts.append(text)
            continue
        if ocr_done >= ocr_pages:
            continue
        images = []
        try:
            images = list(page.images)
        except Exception:
            images = []
        if not images:
            if text.strip():
                texts.append(text)
            continue
        if not can_ocr:
            missing_ocr = True
            continue
        for k, image in enumerate(images[:4]):
            name = os.path.join(workdir, f"p{number}-{k}{os.path.splitext(image.name)[1] or '.png'}")
            try:
                image.image.save(name + ".png")
                name = name + ".png"
            except Exception:
                with open(name, "wb") as f:
                    f.write(image.data)
            texts.append(_ocr_image(name, lang))
            used_ocr = True
        ocr_done += 1
    text = join_cjk(normalize("\n".join(t for t in texts if t))).strip()
    if not _meaningful(text):
        return "", "unavailable" if missing_ocr else "empty"
    return text, "ocr" if used_ocr else "text"


def _child(path, media_type, max_pages, ocr_pages, lang):
    workdir = tempfile.mkdtemp(prefix="casefiles-ocr-")
    try:
        if media_type == "application/pdf":
            text, state = _pdf(path, max_pages, ocr_pages, lang, workdir)
        elif media_type in IMAGE_TYPES:
            if not ocr_available(lang):
                return {"text": "", "state": "unavailable", "error": f"tesseract with {lang} is not installed"}
            local = os.path.join(workdir, "scan" + {"image/jpeg": ".jpg", "image/png": ".png"}.get(media_type, ".tif"))
            shutil.copyfile(path, local)
            text = join_cjk(normalize(_ocr_image(local, lang))).strip()
            state = "ocr" if _meaningful(text) else "empty"
        else:
            return {"text": "", "state": "empty", "error": ""}
        return {"text": text, "state": state, "error": ""}
    except Exception as e:  # reported as a failed extraction, never raised into a filing
        return {"text": "", "state": "failed", "error": f"{type(e).__name__}: {e}"[:300]}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def serve():
    """The child's loop: one JSON request a line on stdin, one JSON answer a line on stdout
    (anything else the libraries print goes to stderr)."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    for line in sys.stdin:
        try:
            request = json.loads(line)
            result = _child(request["path"], request["media_type"], int(request["max_pages"]),
                            int(request["ocr_pages"]), request["lang"])
        except (ValueError, KeyError, TypeError) as e:
            request, result = {}, {"text": "", "state": "failed", "error": f"bad request: {e}"[:300]}
        result["id"] = request.get("id")
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
        out.flush()
    return 0


def main(argv=None):
    argv = argv if argv is not None else sys.argv[1:]
    if argv[:1] == ["--serve"]:
        return serve()
    path, media_type, max_pages, ocr_pages, lang = argv[0], argv[1], int(argv[2]), int(argv[3]), argv[4]
    result = _child(path, media_type, max_pages, ocr_pages, lang)
    sys.stdout.write(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
