#!/usr/bin/env bash
# Build the one-folder bundle for annotators' workstations, then check that it starts.
#
#     packaging/build_bundle.sh            # build dist/feasstm-studio/ and smoke-test it
#     packaging/build_bundle.sh --check    # only smoke-test an existing build
#
# Uses the project's .venv (python3 tools/bootstrap.py install makes it); installs PyInstaller
# into it when missing. Not part of .ci/run: with the CUDA torch the bundle is several GB and the
# build takes minutes. See packaging/README.md for sizes and for a CPU-only build.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
DIST="$ROOT/dist"
APP="$DIST/feasstm-studio"

if [[ ! -x "$PY" ]]; then
    echo "no .venv: run 'python3 tools/bootstrap.py install' first" >&2
    exit 2
fi

if [[ "${1:-}" != "--check" ]]; then
    if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
        echo "[bundle] installing PyInstaller into .venv"
        "$PY" -m pip install --disable-pip-version-check -q "pyinstaller>=6.10"
    fi
    start=$(date +%s)
    echo "[bundle] building $APP (PyInstaller $("$PY" -m PyInstaller --version))"
    "$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
        --distpath "$DIST" --workpath "$ROOT/build/pyinstaller" \
        "$ROOT/packaging/feasstm-studio.spec"
    ln -sf feasstm-studio "$APP/feasstm"  # the command line: the same executable, by name
    cp "$ROOT/packaging/feasstm-studio.desktop" "$APP/"
    cp "$ROOT/resources/icons/feasstm-studio.png" "$ROOT/resources/icons/feasstm-studio.svg" "$APP/"
    echo "[bundle] built in $(( $(date +%s) - start )) s"
fi

[[ -x "$APP/feasstm-studio" ]] || { echo "no bundle at $APP" >&2; exit 2; }
echo "[bundle] size: $(du -sh "$APP" | cut -f1) ($(find "$APP" -type f | wc -l) files)"

# Smoke test, offscreen, with its own settings folder: the CLI answers, and the window builds
# the sample project in a temporary folder (torch, the MTCNN weights and resources/ must all be
# in the bundle), opens it and prints "ok".
check_dir="$(mktemp -d)"
trap 'rm -rf "$check_dir"' EXIT
export QT_QPA_PLATFORM=offscreen FEASSTM_CONFIG_DIR="$check_dir/config" \
    FEASSTM_ANNOTATOR=bundle-check
"$APP/feasstm" --version
start=$(date +%s)
out="$("$APP/feasstm-studio" --smoke-test 2>&1)" || true
echo "$out"
if ! grep -q '^ok' <<<"$out"; then
    echo "[bundle] smoke test FAILED" >&2
    exit 1
fi
echo "[bundle] smoke test passed in $(( $(date +%s) - start )) s"
