//! Where a request comes from and where a browser may be sent: anonymous state changes only
//! from Keyward's own origin, and post-sign-in destinations only on it.

use crate::config::{Config, origin_of};
use crate::error::error_response;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

/// The code of a refused cross-site request.
pub const CROSS_SITE_CODE: &str = "cross_site_request";
/// What the person is told.
pub const CROSS_SITE_MESSAGE: &str = "This request came from another site. Open Keyward's own page and try again.";

/// Whether a browser sent this request from another site: `Sec-Fetch-Site: cross-site`, or an
/// `Origin` (any of them) that is none of `allowed`, `null` included. Requests without either
/// header (curl, the platform's services) are not browsers acting for someone else: they pass.
pub fn is_cross_site(headers: &HeaderMap, allowed: &[String]) -> bool {
    if headers.get_all("sec-fetch-site").iter().any(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site")) {
        return true;
    }
    headers.get_all(header::ORIGIN).iter().any(|v| match v.to_str().ok().and_then(origin_of) {
        Some(origin) => !allowed.contains(&origin),
        // `null` (a sandboxed frame, a redirect chain), garbage or non-UTF-8: not ours.
        None => true,
    })
}

/// The origins anonymous changes may come from: `public_url`'s, and, only while `public_url` is
/// not configured (it then defaults to `http://<listen>`, which a browser may not use: `0.0.0.0`,
/// `localhost`), also `http://<Host>`, the address this browser used. Why that is still safe:
/// the victim's browser sets `Host` to the server it sends to, so a page on another site never
/// matches it; a configured `public_url` is the one address, strictly.
pub fn allowed_origins(headers: &HeaderMap, config: &Config) -> Vec<String> {
    let mut out = vec![config.public_origin()];
    if config.public_url.is_none()
        && let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok())
        && let Some(origin) = origin_of(&format!("http://{host}"))
    {
        out.push(origin);
    }
    out
}

/// `is_cross_site` against the origins this server accepts.
pub fn refused_cross_site(headers: &HeaderMap, config: &Config) -> bool {
    is_cross_site(headers, &allowed_origins(headers, config))
}

/// An anonymous request that changes state (sign-in, the MFA step, password reset, accepting an
/// invitation or the set-up link) and is refused when a browser sends it from another site.
/// Why: these need no session, so the CSRF token cannot guard them; without this, a foreign
/// page could sign a victim's browser into the attacker's account (login CSRF) and watch what
/// they then store in it. Rejection: 403 `cross_site_request` in the API's error shape.
pub struct SameOrigin;

impl FromRequestParts<AppState> for SameOrigin {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if refused_cross_site(&parts.headers, &state.config) {
            return Err(error_response(StatusCode::FORBIDDEN, CROSS_SITE_CODE, CROSS_SITE_MESSAGE, None));
        }
        Ok(SameOrigin)
    }
}

/// The longest destination kept; longer ones go to `/`.
const MAX_NEXT: usize = 2048;

/// The post-sign-in destination for `next`: a path on `public_url`'s origin, or `/`.
///
/// Why so strict: a link `…/login?next=…` from an attacker must not send a freshly signed-in
/// person to another site (open redirect, phishing). `next` is resolved against `public_url`
/// and kept only when it stays on that origin; anything a browser, proxy or the URL parser
/// might read differently is refused outright: control characters, whitespace, backslashes,
/// scheme-relative forms (`//evil`, `/\evil`), in the raw value or percent-decoded.
pub fn safe_next(next: &str, public_url: &str) -> String {
    resolve_next(next, public_url).unwrap_or_else(|| "/".to_owned())
}

fn resolve_next(next: &str, public_url: &str) -> Option<String> {
    if next.is_empty() || next.len() > MAX_NEXT {
        return None;
    }
    // Two rounds of decoding catch a double-encoded `%252F%252F` too.
    let once = percent_decode(next);
    let twice = percent_decode(&once);
    for form in [next, &once, &twice] {
        // `/%2F%2Fevil` and `/%5Cevil` are scheme-relative once a proxy decodes them.
        if form.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') || form.starts_with("//") {
            return None;
        }
    }
    let base = url::Url::parse(public_url).ok()?;
    let resolved = base.join(next).ok()?;
    if resolved.origin() != base.origin() {
        return None;
    }
    let mut out = resolved.path().to_owned();
    if let Some(q) = resolved.query() {
        out.push('?');
        out.push_str(q);
    }
    // The resolved path itself must not read as scheme-relative (`/.//evil` → `//evil`).
    (out.starts_with('/') && !out.starts_with("//")).then_some(out)
}

/// `%XX` sequences decoded (invalid ones kept as they are); bytes that are not UTF-8 become U+FFFD.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b)))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://kw.example.com";

    #[test]
    fn only_paths_on_this_origin_survive() {
        for (next, want) in [
            ("/resources", "/resources"),
            ("/settings/users?q=ann&status=active", "/settings/users?q=ann&status=active"),
            ("https://kw.example.com/account", "/account"),
            ("/a/../settings", "/settings"),
            ("resources", "/resources"),
        ] {
            assert_eq!(safe_next(next, BASE), want, "{next}");
        }
    }

    #[test]
    fn everything_that_could_leave_is_refused() {
        for next in [
            "",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/%2F%2Fevil.example",
            "/%2f/evil.example",
            "/%5Cevil.example",
            "/%255C%255Cevil.example",
            "/%252F%252Fevil.example",
            "/\tevil",
            "/%09/evil.example",
            "/ok\r\nSet-Cookie: x=1",
            "/ok%0d%0aLocation:%20https://evil.example",
            "/%00",
            "/a b",
            "/a\u{a0}b",
            "/a%C2%A0b",
            "https://evil.example/",
            "http://kw.example.com/",
            "https://kw.example.com:8443/",
            "https://kw.example.com.evil.example/",
            "javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "/.//evil.example",
            "///evil.example",
        ] {
            assert_eq!(safe_next(next, BASE), "/", "{next:?}");
        }
        assert_eq!(safe_next(&format!("/{}", "a".repeat(3000)), BASE), "/");
    }

    #[test]
    fn the_browsers_own_address_counts_only_without_a_configured_public_url() {
        let mut h = HeaderMap::new();
        h.insert("host", axum::http::HeaderValue::from_static("localhost:8080"));
        h.insert("origin", axum::http::HeaderValue::from_static("http://localhost:8080"));
        let unset = Config { listen: "0.0.0.0:8080".into(), ..Config::default() };
        assert!(!refused_cross_site(&h, &unset), "zero configuration, opened as localhost");
        let set = Config { public_url: Some("https://kw.example.com".into()), ..Config::default() };
        assert!(refused_cross_site(&h, &set), "a configured public_url is the one origin");
        h.insert("origin", axum::http::HeaderValue::from_static("https://evil.example"));
        assert!(refused_cross_site(&h, &unset));
    }

    #[test]
    fn cross_site_is_told_by_origin_or_fetch_metadata() {
        let origin = &["http://127.0.0.1:8080".to_owned()][..];
        let headers = |pairs: &[(&'static str, &[u8])]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.append(*k, axum::http::HeaderValue::from_bytes(v).unwrap());
            }
            h
        };
        assert!(!is_cross_site(&headers(&[]), origin), "no browser headers: a script or service");
        assert!(!is_cross_site(&headers(&[("origin", b"http://127.0.0.1:8080")]), origin));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", b"same-origin")]), origin));
        assert!(!is_cross_site(&headers(&[("sec-fetch-site", b"none")]), origin), "typed in the address bar");
        assert!(is_cross_site(&headers(&[("origin", b"https://evil.example")]), origin));
        assert!(is_cross_site(&headers(&[("origin", b"null")]), origin));
        assert!(is_cross_site(&headers(&[("origin", b"\xff\xfe")]), origin));
        assert!(is_cross_site(&headers(&[("origin", b"http://127.0.0.1:8081")]), origin));
        assert!(is_cross_site(&headers(&[("sec-fetch-site", b"cross-site")]), origin));
        assert!(is_cross_site(&headers(&[("origin", b"http://127.0.0.1:8080"), ("sec-fetch-site", b"cross-site")]), origin));
    }
}
