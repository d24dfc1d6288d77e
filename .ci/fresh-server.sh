# Sourced by the CI checks that need a running Keyward: starts `keyward serve` (the debug binary
# `cargo test` built, or builds it) on a fresh data directory with an admin made by
# `keyward init`, stops it and removes everything on exit, and mints tokens as the admin.
# Sets: work (scratch directory), base (the server's URL), server_pid.

fresh_server() { # LABEL
  local bin="$CARGO_TARGET_DIR/debug/keyward"
  if [ ! -x "$bin" ]; then
    cargo build --quiet --bin keyward
  fi
  work="$(mktemp -d)"
  server_pid=""
  trap fresh_server_cleanup EXIT
  local port
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  base="http://127.0.0.1:$port"
  admin_email="ci-admin@example.com"
  admin_password="CI-Admin-Passw0rd-$RANDOM!"
  echo "== $1: a fresh server at $base"
  printf '%s\n' "$admin_password" | "$bin" init --data-dir "$work/data" --admin-email "$admin_email" --full-name "CI Admin" --password-stdin
  KEYWARD_LOG_LEVEL=warn "$bin" serve --data-dir "$work/data" --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    curl -fsS "$base/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "$base/readyz" >/dev/null
}

fresh_server_cleanup() {
  if [ -n "$server_pid" ]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}

# Prints a token the admin creates at PATH (`/api/v1/me/tokens`, `/api/v1/scim/tokens`) named
# NAME: signs in, then posts with the session's CSRF token, as the pages do.
admin_token() { # PATH NAME
  local login csrf
  login="$(curl -fsS -c "$work/cookies" -H 'content-type: application/json' \
    -d "{\"email\":\"$admin_email\",\"password\":\"$admin_password\"}" "$base/api/v1/auth/login")"
  csrf="$(printf '%s' "$login" | python3 -c 'import json, sys; print(json.load(sys.stdin)["csrf_token"])')"
  curl -fsS -b "$work/cookies" -H "x-csrf-token: $csrf" -H 'content-type: application/json' \
    -d "{\"name\":\"$2\"}" "$base$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
