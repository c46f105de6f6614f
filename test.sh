#!/usr/bin/env bash
# Run the test suite: ./test.sh runs everything; arguments go to pytest
# (./test.sh -q -x tests/test_cli.py). The exit status is pytest's; a run that collects
# no test at all fails (pytest's status 5), so a wrong path or filter never looks green.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

scripts/bootstrap.sh chromium fonts-wqy-zenhei tesseract-ocr tesseract-ocr-chi-sim

unset CASEFILES_VAR     # every test makes its own data folder; never touch a real one
status=0
.venv/bin/pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
  echo "test.sh: no tests were collected or selected - that is a failure" >&2
fi
exit "$status"
