"""Localisation: zh_CN by default, through Pyramid's localizer and gettext catalogs.

``request.t(msg)`` translates a domain message or a UI string; templates get ``_`` from
pyramid_jinja2's i18n extension, bound to the request's localizer.
"""
from pyramid.i18n import TranslationStringFactory

_ = TranslationStringFactory("casefiles")


def translate(request, message, mapping=None):
    if isinstance(message, str) and not hasattr(message, "interpolate"):
        message = _(message, mapping=mapping) if mapping else _(message)
    return request.localizer.translate(message)


def locale_negotiator(request):
    """``?_LOCALE_=`` or the ``_LOCALE_`` cookie, else the default (zh_CN). Unlike Pyramid's
    default negotiator it never reads the body, so a malformed form cannot break the error
    response that reports it."""
    try:
        return request.GET.get("_LOCALE_") or request.cookies.get("_LOCALE_") or None
    except UnicodeDecodeError:   # a query string that is not UTF-8
        return None


def includeme(config):
    config.set_locale_negotiator(locale_negotiator)
    config.add_request_method(translate, "t")
