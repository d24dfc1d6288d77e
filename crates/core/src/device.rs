//! Device cookies (OWASP, "Slow down online guessing attacks with device cookies"): after a
//! successful sign-in a browser gets a cookie, signed with a key derived from the master key,
//! that binds the account's email key and when it was issued. A later sign-in attempt for that
//! account carrying it is counted against the cookie's own throttle instead of the source
//! address's, so guesses from a shared address do not lock out people who signed in before.

use crate::clock::Random;
use crate::crypto::Keyring;
use crate::error::Result;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::{Duration, OffsetDateTime};

/// How long a device cookie stays valid after it was issued (each sign-in issues a new one).
pub const DEVICE_COOKIE_TTL: Duration = Duration::days(180);
/// The purpose its MAC key is derived for.
const PURPOSE: &str = "device cookie";
const VERSION: &str = "v1";

fn message(nonce: &str, issued: i64, email_key: &str) -> String {
    format!("{VERSION}.{nonce}.{issued}.{email_key}")
}

/// A new device cookie for the account `email_key`: `v1.<nonce>.<issued unix s>.<mac>`. The
/// email key is bound by the MAC, not written in the cookie.
pub fn issue(keys: &Keyring, random: &dyn Random, email_key: &str, now: OffsetDateTime) -> Result<String> {
    let mut nonce = [0u8; 16];
    random.fill(&mut nonce);
    let nonce = URL_SAFE_NO_PAD.encode(nonce);
    let issued = now.unix_timestamp();
    let tag = keys.mac(PURPOSE, message(&nonce, issued, email_key).as_bytes())?;
    Ok(format!("{VERSION}.{nonce}.{issued}.{}", URL_SAFE_NO_PAD.encode(tag)))
}

/// The device's id (the key of its own throttle) when `cookie` is a device cookie this server
/// signed for `email_key`, issued at most `DEVICE_COOKIE_TTL` ago and not in the future.
/// Anything else, malformed included, is simply no device.
pub fn verify(keys: &Keyring, cookie: &str, email_key: &str, now: OffsetDateTime) -> Option<String> {
    let mut parts = cookie.split('.');
    let (version, nonce, issued, tag) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version != VERSION || parts.next().is_some() || nonce.len() != 22 || tag.len() > 64 {
        return None;
    }
    let issued: i64 = issued.parse().ok()?;
    let at = OffsetDateTime::from_unix_timestamp(issued).ok()?;
    if at > now + Duration::minutes(5) || now - at > DEVICE_COOKIE_TTL {
        return None;
    }
    let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
    keys.verify_mac(PURPOSE, message(nonce, issued, email_key).as_bytes(), &tag).then(|| nonce.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;
    use crate::crypto::{Key, new_key_base64};

    #[test]
    fn a_device_cookie_is_bound_to_its_account_its_key_and_its_lifetime() {
        let ring = Keyring::new(vec![Key::from_base64(&new_key_base64(&OsRandom)).unwrap()]).unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let cookie = issue(&ring, &OsRandom, "ada@example.com", now).unwrap();
        let id = verify(&ring, &cookie, "ada@example.com", now).expect("valid");
        assert!(cookie.contains(&id) && !cookie.contains("ada"), "{cookie}");
        assert_ne!(issue(&ring, &OsRandom, "ada@example.com", now).unwrap(), cookie, "each cookie is a new device id");
        assert_eq!(verify(&ring, &cookie, "bob@example.com", now), None, "another account");
        assert_eq!(verify(&ring, &cookie, "ada@example.com", now + DEVICE_COOKIE_TTL + Duration::seconds(1)), None, "expired");
        assert_eq!(verify(&ring, &cookie, "ada@example.com", now - Duration::hours(1)), None, "from the future");
        let other = Keyring::new(vec![Key::from_base64(&new_key_base64(&OsRandom)).unwrap()]).unwrap();
        assert_eq!(verify(&other, &cookie, "ada@example.com", now), None, "another server's key");
        let mut forged = cookie.clone();
        let swapped = if &forged[3..4] == "A" { "B" } else { "A" };
        forged.replace_range(3..4, swapped);
        assert_eq!(verify(&ring, &forged, "ada@example.com", now), None, "a changed nonce");
        for junk in
            ["", "v1", "v1...", "v1.a.b.c.d", "v2.AAAAAAAAAAAAAAAAAAAAAA.1.AA", "\u{202e}", "v1.AAAAAAAAAAAAAAAAAAAAAA.-99999999999999.AA"]
        {
            assert_eq!(verify(&ring, junk, "ada@example.com", now), None, "{junk:?}");
        }
    }
}
