#!/usr/bin/env bash
# Create reference/.venv (git-ignored) and install reference/requirements.txt into it.
# Idempotent: reuses an existing venv, and pip skips packages already at the pinned version.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"
if [ ! -x "$here/.venv/bin/python" ]; then
    "$python" -m venv "$here/.venv"
fi
"$here/.venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
"$here/.venv/bin/python" -c 'import torch, numpy, sklearn; print("reference venv ok: torch", torch.__version__, "numpy", numpy.__version__, "scikit-learn", sklearn.__version__)'
