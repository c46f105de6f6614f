"""Message factory for user-visible domain text.

Messages are English msgids wrapped as translation strings; the web layer translates them
with the request's localizer (zh_CN by default), so the domain stays free of web imports.
"""
from translationstring import TranslationStringFactory

_ = TranslationStringFactory("casefiles")
