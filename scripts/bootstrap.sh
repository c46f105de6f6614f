#!/usr/bin/env bash
# Shared set-up for ./run.sh and ./test.sh: a virtualenv in .venv with the project installed,
# and (when root) the Debian packages the tests and dossiers need.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

want_debs=("$@")
missing=()
for pkg in "${want_debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> installing Debian packages: ${missing[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "==> missing Debian packages (run as root to install): ${missing[*]}" >&2
  fi
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(cat setup.py | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "==> installing the project and its dependencies into .venv"
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
