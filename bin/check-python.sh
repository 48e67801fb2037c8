#!/bin/sh
# Before `make run` builds .venv: is $1 (the Makefile's PYTHON, python3 by default) a Python 3.11
# whose venv module can make an environment? The pinned packages are Python 3.11's, and Debian's
# python3 has no ensurepip, so `python3 -m venv` fails there, after a while, without
# python3-venv. Stops at once with what to install.
PYTHON=${1:-python3}
need="make run needs Python 3.11 with its venv module"
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "error: $PYTHON is not on PATH: $need (Debian 12: apt-get install python3 python3-venv;" \
         "elsewhere install Python 3.11 and run make PYTHON=python3.11 run)" >&2
    exit 2
fi
version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
if [ "$version" != "3.11" ]; then
    echo "error: $PYTHON is Python ${version:-of an unknown version}: $need (Debian 12: apt-get install" \
         "python3 python3-venv; elsewhere install Python 3.11 and run make PYTHON=python3.11 run)" >&2
    exit 2
fi
if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo "error: $PYTHON has no working venv module (ensurepip is missing): $need" \
         "(Debian and Ubuntu: apt-get install python3.11-venv, or python3-venv)" >&2
    exit 2
fi
