"""The closing dossier (结案卷宗): one PDF/A-3 file per case, bound from the case folder.

Layout (DOMAIN.md §4): a cover (档号, title, petitioners, dates, retention, 立卷人, 检查人,
page count), the table of contents (卷内目录: 序号, 文号, 责任者, 题名, 日期, 页号, 备注), every
document in archival order (``archive.contents``), and the 备考表 at the end. Texts are
typeset with a header; original PDFs are bound in page by page (pypdf, bytes untouched);
scans are placed one image to a page; formats that cannot be shown get a page that says
where the original is. Every page carries a stamp with the 档号 and "第x页 共y页"; bookmarks
follow folders and documents.

How it is built: ReportLab (Platypus) typesets everything that is not an original PDF into
one "frame" PDF, twice — a measuring pass that finds where each part starts, then the final
pass with the page numbers known — followed by one stamp page per original PDF page. pypdf
then interleaves the frame pages with the originals' pages, lays each stamp page over its
original page as a form XObject (the original content stream is not touched), adds the
bookmarks and the PDF/A parts (``archive.pdfa``). Dates come from the case and ReportLab
runs in invariant mode, so the same case always gives the same bytes. Building a dossier
reads the case and changes nothing.
"""
import contextlib
import hashlib
import io
import os
import shutil
import struct
import subprocess
import threading
from xml.sax.saxutils import escape

from reportlab.lib.utils import ImageReader
from ZODB.interfaces import BlobError
from reportlab.platypus.flowables import Flowable

from casefiles.cases import STAGES
from casefiles.documents import decode_text
from casefiles.i18n import _

from . import contents as C
from . import pdfa

PAGE = (595.2756, 841.8898)          # A4 in points
MM = 72.0 / 25.4
MARGIN_LEFT = 25 * MM                # the binding edge
MARGIN_RIGHT = 15 * MM
MARGIN_TOP = 24 * MM                 # room for the stamp
MARGIN_BOTTOM = 16 * MM
FONT = "CasefilesDossierCJK"   # its own name: archive.notices registers "CasefilesCJK"
IMAGE_TYPES = ("image/jpeg", "image/png", "image/tiff")
STAMP_RGB = (0.72, 0.05, 0.05)
MAX_TEXT_CHARS = 400000

FONT_FILES = (  # TrueType (glyf) CJK fonts ReportLab can embed, best first
    ("wqy-zenhei.ttc", 0), ("wqy-microhei.ttc", 0), ("uming.ttc", 0), ("ukai.ttc", 0),
    ("DroidSansFallbackFull.ttf", 0), ("DroidSansFallback.ttf", 0), ("simsun.ttc", 0), ("simhei.ttf", 0),
    ("msyh.ttc", 0), ("msyh.ttf", 0),
)
FONT_FAMILIES = ("WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "AR PL UMing CN", "Droid Sans Fallback")
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
PROBE = "信访卷宗档号第页共"


class FontMissing(RuntimeError):
    """No usable CJK TrueType font: the dossier cannot be typeset."""

    message = _("dossier_no_font", default="No usable Chinese TrueType font was found, so the dossier cannot be "
                "typeset. Install WenQuanYi Zen Hei (Debian: apt-get install fonts-wqy-zenhei) or set "
                "CASEFILES_CJK_FONT to a .ttf/.ttc file.")

    def __init__(self, tried=()):
        self.tried = tuple(tried)
        super().__init__("no usable CJK TrueType font (WenQuanYi Zen Hei: apt-get install fonts-wqy-zenhei); "
                         f"tried: {', '.join(self.tried) or 'nothing found'}")


_font_lock = threading.Lock()
_font = None   # (registered name, path, index)


def _candidates():
    env = os.environ.get("CASEFILES_CJK_FONT")
    if env:
        path, _sep, index = env.partition(":")
        yield path, int(index) if index.isdigit() else 0
    if shutil.which("fc-match"):
        for family in FONT_FAMILIES:
            try:
                out = subprocess.run(["fc-match", "-f", "%{file}\n%{index}", f"{family}:style=Regular"],
                                     capture_output=True, text=True, timeout=10).stdout
            except (OSError, subprocess.SubprocessError):
                continue
            lines = out.splitlines()
            if lines and lines[0]:
                yield lines[0], int(lines[1]) if len(lines) > 1 and lines[1].isdigit() else 0
    wanted = dict(FONT_FILES)
    found = {}
    for top in FONT_DIRS:
        top = os.path.expanduser(top)
        for folder, _dirs, files in os.walk(top):
            for name in files:
                if name in wanted and name not in found:
                    found[name] = os.path.join(folder, name)
    for name, index in FONT_FILES:
        if name in found:
            yield found[name], index


def _usable(path, index):
    from reportlab.pdfbase.ttfonts import TTFError, TTFont
    if not os.path.isfile(path):
        return None
    try:
        font = TTFont(FONT, path, subfontIndex=index)
    except (TTFError, OSError, ValueError, KeyError, IndexError, struct.error):
        return None
    cmap = getattr(font.face, "charToGlyph", {}) or {}
    if not all(ord(ch) in cmap and cmap[ord(ch)] for ch in PROBE):
        return None
    return font


def cjk_font():
    """Find, check and register the CJK font once per process; its ReportLab name."""
    global _font
    if _font is not None:
        return _font[0]
    with _font_lock:
        if _font is not None:
            return _font[0]
        from reportlab.pdfbase import pdfmetrics
        tried = []
        for path, index in _candidates():
            if (path, index) in tried:
                continue
            tried.append((path, index))
            font = _usable(path, index)
            if font is not None:
                pdfmetrics.registerFont(font)
                _font = (FONT, path, index)
                return FONT
        raise FontMissing([f"{p}:{i}" for p, i in tried])


def font_file():
    cjk_font()
    return _font[1], _font[2]


# Preparing the documents ---------------------------------------------------------------

class Part:
    """One document as it appears in the dossier."""

    def __init__(self, entry):
        self.entry = entry
        self.mode = "text"          # pdf | image | text | other | missing
        self.reason = ""
        self.reader = None
        self.pages = 0              # pdf pages
        self.geometry = []          # pdf pages: (llx, lly, w, h, rotation)
        self.frames = []            # images: callables returning an ImageReader
        self.frame_sizes = []       # images: (width px, height px, dpi x, dpi y)
        self.text = ""
        self.fonts_not_embedded = ()
        self.start = 0              # first page in the dossier
        self.count = 0              # number of pages

    @property
    def frame_section(self):
        return self.mode != "pdf"


def _open_version(stack, version):
    """A buffered binary file of the version's bytes (pypdf reads a few bytes at a time; a
    blob file is unbuffered)."""
    blob = version.blob
    if blob is None:
        raise OSError("no bytes")
    try:
        return stack.enter_context(open(blob.committed(), "rb"))
    except BlobError:  # filed in this very transaction
        return stack.enter_context(io.BufferedReader(blob.open("r")))


def _prepare(stack, entry):
    part = Part(entry)
    version = entry.version
    media = entry.media_type
    try:
        if media == "application/pdf":
            _prepare_pdf(stack, part, version)
        elif media in IMAGE_TYPES:
            _prepare_image(stack, part, version)
        elif media == "text/plain":
            part.mode = "text"
            with version.blob.open("r") as f:
                data = f.read(MAX_TEXT_CHARS * 4)
            # in the encoding found when it was filed (GBK, UTF-16); older versions: guessed
            part.text = decode_text(data, getattr(version, "charset", ""))
        else:
            part.mode = "other"
            part.text = entry.document.text or ""
    except Exception as exc:  # a broken original never stops the dossier
        _missing(part, exc)
    return part


def _missing(part, exc):
    part.mode = "missing"
    part.reader = None
    part.pages = 0
    part.frames = []
    part.reason = _reason(part.entry.media_type, exc)
    part.text = part.entry.document.text or ""


class Unreadable(ValueError):
    """An original that cannot be shown, with the reason printed in the dossier."""


def _reason(media_type, exc):
    # a fixed wording, never the exception's text (it may hold addresses): the same case
    # must give the same bytes
    if isinstance(exc, Unreadable):
        return str(exc)
    if media_type == "application/pdf":
        return "PDF 文件无法解析"
    if media_type in IMAGE_TYPES:
        return "图像文件无法解码"
    return "文件无法读取"


def _prepare_pdf(stack, part, version):
    from pypdf import PdfReader
    handle = _open_version(stack, version)
    reader = PdfReader(handle, strict=False)
    if reader.is_encrypted:
        if not reader.decrypt(""):
            raise Unreadable("PDF 文件已加密")
    pages = reader.pages
    if len(pages) == 0:
        raise Unreadable("PDF 文件没有页面")
    geometry = []
    missing_fonts = set()
    for page in pages:
        box = page.cropbox
        llx, lly = float(box.left), float(box.bottom)
        w, h = float(box.width), float(box.height)
        if w <= 1 or h <= 1:
            box = page.mediabox
            llx, lly, w, h = float(box.left), float(box.bottom), float(box.width), float(box.height)
        if w <= 1 or h <= 1:
            raise Unreadable("PDF 页面没有尺寸")
        rotation = int(page.get("/Rotate", 0) or 0) % 360
        if rotation % 90:
            rotation = 0
        geometry.append((llx, lly, w, h, rotation))
        missing_fonts.update(_fonts_not_embedded(page))
    part.mode = "pdf"
    part.reader = reader
    part.pages = len(pages)
    part.geometry = geometry
    part.fonts_not_embedded = tuple(sorted(missing_fonts))


def _fonts_not_embedded(page):
    out = set()
    try:
        resources = page.get("/Resources")
        resources = resources.get_object() if resources is not None else {}
        fonts = resources.get("/Font")
        fonts = fonts.get_object() if fonts is not None else {}
        for ref in fonts.values():
            font = ref.get_object()
            if not _font_embedded(font):
                out.add(str(font.get("/BaseFont", "?")).lstrip("/"))
    except Exception:
        return out
    return out


def _font_embedded(font):
    if font.get("/Subtype") == "/Type3":
        return True
    descendants = font.get("/DescendantFonts")
    if descendants is not None:
        return all(_font_embedded(d.get_object()) for d in descendants.get_object())
    descriptor = font.get("/FontDescriptor")
    if descriptor is None:
        return False
    descriptor = descriptor.get_object()
    return any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))


def _prepare_image(stack, part, version):
    from PIL import Image, ImageSequence
    handle = _open_version(stack, version)
    data = handle.read()
    from casefiles.documents import MAX_IMAGE_PIXELS, image_pixels
    if (image_pixels(io.BytesIO(data)) or 0) > MAX_IMAGE_PIXELS:   # a decompression bomb is not decoded
        raise Unreadable("图像像素过多")
    image = Image.open(io.BytesIO(data))
    frames = []
    sizes = []
    if image.format == "JPEG" and image.mode in ("RGB", "L"):
        # bound in as it is (DCT passthrough): its header is all that needs reading
        frames.append(_jpeg_frame(data))
        sizes.append((image.width, image.height) + _dpi(image))
    else:
        image.load()  # a broken PNG or TIFF shows here, not halfway through typesetting
        for index, frame in enumerate(ImageSequence.Iterator(image)):
            sizes.append((frame.width, frame.height) + _dpi(frame))
            frames.append(_pil_frame(data, index))
    if not frames:
        raise Unreadable("图像文件没有内容")
    part.mode = "image"
    part.frames = frames
    part.frame_sizes = sizes


def _dpi(image):
    dpi = image.info.get("dpi") or (0, 0)
    try:
        x, y = float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError, IndexError):
        x, y = 0.0, 0.0
    return (x if x > 1 else 0.0, y if y > 1 else 0.0)


def _jpeg_frame(data):
    def load():
        return JpegReader(data)
    return load


class JpegReader(ImageReader):
    """A JPEG bound in as it is (DCT passthrough). ReportLab names an image by the digest of
    its decoded pixels; the file's own bytes name it just as well, without decoding it."""

    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self._raw = data
        self._dataA = None  # a JPEG has no alpha channel

    def getRGBData(self):
        return self._raw


def _pil_frame(data, index):
    def load():
        from PIL import Image
        from reportlab.lib.utils import ImageReader
        image = Image.open(io.BytesIO(data))
        image.seek(index)
        frame = image.copy()
        if frame.mode in ("RGBA", "LA", "P", "PA") or "transparency" in frame.info:
            rgba = frame.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            frame = flat
        elif frame.mode == "1":
            frame = frame.convert("L")
        elif frame.mode not in ("RGB", "L"):
            frame = frame.convert("RGB")
        return ImageReader(frame)
    return load


# Typesetting -----------------------------------------------------------------------------

def _styles():
    from reportlab.lib.enums import TA_CENTER, TA_LEFT
    from reportlab.lib.styles import ParagraphStyle
    base = ParagraphStyle("base", fontName=FONT, fontSize=10.5, leading=17, wordWrap="CJK", alignment=TA_LEFT)
    return {
        "base": base,
        "body": ParagraphStyle("body", parent=base, fontSize=11, leading=19, firstLineIndent=0),
        "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=12),
        "cell": ParagraphStyle("cell", parent=base, fontSize=9, leading=12),
        "cellc": ParagraphStyle("cellc", parent=base, fontSize=9, leading=12, alignment=TA_CENTER),
        "head": ParagraphStyle("head", parent=base, fontSize=9.5, leading=12, alignment=TA_CENTER),
        "fonds": ParagraphStyle("fonds", parent=base, fontSize=16, leading=24, alignment=TA_CENTER),
        "cover": ParagraphStyle("cover", parent=base, fontSize=26, leading=40, alignment=TA_CENTER),
        "title": ParagraphStyle("title", parent=base, fontSize=18, leading=28, alignment=TA_CENTER),
        "label": ParagraphStyle("label", parent=base, fontSize=12, leading=18),
        "centered": ParagraphStyle("centered", parent=base, fontSize=12, leading=18, alignment=TA_CENTER),
        "value": ParagraphStyle("value", parent=base, fontSize=12, leading=18),
        "doc": ParagraphStyle("doc", parent=base, fontSize=13, leading=19),
    }


def _p(text, style):
    from reportlab.platypus import Paragraph
    return Paragraph(_markup(text), style)


_CONTROL = {i: None for i in range(32) if i not in (9, 10)}


def _markup(text):
    text = (text or "").translate(_CONTROL).replace("\t", "    ")
    return escape(text).replace("\n", "<br/>")


# A table row cannot be split across pages: a stored value too long for its cell (a 文号 of
# thousands of characters, a title of many lines) would make a row taller than a page, which
# ReportLab cannot lay out (LayoutError). Every value printed in a table cell, and every
# value drawn on one line, is therefore shortened to a fixed number of lines; where it
# matters the full value is printed as ordinary text that runs on over pages.
CELL_SCAN_CHARS = 4000      # a value is measured on at most this many characters


def _flat(text):
    """A one-line value: control characters dropped, each run of white space (line breaks
    too) one space."""
    return " ".join(str(text or "").translate(_CONTROL).split())


def _short(text, style, width, lines):
    """``text`` as one line of words that wraps to at most ``lines`` lines of ``width``
    points in ``style``; a longer value ends with "…"."""
    from reportlab.pdfbase.pdfmetrics import stringWidth
    from reportlab.platypus import Paragraph
    full = _flat(text)
    text = full[:CELL_SCAN_CHARS]
    if stringWidth(text, style.fontName, style.fontSize) <= width * 0.9:   # one line: no need to wrap
        return text
    room = lines * style.leading + 0.01
    cut = len(text) < len(full)
    for _attempt in range(40):
        shown = text + "…" if cut else text
        _w, height = Paragraph(_markup(shown), style).wrap(width, 1e9)
        if height <= room:
            return shown
        text = text[:max(0, min(len(text) - 1, int(len(text) * room / height)))]
        cut = True
    return "…"


def _fit(text, style, width, lines):
    """A paragraph of the one-line value ``text`` that is never taller than ``lines`` lines."""
    return _p(_short(text, style, width, lines), style)


def _clip_width(text, font_size, width):
    """``text`` on one line of at most ``width`` points, ending with "…" when shortened."""
    from reportlab.pdfbase.pdfmetrics import stringWidth
    text = _flat(text)[:CELL_SCAN_CHARS]
    if stringWidth(text, FONT, font_size) <= width:
        return text
    room = width - stringWidth("…", FONT, font_size)
    used, end = 0.0, 0
    for end, ch in enumerate(text):
        used += stringWidth(ch, FONT, font_size)
        if used > room:
            break
    return text[:end] + "…"


class Anchor(Flowable):
    """A zero-size flowable that records the frame page it lands on."""

    def __init__(self, key, record):
        super().__init__()
        self.key = key
        self.record = record
        self.width = self.height = 0

    def wrap(self, aw, ah):
        return 0, 0

    def draw(self):
        self.record[self.key] = self.canv.getPageNumber()


class ScanPage(Flowable):
    """A scanned image scaled into the frame below a one-line caption: exactly one page."""

    def __init__(self, load, size, caption, width, height):
        super().__init__()
        self.load = load
        self.size = size
        self.caption = caption
        self.width = width
        self.height = height

    def wrap(self, aw, ah):
        return self.width, self.height

    def draw(self):
        canv = self.canv
        width, height = self.width, self.height
        caption_h = 16
        canv.setFont(FONT, 9)
        canv.setFillColorRGB(0.25, 0.25, 0.25)
        canv.drawString(0, height - 10, self.caption)
        px_w, px_h, dpi_x, dpi_y = self.size
        natural_w = px_w * 72.0 / (dpi_x or 150.0)
        natural_h = px_h * 72.0 / (dpi_y or 150.0)
        room_w, room_h = width, height - caption_h
        scale = min(room_w / natural_w, room_h / natural_h)
        # never enlarge a scan beyond its real size; one without a resolution at most 4 times
        scale = min(scale, 1.0 if dpi_x and dpi_y else 4.0)
        w, h = natural_w * scale, natural_h * scale
        x = (room_w - w) / 2
        y = room_h - h
        canv.drawImage(self.load(), x, y, w, h)
        canv.setStrokeColorRGB(0.6, 0.6, 0.6)
        canv.setLineWidth(0.3)
        canv.rect(x, y, w, h, stroke=1, fill=0)


def draw_stamp(canv, width, height, label, page, total):
    """The page stamp, top right: the 档号 and 第x页 共y页, in a red frame."""
    from reportlab.pdfbase.pdfmetrics import stringWidth
    scale = max(0.45, min(1.0, width / PAGE[0], height / PAGE[1]))
    size = 8.5 * scale
    pad = 3 * scale
    line1 = label
    line2 = f"第{page}页 共{total}页"
    text_w = max(stringWidth(line1, FONT, size), stringWidth(line2, FONT, size))
    w = text_w + 2 * pad
    h = 2 * size + 3 * pad
    x = width - 10 * MM * scale - w
    y = height - 8 * MM * scale - h
    canv.saveState()
    canv.setStrokeColorRGB(*STAMP_RGB)
    canv.setFillColorRGB(*STAMP_RGB)
    canv.setLineWidth(0.7 * scale)
    canv.rect(x, y, w, h, stroke=1, fill=0)
    canv.setFont(FONT, size)
    canv.drawString(x + pad, y + 2 * pad + size, line1)
    canv.drawString(x + pad, y + pad + size * 0.15, line2)
    canv.restoreState()


class Facts:
    """What the dossier prints about the case."""

    def __init__(self, site, case):
        self.number = case.number
        self.ref = case.archival_ref or ""
        self.reading_copy = not (case.status == "archived" and self.ref)
        self.fonds = site.title
        self.subject = case.subject or ""
        self.title = f"{site.title}关于{self.subject}的信访事项" if self.subject else self.number
        self.petitioners = C.petitioner_names(site, case)
        self.channel = C.channel_title(case)
        self.district = case.district or ""
        self.first, self.last = C.case_dates(case)
        self.retention = C.retention_title(case)
        self.retention_code = case.retention or ""
        self.retention_due = case.retention_due
        self.compiled_by = case.compiled_by or ""
        self.checked_by = case.checked_by or ""
        self.archived_at = case.archived_at
        self.date = C.dossier_date(case)
        self.status = case.status_title

    @property
    def stamp_label(self):
        return f"档号 {self.ref}" if not self.reading_copy else f"{self.number} 阅卷副本"


CONTENTS_PADDING = 2.5
# at most, per row of the 卷内目录. A PDF original is bound as it is, with no header page of
# its own, so this is the only place its 文号 and 责任者 are printed: a value within the
# filing limit (100 characters, casefiles.intake.DOCUMENT_REF_LIMIT) always fits in full
CONTENTS_LINES = {"ref": 16, "author": 16, "title": 8, "remark": 6}


def _contents_rows(parts, styles, col):
    room = [c - 2 * CONTENTS_PADDING for c in col]
    cell = styles["cell"]
    rows = [[_p(h, styles["head"]) for h in ("序号", "文号", "责任者", "题名", "日期", "页号", "备注")]]
    for i, part in enumerate(parts):
        e = part.entry
        if i == len(parts) - 1 and part.count > 1:
            pages = f"{part.start}-{part.start + part.count - 1}"
        else:
            pages = str(part.start)
        rows.append([
            _p(str(e.seq), styles["cellc"]), _fit(e.document.ref, cell, room[1], CONTENTS_LINES["ref"]),
            _fit(e.author, cell, room[2], CONTENTS_LINES["author"]),
            _fit(e.document.title, cell, room[3], CONTENTS_LINES["title"]),
            _p(C.date_text(e.document.filed_at), styles["cellc"]),
            _p(pages, styles["cellc"]), _fit(_remark(part), cell, room[6], CONTENTS_LINES["remark"]),
        ])
    return rows


def _remark(part):
    notes = []
    if part.mode == "image":
        notes.append(f"扫描件{len(part.frames)}幅")
    elif part.mode == "other":
        notes.append("原件见封装包")
    elif part.mode == "missing":
        notes.append("原件无法呈现")
    if part.fonts_not_embedded:
        notes.append("原件字体未嵌入")
    versions = len(part.entry.document.versions)
    if versions > 1:
        notes.append(f"第{part.entry.version.number}版")
    return "；".join(notes)


HEADER_PADDING = 6
HEADER_LINES = {"title": 6, "ref": 4, "author": 4, "original": 3}   # at most, in the header of a document


def _doc_header(part, styles, width):
    """The table at the head of a document's pages (and, below it, any value it shortened)."""
    from reportlab.lib import colors
    from reportlab.platypus import Spacer, Table, TableStyle
    e = part.entry
    d = e.document
    v = e.version
    label = styles["cell"]
    col = [14 * MM, (width - 28 * MM) / 2, 14 * MM, (width - 28 * MM) / 2]
    room, wide = col[1] - 2 * HEADER_PADDING, width - col[0] - 2 * HEADER_PADDING
    original = f"{v.filename}（第{v.number}版，{_size_text(v.size)}）"
    values = [("题名", d.title, styles["doc"], wide, HEADER_LINES["title"]),
              ("文号", d.ref, label, room, HEADER_LINES["ref"]),
              ("责任者", e.author, label, room, HEADER_LINES["author"]),
              ("原件", original, label, room, HEADER_LINES["original"])]
    shown = {name: _short(value, style, w, lines) for name, value, style, w, lines in values}
    rows = [
        [_p("序号", label), _p(str(e.seq), label), _p("类别", label),
         _fit(f"{d.kind_title}（{e.folder_title}）", label, room, 2)],
        [_p("题名", label), _p(shown["题名"], styles["doc"]), "", ""],
        [_p("文号", label), _p(shown["文号"], label), _p("责任者", label), _p(shown["责任者"], label)],
        [_p("日期", label), _p(C.long_date(d.filed_at), label), _p("原件", label), _p(shown["原件"], label)],
    ]
    table = Table(rows, colWidths=col)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("SPAN", (1, 1), (3, 1)),
        ("BOX", (0, 0), (-1, -1), 0.8, colors.black),
        ("INNERGRID", (0, 0), (-1, -1), 0.3, colors.grey),
        ("BACKGROUND", (0, 0), (0, -1), colors.Color(0.94, 0.94, 0.94)),
        ("BACKGROUND", (2, 0), (2, 0), colors.Color(0.94, 0.94, 0.94)),
        ("BACKGROUND", (2, 2), (2, 3), colors.Color(0.94, 0.94, 0.94)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), HEADER_PADDING), ("RIGHTPADDING", (0, 0), (-1, -1), HEADER_PADDING),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    out = [table]
    # a value shortened in the header is printed in full below it, as text that runs on
    for name, value, _style, _w, _lines in values:
        if shown[name] != _flat(value):
            out.append(Spacer(1, 4))
            out.extend(_text_flowables(f"{name}（全文）：{value}", styles, styles["small"]))
    return out


def _size_text(size):
    if size >= 1048576:
        return f"{size / 1048576:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


TEXT_PIECE = 800    # characters: a longer line is typeset as several paragraphs
SENTENCE_ENDS = "。！？；…”」.!?;"


def _pieces(line, size=TEXT_PIECE):
    """A long line in pieces of at most ``size`` characters, each cut after the end of a
    sentence where there is one in its second half. ReportLab lays out and splits one
    paragraph in time that grows with the square of its length (a 400,000-character line
    took 85 s); pieces of a few hundred characters keep it linear."""
    while len(line) > size:
        cut = max(line.rfind(ch, size // 2, size) for ch in SENTENCE_ENDS) + 1
        cut = cut if cut > 0 else size
        yield line[:cut]
        line = line[cut:]
    yield line


def _text_flowables(text, styles, style=None):
    from reportlab.platypus import Spacer
    style = style or styles["body"]
    out = []
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS] + "\n……（以下从略，全文见封装包中的原件）"
    for line in text.split("\n"):
        if line.strip():
            out.extend(_p(piece, style) for piece in _pieces(line))
        else:
            out.append(Spacer(1, 8))
    return out


def _section(part, styles, width, height):
    from reportlab.platypus import Spacer
    e = part.entry
    if part.mode == "image":
        out = []
        n = len(part.frames)
        from reportlab.pdfbase.pdfmetrics import stringWidth
        for i, (load, size) in enumerate(zip(part.frames, part.frame_sizes)):
            head = f"{e.seq}. {e.document.kind_title}："
            tail = f"（第{i + 1}幅，共{n}幅）" if n > 1 else ""
            title = _clip_width(e.document.title, 9, width - stringWidth(head + tail, FONT, 9))  # one line
            out.append(ScanPage(load, size, head + title + tail, width, height - 2))
        return out
    out = _doc_header(part, styles, width) + [Spacer(1, 12)]
    if part.mode == "text":
        out.extend(_text_flowables(part.text, styles))
    else:
        v = e.version
        if part.mode == "other":
            note = (f"此件原件为 {v.media_type} 格式（{v.filename}），卷内不能直接呈现；原件按原样保存在归档封装包中"
                    f"（{e.original_path()}，SHA-256：{v.sha256}）。")
        else:
            note = (f"此件原件（{v.media_type}，{v.filename}）无法在卷内呈现：{part.reason}。原件按原样保存在归档封装包中"
                    f"（{e.original_path()}，SHA-256：{v.sha256}）。")
        out.extend(_text_flowables(note, styles, styles["small"]))   # the file name may be long
        if part.text:
            out.append(Spacer(1, 10))
            out.append(_p("文本内容：", styles["label"]))
            out.extend(_text_flowables(part.text, styles))
    return out


def _clip(text, n):
    return text if len(text) <= n else text[: n - 1] + "…"


COVER_LINES = {"案卷题名": 4, "信访人": 3}   # every other value of the cover: one line


def _cover(facts, styles, width, total, documents):
    from reportlab.lib import colors
    from reportlab.platypus import Spacer, Table, TableStyle
    # the cover is one page: every value has a fixed number of lines (COVER_LINES)
    out = [Spacer(1, 30 * MM), _fit(facts.fonds, styles["fonds"], width, 2), Spacer(1, 10 * MM),
           _p("信访事项结案卷宗" if not facts.reading_copy else "信访事项阅卷副本", styles["cover"]),
           Spacer(1, 4 * MM)]
    if facts.reading_copy:
        out.append(_fit(f"（{facts.status}，尚未归档；仅供阅卷）", styles["centered"], width, 1))
    out.append(Spacer(1, 14 * MM))
    first = C.long_date(facts.first)
    last = C.long_date(facts.last)
    names = facts.petitioners
    petitioners = "、".join(names[:20]) + (f"等 {len(names)} 人" if len(names) > 20 else "") or "—"
    rows = [
        ("档号", facts.ref or "（未归档）"),
        ("案卷题名", facts.title),
        ("信访件编号", facts.number),
        ("信访人", petitioners),
        ("信访形式", facts.channel),
        ("问题属地", facts.district or "—"),
        ("起止日期", f"{first} 至 {last}" if first else "—"),
        ("保管期限", facts.retention or "—"),
        ("卷内文件", f"共 {documents} 件 {total} 页"),
        ("立卷人", facts.compiled_by or "—"),
        ("检查人", facts.checked_by or "—"),
        ("归档日期", C.long_date(facts.archived_at) or "—"),
    ]
    room = width - 50 * MM - 12
    table = Table([[_p(k, styles["label"]), _fit(v, styles["value"], room, COVER_LINES.get(k, 1))] for k, v in rows],
                  colWidths=[30 * MM, width - 50 * MM])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("LINEBELOW", (1, 0), (1, -1), 0.4, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ("TOPPADDING", (0, 0), (-1, -1), 5), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]))
    out.append(table)
    return out


def _contents(parts, styles, width):
    from reportlab.lib import colors
    from reportlab.platypus import Spacer, Table, TableStyle
    out = [_p("卷 内 目 录", styles["title"]), Spacer(1, 6 * MM)]
    col = [11 * MM, 24 * MM, 26 * MM, None, 19 * MM, 18 * MM, 20 * MM]
    col[3] = width - sum(c for c in col if c)
    table = Table(_contents_rows(parts, styles, col), colWidths=col, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.92, 0.92, 0.92)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("LEFTPADDING", (0, 0), (-1, -1), CONTENTS_PADDING), ("RIGHTPADDING", (0, 0), (-1, -1), CONTENTS_PADDING),
    ]))
    out.append(table)
    return out


def _grouped(pairs):
    """[(key, [seq, ...])] in the order the keys first appear."""
    groups = {}
    for key, seq in pairs:
        groups.setdefault(key, []).append(seq)
    return list(groups.items())


def _seq_list(seqs, limit=60):
    text = "、".join(str(s) for s in seqs[:limit])
    return text + (f" 等 {len(seqs)} 件" if len(seqs) > limit else "")


def _notes(facts, parts, styles, width, total):
    from reportlab.lib import colors
    from reportlab.platypus import Spacer, Table, TableStyle
    pdfs = [p for p in parts if p.mode == "pdf"]
    images = [p for p in parts if p.mode == "image"]
    texts = [p for p in parts if p.mode == "text"]
    others = [p for p in parts if p.mode == "other"]
    missing = [p for p in parts if p.mode == "missing"]
    lines = [
        f"本卷共有文件 {len(parts)} 件，共 {total} 页（含封面、卷内目录和本表）。",
        f"其中：PDF 原件 {len(pdfs)} 件 {sum(p.pages for p in pdfs)} 页，按原样装订；扫描图像 {len(images)} 件 "
        f"{sum(len(p.frames) for p in images)} 幅，每幅一页；文本 {len(texts)} 件，排版呈现；其他格式 {len(others)} 件，"
        "卷内为说明页。",
    ]
    for reason, seqs in _grouped((p.reason, p.entry.seq) for p in missing):
        lines.append(f"第 {_seq_list(seqs)} 号文件的原件无法在卷内呈现（{reason}），原件保存在归档封装包中。")
    room = width - 12
    for fonts, seqs in _grouped(("、".join(p.fonts_not_embedded), p.entry.seq) for p in parts if p.fonts_not_embedded):
        fonts = _short(fonts, styles["body"], room, 3)   # font names come from the originals: any length
        lines.append(f"第 {_seq_list(seqs)} 号文件的 PDF 原件使用了未嵌入的字体（{fonts}），按原样装订，"
                     "显示效果取决于阅读软件。")
    multi = [p for p in parts if len(p.entry.document.versions) > 1]
    if multi:
        lines.append(f"第 {_seq_list([p.entry.seq for p in multi])} 号文件有多个版本：卷内为最新版本，历次版本均保存在"
                     "归档封装包中。")
    lines.append(f"卷内全部电子文件（含历次版本）的 SHA-256 校验值清单作为附件 {C.MANIFEST_NAME} 嵌入本卷，"
                 "与归档封装包的清单一致。")
    if facts.reading_copy:
        lines.append("本件为尚未归档案件的阅卷副本，不作为归档卷宗。")
    # one row per line, so that a long explanation runs on to the next page
    rows = [[_p("本卷情况说明", styles["label"]), ""]] + [[_fit(line, styles["body"], room, 12), ""] for line in lines]
    explained = len(rows)
    half = width / 2 - 12
    rows += [
        [_fit(f"立卷人：{facts.compiled_by or '—'}", styles["value"], half, 2),
         _fit(f"检查人：{facts.checked_by or '—'}", styles["value"], half, 2)],
        [_p(f"立卷时间：{C.long_date(facts.archived_at) or '—'}", styles["value"]),
         _p(f"检查时间：{C.long_date(facts.archived_at) or '—'}", styles["value"])],
    ]
    table = Table(rows, colWidths=[width / 2, width / 2])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        *[("SPAN", (0, i), (1, i)) for i in range(explained)],
        ("BOX", (0, 0), (-1, -1), 0.8, colors.black),
        ("LINEBELOW", (0, explained - 1), (1, explained - 1), 0.4, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, explained), (-1, -1), 8), ("BOTTOMPADDING", (0, explained), (-1, -1), 8),
    ]))
    return [_p("备 考 表", styles["title"]), Spacer(1, 8 * MM), table]


class Layout:
    """Where everything lands in the dossier (pages numbered from 1)."""

    def __init__(self, parts, contents_pages, notes_pages):
        self.contents_pages = contents_pages
        self.notes_pages = notes_pages
        page = 1 + contents_pages
        self.starts = {"cover": 1, "contents": 2}
        for part in parts:
            part.start = page + 1
            self.starts[("doc", part.entry.seq)] = part.start
            page += part.count
        self.starts["notes"] = page + 1
        self.total = page + notes_pages


def _frame_doc(out, facts):
    from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate
    width = PAGE[0] - MARGIN_LEFT - MARGIN_RIGHT
    height = PAGE[1] - MARGIN_TOP - MARGIN_BOTTOM
    doc = BaseDocTemplate(out, pagesize=PAGE, leftMargin=MARGIN_LEFT, rightMargin=MARGIN_RIGHT,
                          topMargin=MARGIN_TOP, bottomMargin=MARGIN_BOTTOM, invariant=1, pageCompression=1,
                          title=facts.title, author=facts.fonds, creator="casefiles", producer="casefiles",
                          subject=facts.subject, initialFontName=FONT)
    frame = Frame(MARGIN_LEFT, MARGIN_BOTTOM, width, height, leftPadding=0, rightPadding=0, topPadding=0,
                  bottomPadding=0, id="body")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame])])
    return doc, width, height


def _render_body(facts, parts):
    """Typeset every document that is not an original PDF, each from a new page, in one
    ReportLab document. Returns (bytes or None, page count of each such part's seq)."""
    from reportlab.platypus import PageBreak
    framed = [p for p in parts if p.frame_section]
    if not framed:
        return None, {}
    styles = _styles()
    out = io.BytesIO()
    doc, width, height = _frame_doc(out, facts)
    anchors = {}
    story = []
    for part in framed:
        if story:
            story.append(PageBreak())
        story.append(Anchor(part.entry.seq, anchors))
        story += _section(part, styles, width, height)
    doc.build(story)
    total = doc.canv.getPageNumber() - 1
    counts = {}
    for i, part in enumerate(framed):
        end = anchors[framed[i + 1].entry.seq] if i + 1 < len(framed) else total + 1
        counts[part.entry.seq] = max(end - anchors[part.entry.seq], 1)
    return out.getvalue(), counts


def _render_front(facts, parts, layout):
    """The cover, the 卷内目录 and the 备考表, which print page numbers, typeset once the
    documents' pages are known. Returns (bytes, contents pages, notes pages)."""
    from reportlab.platypus import PageBreak
    styles = _styles()
    out = io.BytesIO()
    doc, width, height = _frame_doc(out, facts)
    anchors = {}
    story = [Anchor("cover", anchors)]
    story += _cover(facts, styles, width, layout.total, len(parts))
    story += [PageBreak(), Anchor("contents", anchors)]
    story += _contents(parts, styles, width)
    story += [PageBreak(), Anchor("notes", anchors)]
    story += _notes(facts, parts, styles, width, layout.total)
    doc.build(story)
    total = doc.canv.getPageNumber() - 1
    return out.getvalue(), anchors["notes"] - anchors["contents"], total - anchors["notes"] + 1


def _page_sizes(parts, layout):
    """The displayed size of every page of the dossier, in order."""
    sizes = [PAGE] * (1 + layout.contents_pages)
    for part in parts:
        if part.mode == "pdf":
            for llx, lly, w, h, rotation in part.geometry:
                sizes.append((w, h) if rotation in (0, 180) else (h, w))
        else:
            sizes.extend([PAGE] * part.count)
    sizes.extend([PAGE] * layout.notes_pages)
    return sizes


def _render_stamps(facts, sizes):
    """One page per dossier page, the size it is shown at, with nothing but its stamp."""
    from reportlab.pdfgen import canvas
    out = io.BytesIO()
    canv = canvas.Canvas(out, pagesize=PAGE, invariant=1, pageCompression=1, initialFontName=FONT)
    total = len(sizes)
    for page, (w, h) in enumerate(sizes, start=1):
        canv.setPageSize((w, h))
        draw_stamp(canv, w, h, facts.stamp_label, page, total)
        canv.showPage()
    canv.save()
    return out.getvalue()


# Assembly ------------------------------------------------------------------------------

class BadOriginal(Exception):
    def __init__(self, index, exc):
        super().__init__(str(exc))
        self.index = index
        self.exc = exc


def _num(value):
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def _stamp_matrix(llx, lly, w, h, rotation):
    """The matrix that maps the displayed page (stamp space) into the page's user space."""
    if rotation == 90:
        return (0, 1, -1, 0, llx + w, lly)
    if rotation == 180:
        return (-1, 0, 0, -1, llx + w, lly + h)
    if rotation == 270:
        return (0, -1, 1, 0, llx, lly + h)
    return (1, 0, 0, 1, llx, lly)


def _stamp_form(writer, stamp_page, width, height, resources):
    """The stamp page as a form XObject: its encoded content stream reused as it is, its
    resources (the same font for every stamp) cloned once and shared."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, FloatObject, NameObject, StreamObject
    contents = stamp_page["/Contents"].get_object()
    if isinstance(contents, StreamObject) and "/Filter" in contents and getattr(contents, "_data", None):
        form = StreamObject()
        form._data = contents._data
        form[NameObject("/Filter")] = contents["/Filter"].clone(writer)
        if "/DecodeParms" in contents:
            form[NameObject("/DecodeParms")] = contents["/DecodeParms"].clone(writer)
    else:
        form = DecodedStreamObject()
        form.set_data(stamp_page.get_contents().get_data())
    form[NameObject("/Type")] = NameObject("/XObject")
    form[NameObject("/Subtype")] = NameObject("/Form")
    form[NameObject("/BBox")] = ArrayObject([FloatObject(0), FloatObject(0), FloatObject(_num(width)),
                                             FloatObject(_num(height))])
    key = id(stamp_page["/Resources"].get_object())
    shared = resources.get(key)
    if shared is None:
        shared = resources[key] = writer._add_object(stamp_page["/Resources"].get_object().clone(writer))
    form[NameObject("/Resources")] = shared
    return writer._add_object(form)


def _overlay(writer, page, form_ref, matrix, open_ref):
    """Draw the form over the page: the original content is wrapped in q … Q, untouched."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, IndirectObject, NameObject
    resources = page.get("/Resources")
    resources = resources.get_object() if resources is not None else DictionaryObject()
    new_resources = DictionaryObject()
    new_resources.update(resources)
    xobjects = resources.get("/XObject")
    xobjects = xobjects.get_object() if xobjects is not None else DictionaryObject()
    new_xobjects = DictionaryObject()
    new_xobjects.update(xobjects)
    name = "/CasefilesStamp"
    while name in new_xobjects:
        name += "X"
    new_xobjects[NameObject(name)] = form_ref
    new_resources[NameObject("/XObject")] = new_xobjects
    page[NameObject("/Resources")] = new_resources

    tail = DecodedStreamObject()
    tail.set_data(("Q q " + " ".join(_num(v) for v in matrix) + f" cm {name} Do Q\n").encode("ascii"))
    streams = ArrayObject([open_ref])
    current = page.get("/Contents")
    if current is not None:
        resolved = current.get_object()
        if isinstance(resolved, ArrayObject):
            streams.extend(resolved)
        elif isinstance(current, IndirectObject):
            streams.append(current)
        else:
            streams.append(writer._add_object(resolved))
    streams.append(writer._add_object(tail))
    page[NameObject("/Contents")] = streams


METADATA_CHARS = 1000   # of a stored value in the document information and XMP (one line, no control characters)


def _assemble(facts, parts, layout, body_bytes, front_bytes, stamp_bytes, manifest, path=None):
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DecodedStreamObject
    front = PdfReader(io.BytesIO(front_bytes))
    body = PdfReader(io.BytesIO(body_bytes)) if body_bytes else None
    stamps = PdfReader(io.BytesIO(stamp_bytes))
    writer = PdfWriter()
    opener = DecodedStreamObject()
    opener.set_data(b"q\n")
    open_ref = writer._add_object(opener)
    state = {"page": 0}
    resources = {}

    def add(page, geometry=None):
        added = writer.add_page(page)
        if geometry is None:
            llx, lly, w, h, rotation = 0.0, 0.0, PAGE[0], PAGE[1], 0
            box = added.mediabox
            llx, lly, w, h = float(box.left), float(box.bottom), float(box.width), float(box.height)
        else:
            llx, lly, w, h, rotation = geometry
        dw, dh = (w, h) if rotation in (0, 180) else (h, w)
        form = _stamp_form(writer, stamps.pages[state["page"]], dw, dh, resources)
        _overlay(writer, added, form, _stamp_matrix(llx, lly, w, h, rotation), open_ref)
        state["page"] += 1

    for i in range(1 + layout.contents_pages):
        add(front.pages[i])
    next_body = 0
    for index, part in enumerate(parts):
        if part.mode == "pdf":
            try:
                for i, page in enumerate(part.reader.pages):
                    add(page, part.geometry[i])
            except Exception as exc:  # a broken original found while copying
                raise BadOriginal(index, exc) from exc
        else:
            for _i in range(part.count):
                add(body.pages[next_body])
                next_body += 1
    for i in range(layout.notes_pages):
        add(front.pages[1 + layout.contents_pages + i])
    _outline(writer, facts, parts, layout)
    writer.page_mode = "/UseOutlines"
    seed = "\n".join([facts.number, facts.ref, str(layout.total), manifest]).encode("utf-8")
    pdfa.finish(writer, title=_flat(f"{facts.ref or facts.number} {facts.title}")[:METADATA_CHARS],
                author=_flat(facts.fonds)[:METADATA_CHARS], subject=_flat(facts.subject)[:METADATA_CHARS],
                keywords="；".join(filter(None, [facts.ref, facts.number, facts.retention])),
                created=facts.date, modified=facts.date, identifier=facts.ref or facts.number, seed=seed,
                attachments=[(C.MANIFEST_NAME, manifest.encode("utf-8"), "text/plain",
                              "卷内电子文件 SHA-256 校验值清单（与归档封装包清单一致）", "Data")])
    if path is not None:  # straight to the file: the originals' bytes are not held twice
        with open(path, "wb") as out:
            writer.write(out)
        return None
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _outline(writer, facts, parts, layout):
    writer.add_outline_item("封面", layout.starts["cover"] - 1)
    writer.add_outline_item("卷内目录", layout.starts["contents"] - 1)
    for folder, title in _folders_in_order():
        members = [p for p in parts if p.entry.folder == folder]
        if not members:
            continue
        parent = writer.add_outline_item(f"{title}（{len(members)}件）", members[0].start - 1)
        for part in members:
            writer.add_outline_item(_clip(f"{part.entry.seq}. {_flat(part.entry.document.title)}", 80), part.start - 1,
                                    parent=parent)
    writer.add_outline_item("备考表", layout.starts["notes"] - 1)


def _folders_in_order():
    titles = dict(STAGES)
    return [(name, titles[name]) for name in C.ARCHIVAL_ORDER]


# The public entry points ---------------------------------------------------------------

class Dossier:
    """A built dossier: its bytes (in memory or in the file it was written to) and where
    everything is in it."""

    def __init__(self, data, total, documents, manifest, path=None):
        self._data = data
        self.path = path
        self.total = total
        self.documents = documents  # list of dicts: seq, id, folder, title, start, pages, mode
        self.manifest = manifest
        self._digest = None

    @property
    def data(self):
        if self._data is None:
            with open(self.path, "rb") as f:
                return f.read()
        return self._data

    @property
    def size(self):
        return len(self._data) if self._data is not None else os.path.getsize(self.path)

    @property
    def sha256(self):
        if self._digest is None:
            if self._data is not None:
                self._digest = hashlib.sha256(self._data).hexdigest()
            else:
                digest = hashlib.sha256()
                with open(self.path, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        digest.update(chunk)
                self._digest = digest.hexdigest()
        return self._digest


def build(site, case, path=None):
    """Build the dossier of ``case``: a Dossier (bytes, page count, where each document starts).

    With ``path`` the PDF is written to that file (and read from it only when asked for), so
    a case of many scans is not held in memory twice. Raises FontMissing when no CJK
    TrueType font can be found.
    """
    cjk_font()
    facts = Facts(site, case)
    items = C.entries(case)
    for entry in items:
        entry.author = C.author(site, case, entry)
    manifest = C.manifest_text(items)
    with contextlib.ExitStack() as stack:
        parts = [_prepare(stack, entry) for entry in items]
        for _attempt in range(len(parts) + 1):
            try:
                return _build(facts, parts, manifest, path)
            except BadOriginal as bad:
                _missing(parts[bad.index], bad.exc)
        raise RuntimeError("dossier could not be assembled")


def _build(facts, parts, manifest, path=None):
    body_bytes, counts = _render_body(facts, parts)
    for part in parts:
        part.count = part.pages if part.mode == "pdf" else counts[part.entry.seq]
    # a good guess saves typesetting the front twice; a wrong one is corrected below
    contents_pages, notes_pages = max(1, -(-(len(parts) + 1) // 22)), 1
    for _pass in range(5):
        layout = Layout(parts, contents_pages, notes_pages)
        front_bytes, contents_pages, notes_pages = _render_front(facts, parts, layout)
        if (contents_pages, notes_pages) == (layout.contents_pages, layout.notes_pages):
            break
    else:
        raise RuntimeError("the table of contents does not settle")
    stamp_bytes = _render_stamps(facts, _page_sizes(parts, layout))
    data = _assemble(facts, parts, layout, body_bytes, front_bytes, stamp_bytes, manifest, path)
    documents = [{"seq": p.entry.seq, "id": p.entry.id, "folder": p.entry.folder, "title": p.entry.document.title,
                  "start": p.start, "pages": p.count, "mode": p.mode} for p in parts]
    return Dossier(data, layout.total, documents, manifest, path)


def build_dossier(site, case):
    """The dossier's bytes."""
    return build(site, case).data


def embedded_manifest(data_or_file):
    """The SHA-256 manifest attached to a dossier (text), or None."""
    from pypdf import PdfReader
    source = io.BytesIO(data_or_file) if isinstance(data_or_file, (bytes, bytearray)) else data_or_file
    reader = PdfReader(source, strict=False)
    found = reader.attachments.get(C.MANIFEST_NAME)
    if not found:
        return None
    return found[0].decode("utf-8")
