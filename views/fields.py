"""Checking the fields of a JSON request body, with messages that say what is wrong.

One helper for every view that reads text from a JSON object, so that a value of the wrong
type is reported as such ("must be text"), never as missing or too short, and a missing,
empty or over-long value each gets its own message. The messages name the field; a value
the client sent is never put into ``fields`` as it is (the error response translates field
messages, and a value that happens to be a message id would come back translated).
"""
from casefiles.errors import ValidationError
from casefiles.i18n import _

from .errors import APIError


def field_problem(body, name, required=False, max_length=None):
    """None if ``body[name]`` is acceptable text (or absent and not required), else a message."""
    value = body.get(name)
    if value is None:
        return _("field_required", default="The field ${name} is required.",
                 mapping={"name": name}) if required else None
    if not isinstance(value, str):
        return _("field_text", default="The field ${name} must be text.", mapping={"name": name})
    if required and not value:          # blank text is the domain's to judge (a password may be spaces)
        return _("field_empty", default="The field ${name} must not be empty.", mapping={"name": name})
    if max_length is not None and len(value) > max_length:
        return _("field_long", default="The field ${name} has at most ${n} characters (this has ${length}).",
                 mapping={"name": name, "n": max_length, "length": len(value)})
    return None


def invalid(fields, message=None, status=422):
    """The error for these field problems: a ValidationError (422), or a 400 APIError."""
    message = message or next(iter(fields.values()))
    if status == 400:
        return APIError(400, "bad_request", message, fields)
    return ValidationError(message, fields)


def text_fields(body, *names, required=False, max_length=None, message=None, status=422):
    """The values of the text fields ``names`` of ``body``; every problem is reported at once."""
    fields = {}
    for name in names:
        problem = field_problem(body, name, required, max_length)
        if problem:
            fields[name] = problem
    if fields:
        raise invalid(fields, message, status)
    return [body.get(name) for name in names]


def text_field(body, name, required=False, max_length=None, status=422):
    """The value of one text field of ``body`` (None when absent and not required)."""
    return text_fields(body, name, required=required, max_length=max_length, status=status)[0]

