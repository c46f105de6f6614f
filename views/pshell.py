"""``pshell development.ini``: an interactive shell on the site.

Besides pshell's own ``app``, ``request``, ``registry`` and ``root`` (the site), the shell has
``site`` (the Site root), ``transaction`` (the shell request's transaction manager, already
begun), ``commit()`` (commit and begin the next transaction) and ``zodb_root``. Changes not
committed are dropped when the shell exits.
"""


def setup(env):
    from pyramid_zodbconn import get_connection

    request = env["request"]
    tm = request.tm
    tm.begin()

    def commit():
        """Commit the changes made so far and begin the next transaction."""
        tm.commit()
        tm.begin()

    env["site"] = request.site
    env["transaction"] = tm
    env["commit"] = commit
    env["zodb_root"] = get_connection(request).root()
    try:
        yield
    finally:
        tm.abort()
        indexer = getattr(env["registry"], "search_indexer", None)
        if indexer is not None:
            indexer.wait_idle(60)      # committed changes reach the search index before exit
            indexer.close()
