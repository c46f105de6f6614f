#!/usr/bin/env bash
# Run the case-file system on this machine at http://localhost:6543 (development settings).
# The first start creates the demo users and demo cases (see README.md).
# Data lives in ./var, or in $CASEFILES_VAR when that is set.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

scripts/bootstrap.sh fonts-wqy-zenhei tesseract-ocr tesseract-ocr-chi-sim

var="${CASEFILES_VAR:-var}"
if [ ! -e "$var/Data.fs" ]; then
  echo "==> first start: creating the demo users and demo cases in $var"
  .venv/bin/casefiles-demo development.ini
fi
echo "==> serving http://localhost:6543 (Ctrl-C stops)"
exec .venv/bin/pserve development.ini "$@"
