"""The PDF/A-3 parts of a dossier (GB/T 23286, ISO 19005-3), added with pypdf after the
pages are assembled: an sRGB output intent, XMP metadata that matches the document
information, associated files (the SHA-256 manifest of the originals) and fixed file
identifiers, so that the same case always gives the same bytes.

The sRGB ICC profile is built here (ICC v2 matrix/TRC display profile with the
IEC 61966-2.1 primaries and tone curve), so no binary profile needs to be installed.
"""
import hashlib
import struct
from xml.sax.saxutils import escape

from pypdf.generic import (ArrayObject, ByteStringObject, DecodedStreamObject, DictionaryObject, NameObject,
                           NumberObject, TextStringObject, create_string_object)

ICC_DESCRIPTION = "sRGB IEC61966-2.1"
PDFA_PART = 3
PDFA_CONFORMANCE = "B"


def _s15(value):
    return struct.pack(">i", int(round(value * 65536)))


def _xyz(x, y, z):
    return b"XYZ " + b"\0" * 4 + _s15(x) + _s15(y) + _s15(z)


def _srgb_curve(points=1024):
    out = []
    for i in range(points):
        v = i / (points - 1)
        linear = v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
        out.append(int(round(linear * 65535)))
    return b"curv" + b"\0" * 4 + struct.pack(">I", points) + struct.pack(f">{points}H", *out)


def _desc(text):
    ascii_text = text.encode("ascii") + b"\0"
    return (b"desc" + b"\0" * 4 + struct.pack(">I", len(ascii_text)) + ascii_text
            + struct.pack(">II", 0, 0) + struct.pack(">HB", 0, 0) + b"\0" * 67)


def _text(text):
    return b"text" + b"\0" * 4 + text.encode("ascii") + b"\0"


def srgb_icc_profile():
    """An ICC v2.1 sRGB display profile (deterministic bytes)."""
    curve = _srgb_curve()
    tags = [
        (b"desc", _desc(ICC_DESCRIPTION)),
        (b"cprt", _text("No copyright, use freely")),
        (b"wtpt", _xyz(0.9505, 1.0, 1.0891)),
        (b"rXYZ", _xyz(0.4361, 0.2225, 0.0139)),
        (b"gXYZ", _xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", _xyz(0.1431, 0.0606, 0.7141)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table = struct.pack(">I", len(tags))
    data = b""
    placed = {}
    for sig, body in tags:
        if body in placed:  # the three tone curves share one data block
            table += sig + struct.pack(">II", *placed[body])
            continue
        while (offset + len(data)) % 4:
            data += b"\0"
        start = offset + len(data)
        placed[body] = (start, len(body))
        table += sig + struct.pack(">II", start, len(body))
        data += body
    while len(data) % 4:
        data += b"\0"
    size = 128 + len(table) + len(data)
    header = (struct.pack(">I", size) + b"\0" * 4 + bytes([2, 0x10, 0, 0]) + b"mntr" + b"RGB " + b"XYZ "
              + struct.pack(">6H", 1998, 2, 9, 6, 49, 0) + b"acsp" + b"\0" * 4 + struct.pack(">I", 0)
              + b"\0" * 4 + b"\0" * 4 + b"\0" * 8 + struct.pack(">I", 0)
              + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"\0" * 4)
    header += b"\0" * (128 - len(header))
    return header + table + data


def pdf_date(value):
    """D:YYYYMMDDHHmmSS+08'00' (the bureau's local time)."""
    return "D:" + value.strftime("%Y%m%d%H%M%S") + "+08'00'"


def xmp_date(value):
    return value.strftime("%Y-%m-%dT%H:%M:%S") + "+08:00"


def xmp_packet(title, author, subject, keywords, creator_tool, producer, created, modified, identifier,
               document_id, language="zh-CN"):
    """The XMP metadata packet: Dublin Core, XMP basic, Adobe PDF, media management and the
    PDF/A identification (part 3, conformance B)."""
    e = escape
    uuid = document_id
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <pdfaid:part>{PDFA_PART}</pdfaid:part>
   <pdfaid:conformance>{PDFA_CONFORMANCE}</pdfaid:conformance>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{e(title)}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{e(author)}</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{e(subject)}</rdf:li></rdf:Alt></dc:description>
   <dc:identifier>{e(identifier)}</dc:identifier>
   <dc:language><rdf:Bag><rdf:li>{e(language)}</rdf:li></rdf:Bag></dc:language>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <xmp:CreateDate>{xmp_date(created)}</xmp:CreateDate>
   <xmp:ModifyDate>{xmp_date(modified)}</xmp:ModifyDate>
   <xmp:MetadataDate>{xmp_date(modified)}</xmp:MetadataDate>
   <xmp:CreatorTool>{e(creator_tool)}</xmp:CreatorTool>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdf:Producer>{e(producer)}</pdf:Producer>
   <pdf:Keywords>{e(keywords)}</pdf:Keywords>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/">
   <xmpMM:DocumentID>uuid:{uuid}</xmpMM:DocumentID>
   <xmpMM:InstanceID>uuid:{uuid}</xmpMM:InstanceID>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>""".encode("utf-8")


def _uuid_from(digest):
    h = digest[:32]
    return f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def finish(writer, *, title, author, subject, keywords, created, modified, identifier, seed, attachments=(),
           creator_tool="casefiles 信访案卷系统", producer="casefiles (ReportLab, pypdf)"):
    """Make the assembled writer a PDF/A-3B candidate with deterministic bytes.

    ``seed`` (bytes) fixes the file identifiers; ``attachments`` are (name, data, mime,
    description, relationship) tuples embedded as associated files of the document.
    """
    writer.pdf_header = "%PDF-1.7"
    root = writer.root_object
    digest = hashlib.sha256(seed).hexdigest()

    # document information, matching the XMP below
    info = {
        "/Title": title, "/Author": author, "/Subject": subject, "/Keywords": keywords,
        "/Creator": creator_tool, "/Producer": producer,
        "/CreationDate": pdf_date(created), "/ModDate": pdf_date(modified),
    }
    writer.add_metadata(info)

    metadata = DecodedStreamObject()
    metadata.set_data(xmp_packet(title, author, subject, keywords, creator_tool, producer, created, modified,
                                 identifier, _uuid_from(digest)))
    metadata[NameObject("/Type")] = NameObject("/Metadata")
    metadata[NameObject("/Subtype")] = NameObject("/XML")
    root[NameObject("/Metadata")] = writer._add_object(metadata)

    icc = DecodedStreamObject()
    icc.set_data(srgb_icc_profile())
    icc[NameObject("/N")] = NumberObject(3)
    icc = icc.flate_encode()
    intent = DictionaryObject({
        NameObject("/Type"): NameObject("/OutputIntent"),
        NameObject("/S"): NameObject("/GTS_PDFA1"),
        NameObject("/OutputConditionIdentifier"): TextStringObject(ICC_DESCRIPTION),
        NameObject("/RegistryName"): TextStringObject("http://www.color.org"),
        NameObject("/Info"): TextStringObject(ICC_DESCRIPTION),
        NameObject("/DestOutputProfile"): writer._add_object(icc),
    })
    root[NameObject("/OutputIntents")] = ArrayObject([writer._add_object(intent)])
    root[NameObject("/Lang")] = TextStringObject("zh-CN")
    root[NameObject("/MarkInfo")] = DictionaryObject({NameObject("/Marked"): _false()})
    root[NameObject("/ViewerPreferences")] = DictionaryObject({NameObject("/DisplayDocTitle"): _true()})

    associated = ArrayObject()
    for name, data, mime, description, relationship in attachments:
        embedded = writer.add_attachment(name, data)
        spec = embedded.pdf_object
        spec[NameObject("/UF")] = create_string_object(name)
        spec[NameObject("/Desc")] = create_string_object(description)
        spec[NameObject("/AFRelationship")] = NameObject("/" + relationship)
        stream = spec["/EF"]["/F"].get_object()
        stream[NameObject("/Subtype")] = NameObject("/" + mime)  # written as /text#2Fplain
        stream[NameObject("/Params")] = DictionaryObject({
            NameObject("/Size"): NumberObject(len(data)),
            NameObject("/ModDate"): TextStringObject(pdf_date(modified)),
            NameObject("/CheckSum"): ByteStringObject(hashlib.md5(data).digest()),
        })
        associated.append(spec.indirect_reference)
    if associated:
        root[NameObject("/AF")] = associated

    file_id = ByteStringObject(bytes.fromhex(digest[:32]))
    writer._ID = ArrayObject([file_id, file_id])


def _true():
    from pypdf.generic import BooleanObject
    return BooleanObject(True)


def _false():
    from pypdf.generic import BooleanObject
    return BooleanObject(False)
