"""``casefiles-ocr CONFIG [--limit N] [--retry STATE …]``

Runs the text extraction (PDF text and OCR of scans) waiting in the queue, in the
foreground, instead of (or besides) the app's background worker. ``--retry failed``
(or ``unavailable``, ``empty``) queues again the documents whose last extraction ended in
that state, e.g. after installing tesseract's Chinese model.
"""
import argparse
import sys

from casefiles.i18n import _

from . import EXIT_OK, EXIT_USAGE, Progress, check_config, open_site, run, say, t

STATES = ("failed", "unavailable", "empty")


def parser():
    p = argparse.ArgumentParser(
        prog="casefiles-ocr",
        description=t(_("cli_ocr_doc", default="Extract text from filed PDFs and scans (OCR) that are waiting.")))
    p.add_argument("config", metavar="CONFIG", help=t(_("cli_config_help", default="the ini file, e.g. development.ini")))
    p.add_argument("--limit", type=int, default=None,
                   help=t(_("cli_ocr_limit", default="at most this many documents")))
    p.add_argument("--retry", action="append", default=[], choices=STATES,
                   help=t(_("cli_ocr_retry", default="queue again the documents whose extraction ended in this state")))
    return p


def requeue(site, states):
    """Queue again the documents whose last extraction ended in one of ``states``."""
    from casefiles.events import DocumentModified, notify
    n = 0
    for case in site.cases.all_cases():
        for document in case.documents():
            version = document.current
            if version is not None and getattr(document, "ocr_state", "") in states \
                    and document.extracted_version == version.number:
                document.set_extracted(0, document.extracted_text, "")
                notify(DocumentModified(document))   # queues it for extraction and reindexing
                n += 1
    return n


def main(argv=None):
    args = parser().parse_args(argv)
    if not check_config(args.config):
        return EXIT_USAGE

    def body():
        from indexing import get_indexer
        with open_site(args.config) as opened:
            indexer = get_indexer(opened.registry)
            if args.retry:
                n = requeue(opened.site, set(args.retry))
                opened.commit()
                say(t(_("cli_ocr_requeued", default="${n} documents queued again.", mapping={"n": n})))
            from indexing.sync import queued
            waiting = len(queued(opened.site.extract_queue))
            opened.abort()
            total = min(waiting, args.limit) if args.limit else waiting
            with Progress(total, t(_("cli_ocr_label", default="Extracting text"))) as bar:
                done = indexer.ocr.run_pending(limit=args.limit, progress=bar.update)
            indexer.wait_idle(30.0)
            say(t(_("cli_ocr_done", default="${n} documents processed.", mapping={"n": done})))
            return EXIT_OK

    return run(body)


if __name__ == "__main__":
    sys.exit(main())
