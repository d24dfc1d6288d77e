#!/usr/bin/env bash
# Installs the tests' OpenID Provider (npm oidc-provider, the version pinned in
# crates/testkit/oidc/package-lock.json) into crates/testkit/oidc/node_modules, which is not
# committed. The SSO tests run this when it is missing; CI runs it before the tests.
set -euo pipefail
cd "$(dirname "$0")/../crates/testkit/oidc"
if [ ! -f node_modules/oidc-provider/package.json ]; then
  npm ci --silent --no-audit --no-fund >&2
fi
echo "$(pwd)/idp.mjs"
