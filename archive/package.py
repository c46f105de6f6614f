"""The archival package of a case (电子文件封装包): a DA/T 48-style XML with the case metadata,
every document and version with its format, size and SHA-256, the case history as business
events and the people who acted; validated against ``archive/data/package.xsd``; and a
BagIt bag (the ``bagit`` library) that holds the XML, the dossier and every original.

Payload of the bag (``data/``)::

    package.xml                      the XML below
    dossier.pdf                      the closing dossier (archive.dossier)
    originals/001-<doc id>-v1.pdf    every version of every document, as filed
    audit/audit.jsonl                the case's audit-trail entries, as stored (casefiles.audit)
    audit/head.json                  the head of the whole chain when the package was made

``read_xml`` turns a package back into the values ``casefiles.archival.restore_case``
needs, for an import into another installation. Nothing here changes the database.
"""
import datetime
import io
import json
import os
import threading
import zipfile

from lxml import etree
from persistent import Persistent

from casefiles.cases import CHANNELS, PETITION_TYPES, STATUSES
from casefiles.documents import KINDS

from . import contents as C

NS = "http://www.saac.gov.cn/standards/ERM/encapsulation"
XSD_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "package.xsd")
XML_NAME = "package.xml"
DOSSIER_NAME = "dossier.pdf"
FORMAT_DESCRIPTION = ("本封装包依据 DA/T 48-2009《基于XML的电子文件封装规范》的结构生成，封装一件信访事项的案卷："
                      "元数据、卷内文件及其各版本的格式、大小与 SHA-256 数字摘要、办理过程（业务实体）。"
                      "文件内容不编码在本 XML 中，按“存储位置”保存在同一 BagIt 包的 data/ 目录下。")
PACKAGE_VERSION = "2009"
ACTIONS = {
    "register": "登记", "file": "归档文件", "version": "更正版本", "accept": "受理", "reject": "不予受理",
    "refuse-repeat": "不再受理", "file-for-record": "存查", "forward": "转送", "assign": "交办", "object": "异议",
    "report": "报结", "approve-report": "审核通过", "return-report": "退回重办", "extend": "延期",
    "supervise": "督办", "reply": "答复", "evaluate": "满意度评价", "request-review": "申请复查",
    "decide-review": "复查决定", "request-recheck": "申请复核", "schedule-hearing": "安排听证",
    "record-hearing": "听证记录", "decide-recheck": "复核决定", "mark-repeat": "重复件", "join": "并案",
    "close": "办结", "archive": "归档", "route": "分办",
}
KNOWN_STATE = {"_items", "_count", "_history", "__name__", "__parent__", "number", "year", "seq", "docid",
               "petitioners", "deadlines", "title", "status"}
BOOL = {True: "true", False: "false"}

_schema = None
_schema_lock = threading.Lock()


def schema():
    global _schema
    if _schema is None:
        with _schema_lock:
            if _schema is None:
                _schema = etree.XMLSchema(etree.parse(XSD_PATH))
    return _schema


class PackageInvalid(ValueError):
    """The XML does not validate against the package schema."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors[:5]))


# Never read a file or the network for an entity or DTD, never expand entities, and keep
# libxml2's limits on depth and node size (huge_tree would lift them).
PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                      huge_tree=False)


def validate(xml_bytes):
    """Parse and validate a package XML; returns the root element or raises PackageInvalid."""
    try:
        root = etree.fromstring(xml_bytes, parser=etree.XMLParser(**PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise PackageInvalid([str(exc)]) from exc
    if root.getroottree().docinfo.doctype:   # a package never has one: no DTD, no entities
        raise PackageInvalid(["a DOCTYPE (DTD or entity declarations) is not allowed in the package XML"])
    xsd = schema()
    if not xsd.validate(root):
        raise PackageInvalid([f"{e.line}: {e.message}" for e in xsd.error_log])
    return root


# Writing -------------------------------------------------------------------------------

_BAD_XML = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), 0xFFFE, 0xFFFF])


def _clean(text):
    if text is None:
        return ""
    text = str(text).translate(_BAD_XML)
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        text = "".join(ch for ch in text if not 0xD800 <= ord(ch) <= 0xDFFF)
    return text


def _dt(value):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None, microsecond=0).isoformat()
    return datetime.datetime.combine(value, datetime.time()).isoformat()


class _Builder:
    def __init__(self):
        self.nsmap = {None: NS}

    def el(self, parent, name, text=None, **attrs):
        tag = f"{{{NS}}}{name}"
        node = etree.SubElement(parent, tag) if parent is not None else etree.Element(tag, nsmap=self.nsmap)
        for key, value in attrs.items():
            if value is not None:
                node.set(key, _clean(value))
        if text is not None:
            node.text = _clean(text)
        return node


def _json(value):
    """A JSON-safe form of a simple value; dates and tuples keep their type. None if not simple."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, datetime.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"$date": value.isoformat()}
    if isinstance(value, (list, tuple)):
        items = [_json(v) for v in value]
        if any(i is _SKIP for i in items):
            return _SKIP
        return {"$tuple": items} if isinstance(value, tuple) else items
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                return _SKIP
            item = _json(v)
            if item is _SKIP:
                return _SKIP
            out[k] = item
        return out
    if isinstance(value, Persistent) and type(value).__module__.startswith("casefiles."):
        # a domain object (a deadline ledger, a workflow record): its class and plain state
        state = value.__getstate__()
        if isinstance(state, dict):
            encoded = _json({k: v for k, v in state.items() if not k.startswith(("_v_", "_p_"))})
            if encoded is not _SKIP:
                return {"$object": f"{type(value).__module__}:{type(value).__qualname__}", "state": encoded}
    if hasattr(value, "as_json"):
        return _json(value.as_json())
    return _SKIP


_SKIP = object()


def _restore_object(path, state):
    """Re-create a domain object from its class path and state; only persistent classes of
    the ``casefiles`` package are accepted."""
    import importlib
    module_name, _sep, qualname = path.partition(":")
    if not module_name.startswith("casefiles.") or "." in qualname or not qualname:
        raise ValueError(f"not a domain class: {path}")
    cls = getattr(importlib.import_module(module_name), qualname, None)
    if not isinstance(cls, type) or not issubclass(cls, Persistent):
        raise ValueError(f"not a domain class: {path}")
    obj = cls.__new__(cls)
    obj.__setstate__(state)
    return obj


def _unjson(value):
    if isinstance(value, list):
        return [_unjson(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"$datetime"}:
            return datetime.datetime.fromisoformat(value["$datetime"])
        if set(value) == {"$date"}:
            return datetime.date.fromisoformat(value["$date"])
        if set(value) == {"$tuple"}:
            return tuple(_unjson(v) for v in value["$tuple"])
        if set(value) == {"$object", "state"}:
            return _restore_object(value["$object"], _unjson(value["state"]))
        return {k: _unjson(v) for k, v in value.items()}
    return value


def _dump(value):
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def extra_state(case):
    """The case's persistent attributes this package has no element for (added by other
    features), as JSON-safe values, so an import restores them."""
    from casefiles.archival import CASE_FIELDS
    state = case.__getstate__() if hasattr(case, "__getstate__") else dict(case.__dict__)
    if isinstance(state, tuple):
        state = state[-1] or {}
    out = {}
    for key in sorted(state):
        if key in KNOWN_STATE or key in CASE_FIELDS or key.startswith("_v_") or key.startswith("_p_"):
            continue
        value = _json(state[key])
        if value is not _SKIP:
            out[key] = value
    return out


def build_xml(site, case, dossier, created=None):
    """The package XML (bytes) of an archived case whose dossier was just built."""
    items = C.entries(case)
    by_id = {d["id"]: d for d in dossier.documents}
    b = _Builder()
    root = b.el(None, "电子文件封装包")
    b.el(root, "封装包格式描述", FORMAT_DESCRIPTION)
    b.el(root, "版本", PACKAGE_VERSION)
    signed = b.el(root, "被签名对象", **{"eep版本": PACKAGE_VERSION})
    b.el(signed, "封装包类型", "原始型")
    b.el(signed, "封装包类型描述", "本封装包为信访事项归档时生成的原始封装包，未经修改。")
    b.el(signed, "封装包创建时间", _dt(created or case.archived_at or C.dossier_date(case)))
    b.el(signed, "封装包创建单位", site.title)
    content = b.el(signed, "封装内容")

    entity = b.el(b.el(content, "文件实体块"), "文件实体")
    b.el(entity, "聚合层次", "案卷")
    source = b.el(entity, "来源")
    b.el(source, "全宗名称", site.title)
    b.el(source, "立档单位名称", site.title)

    from casefiles.archival import parse_ref
    ref = case.archival_ref
    prefix, year, retention, seq = parse_ref(ref)
    number = b.el(entity, "档号")
    b.el(number, "档号值", ref)
    b.el(number, "全宗号", prefix)
    b.el(number, "年度", str(year))
    b.el(number, "保管期限", retention)
    b.el(number, "件号", str(seq))

    description = b.el(entity, "内容描述")
    b.el(description, "题名", case.subject or case.number)
    b.el(description, "信访件编号", case.number)
    b.el(description, "信访形式", CHANNELS.get(case.channel, case.channel), **{"代码": case.channel})
    b.el(description, "信访目的", PETITION_TYPES.get(case.petition_type, case.petition_type),
         **{"代码": case.petition_type})
    b.el(description, "问题属地", case.district or "")
    b.el(description, "内容分类", case.category or "")
    b.el(description, "主题内容", case.content or "")
    if case.received_at:
        b.el(description, "来信来访日期", _dt(case.received_at))
    if case.registered_at:
        b.el(description, "登记日期", _dt(case.registered_at))
    b.el(description, "登记人", case.registered_by or "")
    closed = C.case_dates(case)[1] if any(h.action == "close" for h in case.history) else None
    if closed:
        b.el(description, "办结日期", _dt(closed))
    b.el(description, "状态", STATUSES.get(case.status, case.status), **{"代码": case.status})

    people = b.el(entity, "信访人列表")
    for person, primary in C.petitioners(site, case):
        node = b.el(people, "信访人", **{"主访人": BOOL[bool(primary)], "匿名": BOOL[bool(person.anonymous)]})
        b.el(node, "姓名", person.name or "")
        if person.id_number:
            b.el(node, "身份证号", person.id_number)
        if person.phone:
            b.el(node, "联系电话", person.phone)
        if person.address:
            b.el(node, "住址", person.address)

    handling = b.el(entity, "办理信息")
    if case.unit:
        b.el(handling, "责任单位", C.unit_name(site, case.unit), **{"代码": case.unit})
    if case.accused_unit:
        b.el(handling, "被控告单位", C.unit_name(site, case.accused_unit), **{"代码": case.accused_unit})
    if case.accused_person:
        b.el(handling, "被控告人", case.accused_person)
    if case.source:
        src = dict(case.source)
        b.el(handling, "上级来源", **{"级别": src.get("level") or "", "方式": src.get("mode") or "",
                                   "文号": src.get("ref") or "", "期限": src.get("due") or ""})
    if case.channel in ("visit", "video") or case.group_size or case.visit_place or case.leader:
        b.el(handling, "来访信息", **{"人数": str(int(case.group_size or 0)), "地点": case.visit_place or "",
                                   "接访领导": case.leader or ""})
    if case.online_source or case.external_ref:
        b.el(handling, "网上来源", **{"渠道": case.online_source or "", "外部编号": case.external_ref or ""})
    b.el(handling, "涉密", BOOL[bool(case.confidential)])
    for kind, other in case.links or ():
        b.el(handling, "关联件", other, **{"类型": kind})
    for i, deadline in enumerate(case.deadlines or ()):
        value = _json(deadline)
        if value is not _SKIP:
            b.el(handling, "期限", _dump(value), **{"名称": str(i + 1), "编码": "json"})
    for key, value in extra_state(case).items():
        b.el(handling, "扩展属性", _dump(value), **{"名称": key, "编码": "json"})

    keeping = b.el(entity, "保管")
    b.el(keeping, "保管期限", C.retention_title(case), **{"代码": case.retention})
    if case.retention_due:
        b.el(keeping, "保管期限到期日", case.retention_due.isoformat())
    b.el(keeping, "归档日期", _dt(case.archived_at))
    b.el(keeping, "归档人", case.archived_by or "-")
    b.el(keeping, "立卷人", case.compiled_by or "")
    b.el(keeping, "检查人", case.checked_by or "")

    volume = b.el(entity, "卷宗")
    b.el(volume, "计算机文件名", f"{case.number}-卷宗.pdf")
    b.el(volume, "存储位置", DOSSIER_NAME)
    b.el(volume, "格式信息", "application/pdf; PDF/A-3B")
    b.el(volume, "页数", str(dossier.total))
    b.el(volume, "计算机文件大小", str(dossier.size))
    b.el(volume, "数字摘要", dossier.sha256, **{"摘要算法": "SHA-256"})

    files = b.el(entity, "文件列表")
    for entry in items:
        document = entry.document
        placed = by_id[document.id]
        node = b.el(files, "文件", **{"序号": str(entry.seq), "标识": document.id})
        b.el(node, "所属文件夹", entry.folder_title, **{"代码": entry.folder})
        b.el(node, "文件类别", KINDS.get(document.kind, document.kind), **{"代码": document.kind})
        b.el(node, "题名", document.title or "-")
        b.el(node, "文号", document.ref or "")
        b.el(node, "责任者", C.author(site, case, entry))
        b.el(node, "著录责任者", document.author or "")
        b.el(node, "形成时间", _dt(document.filed_at))
        b.el(node, "归档者", document.filed_by or "")
        b.el(node, "起始页号", str(placed["start"]))
        b.el(node, "页数", str(max(placed["pages"], 1)))
        b.el(node, "呈现方式", placed["mode"])
        if document.text:
            b.el(node, "文本", document.text)
        versions = b.el(node, "版本列表")
        for version in document.versions:
            v = b.el(versions, "版本", **{"版本号": str(version.number),
                                         "当前": BOOL[version is document.current]})
            b.el(v, "计算机文件名", version.filename or "file")
            b.el(v, "存储位置", entry.original_path(version))
            b.el(v, "格式信息", version.media_type)
            b.el(v, "计算机文件大小", str(version.size))
            b.el(v, "数字摘要", version.sha256, **{"摘要算法": "SHA-256"})
            b.el(v, "形成时间", _dt(version.filed_at or document.filed_at))
            b.el(v, "形成者", version.filed_by or "")
            b.el(v, "说明", version.note or "")

    events = b.el(content, "业务实体块")
    actors = []
    for i, entry in enumerate(case.history, start=1):
        node = b.el(events, "业务实体", **{"序号": str(i)})
        b.el(node, "业务行为", ACTIONS.get(entry.action, entry.action), **{"代码": entry.action})
        b.el(node, "行为时间", _dt(entry.at))
        b.el(node, "行为者", entry.by or "")
        b.el(node, "行为描述", entry.note or "")
        if entry.by and entry.by not in actors:
            actors.append(entry.by)
    for document in (e.document for e in items):
        for username in [document.filed_by] + [v.filed_by for v in document.versions]:
            if username and username not in actors:
                actors.append(username)
    people_block = b.el(content, "机构人员实体块")
    for username in actors:
        user = site.users.get(username)
        node = b.el(people_block, "机构人员实体")
        b.el(node, "机构人员标识", username)
        b.el(node, "机构人员名称", user.name if user is not None else username)
        b.el(node, "机构人员类型", " ".join(user.roles) if user is not None else "")
        if user is not None and user.unit:
            b.el(node, "所属机构", C.unit_name(site, user.unit), **{"代码": user.unit})
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate(xml)
    return xml


# Reading (import) ----------------------------------------------------------------------

def _q(name):
    return f"{{{NS}}}{name}"


def _find(node, path):
    for name in path.split("/"):
        if node is None:
            return None
        node = node.find(_q(name))
    return node


def _text(node, path, default=""):
    found = _find(node, path)
    return found.text or "" if found is not None else default


def _parse_dt(text):
    return datetime.datetime.fromisoformat(text) if text else None


class PackageData:
    """A package read back: what ``restore_case`` needs, plus the checksums to verify."""

    def __init__(self):
        self.case = {}
        self.extra = {}
        self.petitioners = []
        self.documents = []        # dicts; versions: dicts with path, filename, media_type, size, sha256, ...
        self.history = []
        self.dossier = {}          # path, size, sha256, pages
        self.ref = ""
        self.number = ""

    def files(self):
        """(path in data/, size, sha256) of every file the XML names."""
        out = [(self.dossier["path"], self.dossier["size"], self.dossier["sha256"])]
        for document in self.documents:
            for v in document["versions"]:
                out.append((v["path"], v["size"], v["sha256"]))
        return out


def read_xml(xml_bytes):
    root = validate(xml_bytes)
    data = PackageData()
    entity = _find(root, "被签名对象/封装内容/文件实体块/文件实体")
    desc = _find(entity, "内容描述")
    data.number = _text(desc, "信访件编号")
    data.ref = _text(entity, "档号/档号值")
    handling = _find(entity, "办理信息")
    keeping = _find(entity, "保管")
    case = data.case
    case["number"] = data.number
    case["archival_ref"] = data.ref
    case["archival_year"] = int(_text(entity, "档号/年度"))
    case["subject"] = _text(desc, "题名")
    case["channel"] = _find(desc, "信访形式").get("代码")
    case["petition_type"] = _find(desc, "信访目的").get("代码")
    case["district"] = _text(desc, "问题属地")
    case["category"] = _text(desc, "内容分类")
    case["content"] = _text(desc, "主题内容")
    case["received_at"] = _parse_dt(_text(desc, "来信来访日期"))
    case["registered_at"] = _parse_dt(_text(desc, "登记日期"))
    case["registered_by"] = _text(desc, "登记人")
    case["status"] = "archived"
    unit = _find(handling, "责任单位")
    case["unit"] = unit.get("代码") if unit is not None else None
    accused = _find(handling, "被控告单位")
    case["accused_unit"] = accused.get("代码") if accused is not None else None
    case["accused_person"] = _text(handling, "被控告人")
    source = _find(handling, "上级来源")
    if source is not None:
        case["source"] = {"level": source.get("级别", ""), "mode": source.get("方式", ""), "ref": source.get("文号", ""),
                          "due": source.get("期限") or None}
    visit = _find(handling, "来访信息")
    if visit is not None:
        case["group_size"] = int(visit.get("人数") or 0)
        case["visit_place"] = visit.get("地点", "")
        case["leader"] = visit.get("接访领导", "")
    online = _find(handling, "网上来源")
    if online is not None:
        case["online_source"] = online.get("渠道", "")
        case["external_ref"] = online.get("外部编号", "")
    case["confidential"] = _text(handling, "涉密") == "true"
    case["links"] = tuple((n.get("类型"), n.text or "") for n in handling.findall(_q("关联件")))
    deadlines = [_unjson(json.loads(n.text or "null")) for n in handling.findall(_q("期限"))]
    if deadlines:
        case["deadlines"] = tuple(d for d in deadlines if d is not None)
    for node in handling.findall(_q("扩展属性")):
        data.extra[node.get("名称")] = _unjson(json.loads(node.text or "null"))
    case["retention"] = _find(keeping, "保管期限").get("代码")
    due = _text(keeping, "保管期限到期日")
    case["retention_due"] = datetime.date.fromisoformat(due) if due else None
    case["archived_at"] = _parse_dt(_text(keeping, "归档日期"))
    case["archived_by"] = _text(keeping, "归档人")
    case["compiled_by"] = _text(keeping, "立卷人")
    case["checked_by"] = _text(keeping, "检查人")

    for node in _find(entity, "信访人列表").findall(_q("信访人")):
        data.petitioners.append({
            "name": _text(node, "姓名"), "id_number": _text(node, "身份证号"), "phone": _text(node, "联系电话"),
            "address": _text(node, "住址"), "anonymous": node.get("匿名") == "true",
            "primary": node.get("主访人") == "true",
        })
    volume = _find(entity, "卷宗")
    data.dossier = {"path": _text(volume, "存储位置"), "size": int(_text(volume, "计算机文件大小")),
                    "sha256": _text(volume, "数字摘要"), "pages": int(_text(volume, "页数"))}
    for node in _find(entity, "文件列表").findall(_q("文件")):
        versions = []
        for v in _find(node, "版本列表").findall(_q("版本")):
            versions.append({
                "number": int(v.get("版本号")), "filename": _text(v, "计算机文件名"), "path": _text(v, "存储位置"),
                "media_type": _text(v, "格式信息"), "size": int(_text(v, "计算机文件大小")),
                "sha256": _text(v, "数字摘要"), "filed_at": _parse_dt(_text(v, "形成时间")),
                "filed_by": _text(v, "形成者"), "note": _text(v, "说明"),
            })
        versions.sort(key=lambda v: v["number"])
        data.documents.append({
            "seq": int(node.get("序号")), "id": node.get("标识"), "folder": _find(node, "所属文件夹").get("代码"),
            "kind": _find(node, "文件类别").get("代码"), "title": _text(node, "题名"), "ref": _text(node, "文号"),
            "author": _text(node, "著录责任者"), "filed_at": _parse_dt(_text(node, "形成时间")),
            "filed_by": _text(node, "归档者"), "text": _text(node, "文本"), "start": int(_text(node, "起始页号")),
            "pages": int(_text(node, "页数")), "versions": versions,
        })
    for node in _find(root, "被签名对象/封装内容/业务实体块").findall(_q("业务实体")):
        data.history.append((_find(node, "业务行为").get("代码"), _parse_dt(_text(node, "行为时间")),
                             _text(node, "行为者"), _text(node, "行为描述")))
    return data


# The bag -------------------------------------------------------------------------------

_bag_lock = threading.Lock()


def bag_info(site, case, software):
    return {
        "Source-Organization": site.title,
        "External-Identifier": case.archival_ref,
        "Internal-Sender-Identifier": case.number,
        "External-Description": _clean(case.subject or case.number).replace("\n", " ")[:200],
        "Bagging-Date": (case.archived_at or C.dossier_date(case)).date().isoformat(),
        "Bag-Software-Agent": software,
        "Bag-Group-Identifier": f"{site.cases.prefix}{case.archival_year or ''}",
    }


def make_bag(folder, info):
    """Turn ``folder`` (holding the payload) into a BagIt bag with SHA-256 manifests.

    bagit.make_bag changes the working directory while it runs; the lock keeps two bags
    from being made at once in one process."""
    import bagit
    with _bag_lock:
        return bagit.make_bag(folder, dict(info), processes=1, checksums=["sha256"])


STORED_TYPES = (".pdf", ".jpg", ".jpeg", ".png", ".tif", ".tiff", ".zip", ".docx", ".xlsx", ".odt")


def zip_bag(bag_dir, out, top, date):
    """Write the bag as a zip (one top folder ``top``) to the binary stream ``out``.
    Entries are sorted and dated ``date`` so the zip of a bag is always the same bytes."""
    stamp = (max(date.year, 1980), date.month, date.day, 0, 0, 0)
    paths = []
    for folder, dirs, files in os.walk(bag_dir):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(folder, name)
            paths.append((os.path.relpath(full, bag_dir).replace(os.sep, "/"), full))
    paths.sort()
    with zipfile.ZipFile(out, "w", allowZip64=True) as archive:
        for rel, full in paths:
            info = zipfile.ZipInfo(f"{top}/{rel}", date_time=stamp)
            stored = rel.lower().endswith(STORED_TYPES)
            info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with open(full, "rb") as src, archive.open(info, "w", force_zip64=os.path.getsize(full) > 2 ** 31) as dst:
                while True:
                    chunk = src.read(1 << 20)
                    if not chunk:
                        break
                    dst.write(chunk)
    return out


def bag_xml(bag_dir):
    with open(os.path.join(bag_dir, "data", XML_NAME), "rb") as f:
        return f.read()


def read_bag(bag_dir):
    """The PackageData of a bag on disk."""
    return read_xml(bag_xml(bag_dir))


def zip_bytes(bag_dir, top, date):
    buf = io.BytesIO()
    zip_bag(bag_dir, buf, top, date)
    return buf.getvalue()
