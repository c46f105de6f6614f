"""The domain of the petition case-file system.

Persistent case folders, documents with their original bytes, petitioners, responsible
units, users and the rules that govern them. This package never imports from ``views``,
``indexing`` or ``archive`` and never sees a request: the web layer, the search index and
the archive read it and call its functions.
"""
