#!/usr/bin/env bash
# CI: fuzzes the JSON API with Schemathesis (from PyPI) against its own OpenAPI document, as an
# admin with an API token, for a bounded number of examples per operation, with every check
# (`--checks all`): no 5xx; every status, content type, header and body as documented;
# schema-valid data accepted and invalid data refused (exceptions, each with why, in
# .ci/schemathesis.toml).
#
# Uses the `keyward` binary already built by `cargo test` (debug), or builds it. Settings:
#   SCHEMATHESIS_MAX_EXAMPLES  examples per operation and phase (default 20)
#   SCHEMATHESIS_MAX_TIME      time budget in seconds of the main run (default 180; the policy run
#                              gets a quarter of it)
#   SCHEMATHESIS_SEED          the random seed (default fixed, so that a failure reproduces)
#   SCHEMATHESIS_DATA_CHECKS   0 leaves out the two checks that judge generated data
#   SCHEMATHESIS_VENV          where the Python environment lives (kept between runs)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/keyward-target}"
venv="${SCHEMATHESIS_VENV:-/var/tmp/keyward-schemathesis-venv}"
max_examples="${SCHEMATHESIS_MAX_EXAMPLES:-20}"
max_time="${SCHEMATHESIS_MAX_TIME:-180}"
seed="${SCHEMATHESIS_SEED:-20240601}"
started=$(date +%s)
exclude_checks=()
if [ "${SCHEMATHESIS_DATA_CHECKS:-1}" = 0 ]; then
  exclude_checks=(--exclude-checks positive_data_acceptance,negative_data_rejection)
fi

echo "== schemathesis: install"
if ! command -v curl >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl python3 python3-venv >/dev/null
fi
# Pinned (with the Hypothesis it was checked with), so that a new release's new checks are taken
# on deliberately rather than failing a run that changed nothing.
want='schemathesis==4.32.5 hypothesis==6.170.17'
if [ "$(cat "$venv/.keyward-pins" 2>/dev/null)" != "$want" ]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet $want
  echo "$want" > "$venv/.keyward-pins"
fi
"$venv/bin/st" --version

. "$repo/.ci/fresh-server.sh"
fresh_server schemathesis
# An API token of the admin.
token="$(admin_token /api/v1/me/tokens schemathesis)"

# Two runs: first every operation but the two that could take the fuzzer's own access away
# (revoking its token; a security policy that requires MFA, under which the token may only
# enroll), then the security policy alone, last.
# From the scratch directory: Schemathesis keeps a cache of what it found in the current one.
# One worker: Hypothesis parses lambda sources with `ast`, and CPython 3.11 fails with "AST
# constructor recursion depth mismatch" when two threads do that at once (a tool error, not ours).
fuzz() {
  (cd "$work" && "$venv/bin/st" --config-file "$repo/.ci/schemathesis.toml" run "$base/api/openapi.json" \
    --checks all \
    ${exclude_checks[@]+"${exclude_checks[@]}"} \
    --header "Authorization: Bearer $token" \
    --max-examples "$max_examples" \
    --max-time "$1" \
    --workers 1 \
    --seed "$seed" \
    --request-timeout 10 \
    --suppress-health-check all \
    --warnings off \
    "${@:2}")
}
status=0
if [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$base/api/v1/me")" != 200 ]; then
  echo "the fuzzer's API token does not work" >&2
  exit 1
fi
echo "== schemathesis: every operation (at most $max_examples examples each, $max_time s)"
# /scim/v2 answers SCIM tokens only (the admin's API token gets 401 there before anything is
# read); .ci/scim2-tester.sh checks it with a SCIM token against the SCIM RFCs instead.
fuzz "$max_time" --exclude-path '/api/v1/me/tokens/{id}' --exclude-path '/api/v1/policies/security' --exclude-path-regex '^/scim/' || status=$?
echo "== schemathesis: the security policy"
fuzz $(( max_time / 4 )) --include-path '/api/v1/policies/security' || status=$?

if grep -q 'internal error' "$work/server.log"; then
  echo "the server logged internal errors:" >&2
  grep -A3 'internal error' "$work/server.log" | head -40 >&2
  status=1
fi
echo "== schemathesis: done in $(( $(date +%s) - started )) s (exit $status)"
exit "$status"
