"""The workflow's documents as PDFs in the official-document layout (党政机关公文格式).

``render(kind, case, fields) -> bytes`` is what the web layer hands to the workflow
(``casefiles.workflow.perform``): the workflow composes the words (``fields``: org, ref,
title, addressee, paragraphs, table, signer, date, number, cc) and this module lays them
out: the red head (红头: the issuing organ in red over a red rule), the document number
(文号), the title, the addressee, the body with two-character indents, the signature
(落款) and date, page numbers "— 1 —". The Chinese font is embedded (a TrueType font found
at run time, WenQuanYi Zen Hei by default); the output is deterministic: the same fields
give the same bytes. Rendering reads nothing from and writes nothing to the database.
"""
import glob
import io
import os
import subprocess
import threading
from xml.sax.saxutils import escape

from casefiles.errors import DomainError
from casefiles.i18n import _

FONT_NAME = "CasefilesCJK"
FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/ukai.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)
RED = "#c8161d"
_lock = threading.Lock()
_font = {}


class FontUnavailable(DomainError):
    """No TrueType font with Chinese glyphs is installed, so no document can be written."""

    status = 503
    code = "no_font"


def _candidates(configured=None):
    configured = configured or os.environ.get("CASEFILES_FONT")
    if configured:
        path, _sep, index = configured.partition(":")
        yield path, int(index or 0)
    yield from FONT_CANDIDATES
    try:
        listed = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        listed = ""
    for line in sorted(listed.splitlines()):
        path = line.split(":")[0].strip()
        if path.lower().endswith((".ttf", ".ttc")):
            yield path, 0
    for path in sorted(glob.glob("/usr/share/fonts/**/*.tt[fc]", recursive=True)):
        if any(word in path.lower() for word in ("wqy", "cjk", "song", "hei", "kai", "ming", "fang")):
            yield path, 0


def font(configured=None):
    """Register and return the name of an embeddable Chinese font; FontUnavailable if none."""
    with _lock:
        if "name" in _font:
            return _font["name"]
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont
        tried = []
        for path, index in _candidates(configured):
            if not os.path.exists(path) or path in tried:
                continue
            tried.append(path)
            try:
                candidate = TTFont(FONT_NAME, path, subfontIndex=index)
                if not candidate.face.charToGlyph.get(ord("信")):
                    continue
            except Exception:   # CFF outlines, broken files: not usable by ReportLab
                continue
            _cache_tables(candidate.face)
            pdfmetrics.registerFont(candidate)
            _font.update(name=FONT_NAME, path=path, index=index)
            return FONT_NAME
        raise FontUnavailable(_("no_cjk_font", default="No Chinese TrueType font is installed, so the document "
                                "cannot be written as a PDF. Install fonts-wqy-zenhei (or set CASEFILES_FONT to a "
                                ".ttf/.ttc file)."), {"font": ", ".join(tried) or "none"})


def _cache_tables(face):
    """Keep the font's tables once read: ReportLab copies the whole glyph table (megabytes
    for a CJK font) out of the font file for every subset it embeds. The font file's bytes
    never change, so the copies are the same."""
    read = face.get_table
    tables = {}

    def get_table(tag):
        if tag not in tables:
            tables[tag] = read(tag)
        return tables[tag]
    face.get_table = get_table


def _styles(name):
    from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle
    base = dict(fontName=name, wordWrap="CJK")
    return {
        "head": ParagraphStyle("head", fontSize=26, leading=34, alignment=TA_CENTER, textColor=RED, **base),
        "ref": ParagraphStyle("ref", fontSize=14, leading=22, alignment=TA_CENTER, **base),
        "title": ParagraphStyle("title", fontSize=20, leading=30, alignment=TA_CENTER, spaceBefore=10,
                                spaceAfter=14, **base),
        "addressee": ParagraphStyle("addressee", fontSize=15, leading=26, alignment=TA_LEFT, **base),
        "body": ParagraphStyle("body", fontSize=15, leading=26, alignment=TA_LEFT, firstLineIndent=30, **base),
        "cell": ParagraphStyle("cell", fontSize=12, leading=18, **base),
        "sign": ParagraphStyle("sign", fontSize=15, leading=26, alignment=TA_RIGHT, rightIndent=28, **base),
        "cc": ParagraphStyle("cc", fontSize=13, leading=20, **base),
    }


def _p(text, style):
    from reportlab.platypus import Paragraph
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def _cn_date(day):
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def render(kind, case, fields, font_path=None):
    """The PDF of one workflow document (see the module docstring for ``fields``)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import HRFlowable, SimpleDocTemplate, Spacer, Table, TableStyle

    name = font(font_path)
    styles = _styles(name)
    buf = io.BytesIO()
    number = fields.get("number") or getattr(case, "number", "")
    title = fields.get("title") or ""

    def page(canvas, doc):
        canvas.saveState()
        canvas.setFont(name, 11)
        canvas.drawCentredString(A4[0] / 2, 18 * mm, f"— {doc.page} —")
        canvas.setFont(name, 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(28 * mm, 12 * mm, f"信访件编号 {number}")
        canvas.restoreState()

    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=28 * mm, rightMargin=26 * mm, topMargin=30 * mm,
                            bottomMargin=30 * mm, title=title, author=fields.get("signer", ""),
                            subject=f"{number} {kind}", creator="casefiles", producer="casefiles",
                            keywords=number, invariant=1, lang="zh-CN")
    story = [_p(fields.get("org", ""), styles["head"]), Spacer(1, 6)]
    if fields.get("ref"):
        story.append(_p(fields["ref"], styles["ref"]))
    story += [HRFlowable(width="100%", thickness=2, color=colors.HexColor(RED), spaceBefore=4, spaceAfter=12),
              _p(title, styles["title"])]
    if fields.get("addressee"):
        story.append(_p(f"{fields['addressee']}：", styles["addressee"]))
    for paragraph in fields.get("paragraphs", ()):
        story.append(_p(paragraph, styles["body"]))
    rows = fields.get("table") or ()
    if rows:
        data = [[_p(k, styles["cell"]), _p(v, styles["cell"])] for k, v in rows]
        # a row may run on to the next page: a long stored value (a 事由 of old data) is never
        # taller than a page that ReportLab cannot lay out
        table = Table(data, colWidths=[40 * mm, None], hAlign="LEFT", splitInRow=1)
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                                   ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                                   ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f3f3f3"))]))
        story += [Spacer(1, 10), table]
    story += [Spacer(1, 30), _p(fields.get("signer", ""), styles["sign"]),
              _p(_cn_date(fields.get("date")), styles["sign"])]
    if fields.get("cc"):
        story += [Spacer(1, 24), HRFlowable(width="100%", thickness=0.5, color=colors.black, spaceAfter=4),
                  _p(f"抄送：{fields['cc']}", styles["cc"])]
    doc.build(story, onFirstPage=page, onLaterPages=page)
    return buf.getvalue()
