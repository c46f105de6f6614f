"""Documents filed into a case folder and their versions.

A filed document is a record: it is never edited in place. A correction files a new
version; every version keeps its original bytes in a ZODB blob with size, SHA-256 and the
media type sniffed from the bytes (never trusted from the client).
"""
import datetime
import hashlib
import uuid

import filetype
from persistent import Persistent
from ZODB.blob import Blob

from .errors import TooLarge, UnsupportedType, ValidationError
from .i18n import _
from . import localtime

CHUNK = 1 << 16

# Kinds of documents, by the stage they usually belong to.
KINDS = {
    "letter": "来信",
    "letter_scan": "来信扫描件",
    "visit_transcript": "接谈记录",
    "online_complaint": "网上投诉",
    "phone_record": "来电记录",
    "transfer_sheet": "转送/交办/督办单",
    "leader_instruction": "领导批示",
    "id_copy": "身份证明",
    "evidence": "证据材料",
    "notice": "告知书",
    "handling_report": "办结报告",
    "investigation": "调查材料",
    "mediation": "调解协议书",
    "reply": "信访处理意见书",
    "supervision": "督办材料",
    "suggestion": "三项建议书",
    "review_request": "复查/复核申请",
    "hearing_record": "听证记录",
    "review_decision": "复查/复核意见书",
    "evaluation": "满意度评价",
    "closing_summary": "结案报告",
    "other": "其他材料",
}

# Media types accepted for upload, judged from the bytes.
ACCEPTED_TYPES = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/tiff": ".tif",
    "text/plain": ".txt",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/msword": ".doc",
}
SCAN_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/tiff")
IMAGE_TYPES = ("image/jpeg", "image/png", "image/tiff")
# An A3 page scanned at 600 dpi is 7016 × 9921 ≈ 70 million pixels; a small file claiming
# more (a decompression bomb) would take gigabytes to decode for OCR or the dossier.
MAX_IMAGE_PIXELS = 80_000_000


def image_pixels(stream, max_frames=1000):
    """The pixel count of the largest frame of an image, from its headers only (nothing is
    decoded); None when Pillow cannot read the headers (the bytes are kept as they are)."""
    import re
    import warnings
    from PIL import Image
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(stream) as image:
                largest = 0
                for i in range(min(getattr(image, "n_frames", 1) or 1, max_frames)):
                    if i:
                        image.seek(i)
                    largest = max(largest, image.width * image.height)
                return largest
    except Image.DecompressionBombError as exc:   # over twice Pillow's own limit: it says how many
        found = re.search(r"\((\d+) pixels\)", str(exc))
        return int(found.group(1)) if found else MAX_IMAGE_PIXELS + 1
    except Exception:   # a header Pillow cannot read (any of its many exceptions)
        return None
    finally:
        stream.seek(0)


# The scans nearly every filing brings, recognised before asking ``filetype`` (which tries
# some hundred signatures in turn), with the answer it gives for them. (Not PNG or TIFF:
# an animated PNG and camera raw files share their first bytes and are not accepted.)
_SCAN_SIGNATURES = ((b"%PDF", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"))


# control characters that plain text in a legacy encoding never holds (tab, line breaks, form
# feed and the DOS end-of-file mark are fine): binary bytes that happen to decode as GB18030
_BINARY_CONTROLS = frozenset(chr(c) for c in range(32) if chr(c) not in "\t\n\r\f\v\x1a\x1b") | {"\x7f"}


def _decodes(head, encoding, strict_controls):
    """The text of ``head`` in ``encoding`` (a character cut at the end of the sniffed window
    is fine), or None."""
    import codecs
    try:
        text = codecs.getincrementaldecoder(encoding)("strict").decode(head, final=False)
    except UnicodeDecodeError:
        return None
    if strict_controls and not _BINARY_CONTROLS.isdisjoint(text):
        return None
    return text


def text_and_charset(head):
    """(the text of ``head``, its encoding), or (None, None) when it is not text in one of
    "utf-16" (with its byte order mark), "utf-8-sig", "utf-8" or "gb18030" (GBK and GB2312
    are subsets: what Chinese offices' Windows editors save)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        if head.startswith(b"\xff\xfe\x00\x00"):     # UTF-32: not what anyone saves text as
            return None, None
        text = _decodes(head, "utf-16", True)
        return (text, "utf-16") if text is not None else (None, None)
    if head.startswith(b"\xef\xbb\xbf"):
        text = _decodes(head, "utf-8-sig", False)
        return (text, "utf-8-sig") if text is not None else (None, None)
    if b"\x00" in head:
        return None, None
    text = _decodes(head, "utf-8", False)
    if text is not None:
        return text, "utf-8"
    text = _decodes(head, "gb18030", True)
    if text is not None:
        return text, "gb18030"
    return None, None


def decode_text(data, charset=""):
    """Text file bytes as text: in ``charset`` (what sniffing found when the file was filed),
    else in the encoding all its bytes show (files filed before the charset was kept; a
    character cut at the end is dropped); what cannot be decoded is replaced."""
    if not charset:
        text, charset = text_and_charset(data)
        if text is not None:
            return text
    return data.decode(charset or "utf-8", "replace")


def sniff(head):
    """The media type of a file from its first bytes; text/plain for text in UTF-8, UTF-16
    (with a byte order mark) or GB18030/GBK."""
    return sniff_text(head)[0]


def sniff_text(head):
    """(media type, charset of a text file or "")."""
    for signature, media_type in _SCAN_SIGNATURES:
        if head.startswith(signature):
            return media_type, ""
    if not head.startswith((b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf")):
        kind = filetype.guess(head)
        if kind is not None:
            return kind.mime, ""
    if not head:
        return "application/x-empty", ""
    text, charset = text_and_charset(head)
    if text is None:
        return "application/octet-stream", ""
    markup = text.lstrip("\ufeff \t\r\n")[:64].lower()
    if markup.startswith(("<?xml", "<!doctype", "<!entity", "<html", "<svg", "<script")):
        # markup is not plain text: XML (external entities), HTML and SVG (script) are refused by type
        return ("text/html" if markup.startswith(("<!doctype html", "<html", "<script")) else "application/xml"), ""
    return "text/plain", charset


def default_filename(media_type):
    """The name of a file sent without one (a part with no ``filename``): 附件 and the
    extension of its type."""
    return "附件" + ACCEPTED_TYPES.get(media_type, "")


def clean_filename(name):
    """Keep the client's name as metadata; drop only what no header or filesystem can carry."""
    name = (name or "").replace("\x00", "")
    name = "".join(ch for ch in name if ch >= " " and ch != "\x7f")
    return name.strip()[:255] or "file"


class Upload:
    """A file handed to the domain: its client name and a readable, seekable stream.

    An upload the web layer has already written into a new blob (``spooled``) also carries
    that ``blob`` and the bytes' ``sha256``: filing it stores that blob (``take``) instead of
    copying the bytes into another and hashing them again."""

    blob = None
    sha256 = None
    charset = ""     # of a text file: the encoding found in its bytes

    def __init__(self, filename, stream):
        self.stream = stream
        stream.seek(0, 2)
        self.size = stream.tell()
        stream.seek(0)
        self.media_type, self.charset = sniff_text(stream.read(8192))
        stream.seek(0)
        self.filename = self._name(filename)

    def _name(self, filename):
        name = clean_filename(filename)
        if name == "file" and not (filename or "").strip():
            return default_filename(self.media_type)
        return name

    @classmethod
    def spooled(cls, filename, stream, blob, size, sha256, head):
        """An upload already written into ``blob`` (a new one, not stored yet; open for
        reading as ``stream``), whose ``size``, ``sha256`` and first bytes (``head``, at least
        8 KB unless the file is shorter) are known."""
        upload = cls.__new__(cls)
        upload.stream = stream
        upload.size = size
        upload.media_type, upload.charset = sniff_text(head[:8192])
        upload.filename = upload._name(filename)
        upload.blob = blob
        upload.sha256 = sha256
        return upload

    def take(self):
        """The blob already holding the bytes, once (a second filing copies them); or None."""
        blob, self.blob = self.blob, None
        return blob

    @classmethod
    def from_bytes(cls, filename, data):
        import io
        return cls(filename, io.BytesIO(data))

    def check(self, max_bytes, field="file", accepted=ACCEPTED_TYPES):
        if max_bytes and self.size > max_bytes:
            raise TooLarge(too_large_message(self.filename, self.size, max_bytes), {field: "too large"})
        if self.size == 0:
            raise ValidationError(_("file_empty", default="The file ${name} is empty.",
                                    mapping={"name": self.filename}), {field: "empty"})
        if self.media_type not in accepted:
            raise UnsupportedType(_("file_type", default="The file ${name} is not an accepted type "
                                    "(PDF, JPEG, PNG, TIFF, text or office document); its content is ${type}.",
                                    mapping={"name": self.filename, "type": self.media_type}),
                                  {field: self.media_type})
        if self.media_type in IMAGE_TYPES:
            pixels = image_pixels(self.stream)
            if pixels is not None and pixels > MAX_IMAGE_PIXELS:
                message = _("image_too_many_pixels", default="The image ${name} has ${pixels} million pixels; "
                            "at most ${limit} million are accepted.",
                            mapping={"name": self.filename, "pixels": f"{pixels / 1e6:.0f}",
                                     "limit": f"{MAX_IMAGE_PIXELS / 1e6:.0f}"})
                raise ValidationError(message, {field: message})


def _mb(size, decimals=1):
    text = f"{size / 1048576:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def too_large_message(name, size, max_bytes):
    """Says by how much a file is over the limit: in MB when that shows the difference, else
    in bytes (a file 1 byte over 50 MB is not "50.0 MB, over the limit of 50 MB")."""
    if _mb(size) != _mb(max_bytes):
        return _("file_too_large", default="The file ${name} is ${size} MB; the limit is ${limit} MB.",
                 mapping={"name": name, "size": _mb(size), "limit": _mb(max_bytes)})
    return _("file_too_large_bytes", default="The file ${name} is ${size} bytes; the limit is ${limit} bytes "
             "(${limit_mb} MB).", mapping={"name": name, "size": f"{size:,}", "limit": f"{max_bytes:,}",
                                           "limit_mb": _mb(max_bytes, 3)})


class _Version:
    """One version of a document: the original bytes and what is known about them. Never
    changed once filed."""

    number = 1
    filename = ""
    media_type = "application/octet-stream"
    size = 0
    sha256 = ""
    filed_at = None
    filed_by = ""
    note = ""
    blob = None
    charset = ""     # a text file's encoding ("" for UTF-8, and for versions filed before it was kept)

    def __init__(self, number, upload, filed_at, filed_by, note=""):
        self.number = number
        self.filename = upload.filename
        self.media_type = upload.media_type
        if upload.media_type == "text/plain" and getattr(upload, "charset", "") not in ("", "utf-8"):
            self.charset = upload.charset
        self.filed_at = filed_at
        self.filed_by = filed_by
        self.note = note
        taken = upload.take()
        if taken is not None:
            self.blob = taken
            self.size = upload.size
            self.sha256 = upload.sha256
            return
        self.blob = Blob()
        digest = hashlib.sha256()
        size = 0
        upload.stream.seek(0)
        with self.blob.open("w") as out:
            while True:
                chunk = upload.stream.read(CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        self.size = size
        self.sha256 = digest.hexdigest()

    def open(self):
        return self.blob.open("r")

    def read(self):
        with self.blob.open("r") as f:
            return f.read()

    @property
    def text_encoding(self):
        """The charset to name in a Content-Type header for this text file."""
        return {"utf-8-sig": "utf-8"}.get(self.charset, self.charset) or "utf-8"

    def text(self, limit=None):
        """The text of a text file (its first ``limit`` bytes), decoded in its encoding."""
        with self.blob.open("r") as f:
            data = f.read() if limit is None else f.read(limit)
        return decode_text(data, self.charset)


class FileVersion(_Version):
    """A version as filed now: a plain record pickled with its document (the bytes are in its
    blob), so that filing a document stores the document and the blob, not a third object."""


class Version(_Version, Persistent):
    """A version filed before versions were kept in their document: a record of its own."""


class Document(Persistent):
    """A filed document. ``text`` is its transcription or extracted text."""

    __name__ = None
    __parent__ = None
    id = ""
    kind = "other"
    title = ""
    filed_at = None
    filed_by = ""
    text = ""
    ref = ""         # 文号
    author = ""      # 责任者
    versions = ()
    seq = 0          # filing order within its case (0 for documents filed before it existed)
    # text read from the file by the search layer (PDF text layer or OCR of a scan)
    extracted_text = ""
    extracted_version = 0    # the version the extracted text belongs to
    ocr_state = ""           # "" | text | ocr | empty | failed | unavailable

    def __init__(self, kind, title, filed_at, filed_by, text="", ref="", author=""):
        self.id = uuid.uuid4().hex
        self.kind = kind
        self.title = title
        self.filed_at = filed_at
        self.filed_by = filed_by
        self.text = text
        self.ref = ref
        self.author = author
        self.versions = ()

    @property
    def current(self):
        return self.versions[-1] if self.versions else None

    def version(self, number):
        for v in self.versions:
            if v.number == number:
                return v
        return None

    def add_version(self, upload, filed_at, filed_by, note=""):
        version = FileVersion(len(self.versions) + 1, upload, filed_at, filed_by, note)
        self.versions = self.versions + (version,)
        return version

    def set_extracted(self, version_number, text, state):
        """Record the text read from version ``version_number`` of the file (not a new version:
        the filed bytes are unchanged)."""
        self.extracted_text = text or ""
        self.extracted_version = version_number
        self.ocr_state = state

    @property
    def case(self):
        stage = self.__parent__
        return stage.__parent__ if stage is not None else None

    @property
    def order_key(self):
        """Filing order: time filed, then the case's filing sequence (several documents are
        often filed in the same second, e.g. a letter and its scans)."""
        return (self.filed_at is None, self.filed_at or 0, self.seq)

    @property
    def kind_title(self):
        return KINDS.get(self.kind, self.kind)


def text_upload(title, text):
    """A text document's bytes, so that every document has an original to open and download."""
    upload = Upload.from_bytes(f"{title}.txt", text.encode("utf-8"))
    upload.media_type = "text/plain"   # typed text is plain text, even when it starts like markup
    upload.charset = "utf-8"
    return upload


def now():
    return localtime.now()
