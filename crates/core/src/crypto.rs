//! Secrets at rest: AEAD (XChaCha20-Poly1305) under keys that never live in the database.
//!
//! A sealed value is `version ‖ key id ‖ nonce ‖ ciphertext`, base64 in a TEXT column. The key
//! id names the key that sealed it, so keys can be rotated; the associated data binds each
//! value to its row, so ciphertexts cannot be moved between rows.

use crate::clock::Random;
use crate::error::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 8;
const NONCE_LEN: usize = 24;

/// One 256-bit key and its id (the first 8 bytes of its SHA-256).
#[derive(Clone)]
pub struct Key {
    id: [u8; KEY_ID_LEN],
    cipher: XChaCha20Poly1305,
    /// The key itself, only for deriving purpose-bound keys (`derive`).
    secret: [u8; 32],
}

impl Key {
    /// A key from 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Key> {
        let cipher = XChaCha20Poly1305::new_from_slice(bytes).map_err(|_| Error::internal_msg("an encryption key must be 32 bytes"))?;
        let digest = Sha256::digest(bytes);
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        let mut secret = [0u8; 32];
        secret.copy_from_slice(bytes);
        Ok(Key { id, cipher, secret })
    }

    /// A key from its base64 text (as in the key file or `KEYWARD_MASTER_KEY`).
    pub fn from_base64(text: &str) -> Result<Key> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| Error::internal_msg("an encryption key must be base64"))?;
        Key::from_bytes(&bytes)
    }

    /// The key id in hex, for logs and listings (never the key).
    pub fn id_hex(&self) -> String {
        hex::encode(self.id)
    }

    /// A 256-bit key for one purpose, `HMAC-SHA256(key, label)`. Why: each use (sealing, the
    /// audit chain, …) gets its own key, so a key exposed through one use opens nothing else.
    pub fn derive(&self, label: &str) -> [u8; 32] {
        hmac_sha256(&self.secret, &[label.as_bytes()])
    }

    /// HMAC-SHA256 of `message` under the key derived from this one for `purpose`.
    ///
    /// Why derived: a key used for one purpose (sealing) is never used for another (signing),
    /// and each purpose gets its own key, so a MAC made for one can never pass for another.
    fn mac(&self, purpose: &str, message: &[u8]) -> Result<[u8; 32]> {
        Ok(hmac_sha256(&self.derive(&format!("keyward derived key v1: {purpose}")), &[message]))
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.id_hex())
    }
}

/// The keys Keyward holds: the current one seals, any of them opens.
#[derive(Clone, Debug)]
pub struct Keyring {
    keys: Vec<Key>,
}

impl Keyring {
    /// A keyring whose first key is the current one.
    pub fn new(keys: Vec<Key>) -> Result<Keyring> {
        if keys.is_empty() {
            return Err(Error::internal_msg("the keyring needs at least one key"));
        }
        Ok(Keyring { keys })
    }

    /// The key that seals new values (the first).
    pub fn current(&self) -> &Key {
        &self.keys[0]
    }

    /// Every key, the current one first.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// Seals `plaintext`, bound to `aad` (the row it belongs to).
    pub fn seal(&self, random: &dyn Random, plaintext: &[u8], aad: &str) -> Result<String> {
        let key = self.current();
        let mut nonce = [0u8; NONCE_LEN];
        random.fill(&mut nonce);
        let ct = key
            .cipher
            .encrypt(&XNonce::from(nonce), Payload { msg: plaintext, aad: aad.as_bytes() })
            .map_err(|_| Error::internal_msg("encryption failed"))?;
        let mut out = Vec::with_capacity(1 + KEY_ID_LEN + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(STANDARD.encode(out))
    }

    /// Opens a sealed value; fails if it was sealed for another row or under an unknown key.
    pub fn open(&self, sealed: &str, aad: &str) -> Result<Vec<u8>> {
        let raw = STANDARD.decode(sealed).map_err(|_| Error::internal_msg("sealed value is not base64"))?;
        if raw.len() < 1 + KEY_ID_LEN + NONCE_LEN || raw[0] != VERSION {
            return Err(Error::internal_msg("sealed value has an unknown format"));
        }
        let id = &raw[1..1 + KEY_ID_LEN];
        let key =
            self.keys.iter().find(|k| k.id == id).ok_or_else(|| Error::internal_msg("sealed under a key this server does not have"))?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&raw[1 + KEY_ID_LEN..1 + KEY_ID_LEN + NONCE_LEN]);
        key.cipher
            .decrypt(&XNonce::from(nonce), Payload { msg: &raw[1 + KEY_ID_LEN + NONCE_LEN..], aad: aad.as_bytes() })
            .map_err(|_| Error::internal_msg("a sealed value failed authentication"))
    }

    /// A MAC of `message` for `purpose` under the current key.
    pub fn mac(&self, purpose: &str, message: &[u8]) -> Result<[u8; 32]> {
        self.current().mac(purpose, message)
    }

    /// Whether `tag` is a MAC of `message` for `purpose` under any key of the ring (so a key
    /// rotation does not void what the old key signed), compared in constant time.
    pub fn verify_mac(&self, purpose: &str, message: &[u8], tag: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        self.keys.iter().any(|k| k.mac(purpose, message).is_ok_and(|m| bool::from(m.as_slice().ct_eq(tag))))
    }

    /// The id of the key that sealed `sealed`, if readable.
    pub fn key_id_of(sealed: &str) -> Option<String> {
        let raw = STANDARD.decode(sealed).ok()?;
        raw.get(1..1 + KEY_ID_LEN).map(hex::encode)
    }
}

/// HMAC-SHA256 under a 256-bit key over the concatenation of `parts`.
pub fn hmac_sha256(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    // HMAC pads a key shorter than the hash's 64-byte block with zeros; padding it here gives the
    // same MAC through the fixed-size constructor, which cannot fail.
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into());
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// A new random key, base64, for a key file.
pub fn new_key_base64(random: &dyn Random) -> String {
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes);
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;

    #[test]
    fn seal_open_bind_and_rotate() {
        let old = Key::from_base64(&new_key_base64(&OsRandom)).unwrap();
        let ring = Keyring::new(vec![old.clone()]).unwrap();
        let sealed = ring.seal(&OsRandom, b"JBSWY3DPEHPK3PXP", "totp:u1").unwrap();
        assert!(!sealed.contains("JBSWY3DPEHPK3PXP"));
        assert_eq!(ring.open(&sealed, "totp:u1").unwrap(), b"JBSWY3DPEHPK3PXP");
        assert!(ring.open(&sealed, "totp:u2").is_err(), "bound to its row");
        let new = Key::from_base64(&new_key_base64(&OsRandom)).unwrap();
        let rotated = Keyring::new(vec![new.clone(), old.clone()]).unwrap();
        assert_eq!(rotated.open(&sealed, "totp:u1").unwrap(), b"JBSWY3DPEHPK3PXP", "old keys still open");
        let resealed = rotated.seal(&OsRandom, b"x", "a").unwrap();
        assert_eq!(Keyring::key_id_of(&resealed).unwrap(), new.id_hex());
        assert!(Keyring::new(vec![old]).unwrap().open(&resealed, "a").is_err(), "unknown key");
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2: key "Jefe" (HMAC pads it with zeros, as the 32-byte form does).
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let mac = hmac_sha256(&key, &[b"what do ya want ", b"for nothing?"]);
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn macs_are_per_purpose_and_survive_rotation() {
        let old = Key::from_base64(&new_key_base64(&OsRandom)).unwrap();
        let ring = Keyring::new(vec![old.clone()]).unwrap();
        let tag = ring.mac("device", b"m").unwrap();
        assert!(ring.verify_mac("device", b"m", &tag));
        assert!(!ring.verify_mac("other", b"m", &tag), "bound to its purpose");
        assert!(!ring.verify_mac("device", b"n", &tag));
        assert!(!ring.verify_mac("device", b"m", &tag[..31]));
        let new = Key::from_base64(&new_key_base64(&OsRandom)).unwrap();
        assert!(Keyring::new(vec![new, old]).unwrap().verify_mac("device", b"m", &tag), "old keys still verify");
    }
}
