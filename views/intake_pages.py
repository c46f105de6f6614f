"""The intake page (登记): one form per channel, in tabs, at ``/register?channel=...``.

The form's field names are the domain's field paths (``petitioners.0.id_number``,
``source.ref``), so that the field messages of ``casefiles.errors.ValidationError`` land
next to the fields they are about. A refused registration re-renders the form with the
entered values, the Chinese messages and the status of the error (422, 413 or 415); the
transaction is doomed so that nothing of it is stored.
"""
from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from casefiles import intake
from casefiles.cases import CHANNELS
from casefiles.errors import DomainError, ValidationError
from casefiles.i18n import _
from casefiles.idnumber import id_number_problem
from casefiles.security import REGISTER, VIEW
from casefiles.site import Site

from .pages import shanghai_now
from . import pending
from .uploads import uploads_from

PETITIONER_ROWS = intake.MAX_REPRESENTATIVES
PERSON_FIELDS = ("name", "id_number", "phone", "address")
# suggestions for the category field (问题类别); the field stays free text
CATEGORIES = ("城乡建设", "征地拆迁", "劳动社保", "农村农业", "自然资源", "生态环境", "卫生健康", "教育",
              "交通运输", "市场监管", "政法", "纪检监察", "民政", "企业改制", "其他")
SCALAR_FIELDS = ("received_at", "subject", "content", "district", "category", "petition_type",
                 "accused.unit", "accused.person", "group_size", "visit_place", "leader", "online_source",
                 "external_ref", "source.level", "source.mode", "source.ref", "source.due")


def form_values(post):
    """The submitted form as flat field values, to render the form again."""
    values = {name: post.get(name, "").strip() for name in SCALAR_FIELDS}
    for i in range(PETITIONER_ROWS):
        for key in PERSON_FIELDS:
            values[f"petitioners.{i}.{key}"] = post.get(f"petitioners.{i}.{key}", "").strip()
        values[f"petitioners.{i}.anonymous"] = bool(post.get(f"petitioners.{i}.anonymous"))
        values[f"petitioners.{i}.rename"] = bool(post.get(f"petitioners.{i}.rename"))
    values["primary"] = post.get("primary", "0")
    values["confidential"] = bool(post.get("confidential"))
    return values


def registration_data(channel, values):
    """The registration body ``casefiles.intake.register`` takes, from the flat form values."""
    data = {key: values[key] for key in ("received_at", "subject", "content", "district", "category",
                                         "petition_type")}
    data["channel"] = channel
    data["confidential"] = values["confidential"]
    data["petitioners"] = [
        {"name": values[f"petitioners.{i}.name"], "id_number": values[f"petitioners.{i}.id_number"],
         "phone": values[f"petitioners.{i}.phone"], "address": values[f"petitioners.{i}.address"],
         "anonymous": values[f"petitioners.{i}.anonymous"], "primary": values["primary"] == str(i),
         "rename": values.get(f"petitioners.{i}.rename", False)}
        for i in range(PETITIONER_ROWS)
    ]
    if data["petition_type"] == "accusation":
        data["accused"] = {"unit": values["accused.unit"] or None, "person": values["accused.person"]}
    if channel in ("visit", "video"):
        size = values["group_size"]
        # the form's number field: ASCII digits are a number; anything else goes on as typed,
        # for the domain to refuse (never read "５" or "1.5" as a number here)
        if size.isascii() and size.isdigit() and len(size) <= 9:
            size = int(size)
        data.update(group_size=size, visit_place=values["visit_place"], leader=values["leader"])
    if channel == "online":
        data.update(online_source=values["online_source"], external_ref=values["external_ref"])
    if channel == "transfer":
        data["source"] = {"level": values["source.level"], "mode": values["source.mode"],
                          "ref": values["source.ref"], "due": values["source.due"] or None}
    return data


def field_messages(request, exc, files_key="files"):
    """Field name of the form -> Chinese message, from a domain error."""
    out = {}
    for name, message in exc.fields.items():
        key = files_key if name.startswith("files") or name == "file" else name
        if not hasattr(message, "interpolate"):
            # size and type errors carry a technical detail; the error's message says it in full
            message = exc.message
        out.setdefault(key, request.t(message))
    return out


def earlier_cases(request, values):
    """For each petitioner row with a valid ID number: the person and the cases this user may open."""
    out = {}
    for i in range(PETITIONER_ROWS):
        number = values.get(f"petitioners.{i}.id_number", "")
        if not number or id_number_problem(number):
            continue
        person = request.site.petitioners.by_id_number(number)
        if person is None:
            continue
        cases = [c for c in (request.site.cases.by_number(n) for n in reversed(list(person.cases)))
                 if c is not None and request.has_permission(VIEW, c)]
        out[i] = (person, cases)
    return out


def channel_of(request):
    channel = request.params.get("channel", "letter")
    return channel if channel in CHANNELS else "letter"


def blank_values():
    values = {name: "" for name in SCALAR_FIELDS}
    for i in range(PETITIONER_ROWS):
        for key in PERSON_FIELDS:
            values[f"petitioners.{i}.{key}"] = ""
        values[f"petitioners.{i}.anonymous"] = False
        values[f"petitioners.{i}.rename"] = False
    values.update(primary="0", confidential=False, petition_type="complaint", online_source="website",
                  received_at=shanghai_now().strftime("%Y-%m-%d %H:%M"))
    return values


LINK_ACTIONS = {"repeat": "mark-repeat", "join": "join"}


@view_config(context=Site, name="register", renderer="site_register.jinja2", permission=REGISTER)
def register(request):
    channel = channel_of(request)
    values = blank_values()
    errors = {}
    message = None
    link = {"type": "", "into": "", "error": ""}
    pending_token, kept = "", []
    if request.method == "POST":
        values = form_values(request.POST)
        # files kept from an earlier refused submission of this form (pending.py), less those removed
        pending_token = request.POST.get("pending", "")
        on_file = pending.kept_files(request, pending_token)    # [] unless this session's (never empty then)
        removed = set(v for v in request.POST.getall("pending_remove") if isinstance(v, str))
        kept = [e for e in on_file if e["id"] not in removed]
        chosen = uploads_from(request, "files")
        uploads = pending.open_uploads(request, pending_token, kept) + chosen
        max_bytes = request.registry.settings["casefiles.max_upload_bytes"]
        link_type, link_into = request.POST.get("link_type", ""), request.POST.get("link_into", "").strip()
        link.update(type=link_type if link_type in LINK_ACTIONS else "", into=link_into)
        # a channel the form does not offer is refused (intake names the field), not read as a letter
        requested = request.params.get("channel") or channel
        try:
            if pending_token and not on_file:
                # the form listed kept files that are gone (logged out, another session, a day
                # passed): registering without them would lose them without a word
                gone = _("ui_kept_files_gone", default="The files attached to this form earlier are no longer "
                         "available (the session ended or a day passed): choose them again.")
                raise ValidationError(gone, {"files": gone})
            case = intake.register(request.site, registration_data(requested, values),
                                   uploads, by=request.user.username, now=shanghai_now(), max_bytes=max_bytes)
            if link_type in LINK_ACTIONS and link_into:
                # the clerk chose, in the similar-cases panel, to file it as a repeat item or
                # join it: the same transaction, so a refused link registers nothing
                from .workflow import do
                try:
                    do(request, case, LINK_ACTIONS[link_type], {"into": link_into})
                except DomainError as exc:
                    # about the case chosen in the panel: shown there, with the number to correct
                    exc.fields = {("link_into" if k == "into" else k): v for k, v in exc.fields.items()}
                    exc.fields.setdefault("link_into", exc.message)
                    raise
        except DomainError as exc:
            request.tm.doom()
            request.response.status_int = exc.status
            message = request.t(exc.message)
            errors = field_messages(request, exc)
            link["error"] = errors.pop("link_into", "")
            # the files chosen are kept for the form shown again (a browser cannot refill a file input)
            try:
                pending_token, kept = pending.keep(request, pending_token, kept, acceptable(chosen, max_bytes))
            except OSError:     # nothing kept: the form says the files must be chosen again
                pending_token, kept = "", []
                errors.setdefault("files", request.t(_("ui_files_again", default="Choose the files again: "
                                                       "they could not be kept.")))
        else:
            pending.drop_after_commit(request, pending_token)
            pending.cleanup(request)    # forms abandoned over a day ago: their scans are not kept on
            request.session.flash(request.t(_("ui_registered", default="Registered: case number ${number}.",
                                              mapping={"number": case.number})))
            return HTTPSeeOther(request.resource_url(case))
    return {
        "channel": channel,
        "values": values,
        "errors": errors,
        "message": message,
        "rows": PETITIONER_ROWS,
        "earlier": earlier_cases(request, values) if request.method == "POST" else {},
        "units": request.site.units.active_units(),
        "categories": CATEGORIES,
        "max_bytes": request.registry.settings["casefiles.max_upload_bytes"],
        "link": link,
        "pending_token": pending_token,
        "pending_files": kept,
    }


def acceptable(uploads, max_bytes):
    """The uploads that pass the checks on their own (size, type): the ones worth keeping for
    the form shown again; a refused file is named in the error and not kept."""
    out = []
    for upload in uploads:
        try:
            upload.check(max_bytes)
        except DomainError:
            continue
        out.append(upload)
    return out
