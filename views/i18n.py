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


def includeme(config):
    config.add_request_method(translate, "t")
