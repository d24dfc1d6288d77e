#!/usr/bin/env bash
# CI: runs scim2-tester (the SCIM RFC 7643/7644 compliance checker, from PyPI) against /scim/v2
# of a fresh server, with a SCIM token. Any check that ends in error fails the run; the checks
# it skips are printed with the reason it gives (docs/sso.md says why each cannot run here).
#
# Uses the `keyward` binary already built by `cargo test` (debug), or builds it. Settings:
#   SCIM2_TESTER_VENV  where the Python environment lives (kept between runs)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/keyward-target}"
venv="${SCIM2_TESTER_VENV:-/var/tmp/keyward-scim2-tester-venv}"
started=$(date +%s)

echo "== scim2-tester: install"
if ! command -v curl >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl python3 python3-venv >/dev/null
fi
if ! "$venv/bin/python" -c 'import scim2_tester, httpx2' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  # Pinned, so that a new release's new checks are taken on deliberately.
  "$venv/bin/pip" install --quiet 'scim2-tester[httpx2]==0.5.2'
fi

. "$repo/.ci/fresh-server.sh"
fresh_server scim2-tester
# A SCIM token, made by the admin as Settings → Provisioning does.
token="$(admin_token /api/v1/scim/tokens scim2-tester)"

echo "== scim2-tester: every check"
status=0
SCIM_BASE="$base/scim/v2" SCIM_TOKEN="$token" "$venv/bin/python" - <<'PY' || status=$?
import os, sys
from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

http = Client(base_url=os.environ["SCIM_BASE"], headers={"Authorization": "Bearer " + os.environ["SCIM_TOKEN"]})
results = check_server(SyncSCIMClient(http))
failed = [r for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
skipped = [r for r in results if r.status == Status.SKIPPED]
for r in results:
    where = f"[{r.resource_type}] " if r.resource_type else ""
    line = f"{r.status.name:10} {where}{r.title}"
    if r.status != Status.SUCCESS and r.reason:
        line += " — " + " ".join(str(r.reason).split())[:400]
    print(line)
counts = {}
for r in results:
    counts[r.status.name] = counts.get(r.status.name, 0) + 1
print("== scim2-tester:", ", ".join(f"{k.lower()} {v}" for k, v in sorted(counts.items())))
sys.exit(1 if failed or not results else 0)
PY

if grep -q 'internal error' "$work/server.log"; then
  echo "the server logged internal errors:" >&2
  grep -A3 'internal error' "$work/server.log" | head -40 >&2
  status=1
fi
echo "== scim2-tester: done in $(( $(date +%s) - started )) s (exit $status)"
exit "$status"
