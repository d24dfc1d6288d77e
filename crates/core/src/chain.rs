//! The audit log's keyed hash chain (DESIGN.md §6, docs/audit.md): every event gets the next
//! sequence position and `chain = HMAC-SHA256(k, prev_chain ‖ canonical(event))`, where `k` is
//! derived from a master key that is not in the database. Someone who can write the database
//! but does not hold the key cannot change, remove or reorder events and repair the chain.

use crate::crypto::{Keyring, hmac_sha256};
use crate::model::AuditEvent;

/// The label the chain key is derived under (`Key::derive`).
const KEY_LABEL: &str = "keyward audit chain v1";
/// The first bytes of every canonical form; a new encoding would get a new tag.
const CANONICAL_TAG: &[u8] = b"keyward-audit-v1";
/// The chain value before the first event: 32 zero bytes, in hex.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An audit event in its stored form: every column exactly as the database holds it (times in
/// unix milliseconds, JSON as text), so that verifying never depends on parsing what may have
/// been tampered with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredEvent {
    /// The position in the chain, from 1.
    pub seq: i64,
    /// The event's id.
    pub id: String,
    /// When it happened, unix milliseconds.
    pub at_ms: i64,
    /// `user`, `anonymous`, `cli`, `system` or `scim`.
    pub actor_kind: String,
    /// The acting user's id, as text.
    pub actor_id: Option<String>,
    /// What happened (`auth.login`, …).
    pub action: String,
    /// The kind of thing acted on.
    pub target_type: Option<String>,
    /// The id of the thing acted on.
    pub target_id: Option<String>,
    /// The client address.
    pub ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// JSON text.
    pub details: String,
    /// The id of the master key the chain key was derived from (hex).
    pub key_id: String,
    /// The chain value, hex.
    pub chain: String,
    /// The actor's email and name at reading time (joined for display and export; not chained).
    pub actor_email: Option<String>,
    /// See `actor_email`.
    pub actor_name: Option<String>,
}

impl StoredEvent {
    /// The stored form of a new event, not yet placed in the chain.
    pub fn of(e: &AuditEvent) -> StoredEvent {
        StoredEvent {
            seq: 0,
            id: e.id.to_string(),
            at_ms: (e.at.unix_timestamp_nanos() / 1_000_000) as i64,
            actor_kind: e.actor_kind.as_str().to_owned(),
            actor_id: e.actor_id.map(|a| a.to_string()),
            action: e.action.clone(),
            target_type: e.target_type.clone(),
            target_id: e.target_id.clone(),
            ip: e.ip.clone(),
            user_agent: e.user_agent.clone(),
            details: e.details.to_string(),
            key_id: String::new(),
            chain: String::new(),
            actor_email: None,
            actor_name: None,
        }
    }
}

/// The canonical bytes of a stored event: a tag, then every chained field in a fixed order,
/// integers as 8 big-endian bytes, text as a 4-byte big-endian length and its UTF-8 bytes, an
/// absent value as one 0 byte and a present one as a 1 byte before it. Lengths make the encoding
/// unambiguous: no two different events have the same bytes.
pub fn canonical(e: &StoredEvent) -> Vec<u8> {
    fn text(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u32).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    fn opt(out: &mut Vec<u8>, s: &Option<String>) {
        match s {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                text(out, s);
            }
        }
    }
    let mut out = Vec::with_capacity(128 + e.details.len() + e.user_agent.as_ref().map_or(0, String::len));
    out.extend_from_slice(CANONICAL_TAG);
    out.extend_from_slice(&e.seq.to_be_bytes());
    text(&mut out, &e.id);
    out.extend_from_slice(&e.at_ms.to_be_bytes());
    text(&mut out, &e.actor_kind);
    opt(&mut out, &e.actor_id);
    text(&mut out, &e.action);
    opt(&mut out, &e.target_type);
    opt(&mut out, &e.target_id);
    opt(&mut out, &e.ip);
    opt(&mut out, &e.user_agent);
    text(&mut out, &e.details);
    text(&mut out, &e.key_id);
    out
}

/// The chain keys, one per master key (the current one first), so that events chained before
/// a key rotation stay verifiable while the old key is kept.
#[derive(Clone)]
pub struct ChainKeys {
    keys: Vec<(String, [u8; 32])>,
}

impl std::fmt::Debug for ChainKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.keys.iter().map(|(id, _)| id)).finish()
    }
}

impl ChainKeys {
    /// The chain key of every key in the keyring.
    pub fn from_keyring(ring: &Keyring) -> ChainKeys {
        ChainKeys { keys: ring.keys().iter().map(|k| (k.id_hex(), k.derive(KEY_LABEL))).collect() }
    }

    /// The id of the key new events are chained under.
    pub fn current_id(&self) -> &str {
        &self.keys[0].0
    }

    fn key(&self, id: &str) -> Option<&[u8; 32]> {
        self.keys.iter().find(|(k, _)| k == id).map(|(_, key)| key)
    }

    /// Places `e` at `seq` after the chain value `prev`, under the current key.
    pub fn link(&self, e: &mut StoredEvent, seq: i64, prev: &str) {
        e.seq = seq;
        e.key_id = self.current_id().to_owned();
        e.chain = hex::encode(mac(&self.keys[0].1, prev, e));
    }
}

fn mac(key: &[u8; 32], prev: &str, e: &StoredEvent) -> [u8; 32] {
    // A malformed previous value (tampering) still feeds the MAC, so it cannot match.
    let prev_bytes = hex::decode(prev).unwrap_or_default();
    hmac_sha256(key, &[&prev_bytes, &canonical(e)])
}

/// What a check of the whole log found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Whether the whole log fits its chain, up to its recorded head, with nothing outside it.
    pub ok: bool,
    /// How many events fitted before the walk stopped.
    pub events_checked: u64,
    /// The first event that does not fit the chain (changed, or the one after a removal or a
    /// reordering); `None` when the log is intact or only its end is missing.
    pub first_bad_event_id: Option<String>,
    /// What was wrong, in words.
    pub problem: Option<String>,
}

/// Walks the log in sequence order, one event at a time.
pub struct Verifier<'a> {
    keys: &'a ChainKeys,
    prev: String,
    next_seq: i64,
    checked: u64,
}

impl<'a> Verifier<'a> {
    /// A walk from the start of the log (position 1, after `GENESIS`).
    pub fn new(keys: &'a ChainKeys) -> Self {
        Verifier { keys, prev: GENESIS.to_owned(), next_seq: 1, checked: 0 }
    }

    /// The last position checked (0 before the first event).
    pub fn last_seq(&self) -> i64 {
        self.next_seq - 1
    }

    /// The chain value of the last event checked.
    pub fn last_chain(&self) -> &str {
        &self.prev
    }

    /// How many events have fitted so far.
    pub fn checked(&self) -> u64 {
        self.checked
    }

    /// Checks the next event; answers what is wrong with it, if anything.
    pub fn check(&mut self, e: &StoredEvent) -> Result<(), String> {
        if e.seq != self.next_seq {
            return Err(format!(
                "expected position {} but found {}: events were removed or reordered before this one",
                self.next_seq, e.seq
            ));
        }
        let key = self.keys.key(&e.key_id).ok_or_else(|| {
            format!("chained under key {:?}, which this server does not have (restore the key file that held it)", e.key_id)
        })?;
        let expected = hex::encode(mac(key, &self.prev, e));
        // Why constant time: the comparison must not tell an attacker how much of a forged value is right.
        if !bool::from(subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), e.chain.as_bytes())) {
            return Err("its chain value does not match: this event was changed, or an event before it was removed or reordered".to_owned());
        }
        self.prev = e.chain.clone();
        self.next_seq += 1;
        self.checked += 1;
        Ok(())
    }

    /// The report for a failure at `e`.
    pub fn failed_at(&self, e: &StoredEvent, problem: String) -> Verification {
        Verification { ok: false, events_checked: self.checked, first_bad_event_id: Some(e.id.clone()), problem: Some(problem) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::OsRandom;
    use crate::crypto::{Key, new_key_base64};

    fn keys() -> ChainKeys {
        ChainKeys::from_keyring(&Keyring::new(vec![Key::from_base64(&new_key_base64(&OsRandom)).unwrap()]).unwrap())
    }

    fn event(n: i64) -> StoredEvent {
        StoredEvent {
            id: format!("id-{n}"),
            at_ms: 1_700_000_000_000 + n,
            actor_kind: "user".into(),
            action: "user.update".into(),
            details: format!("{{\"n\":{n}}}"),
            ..StoredEvent::default()
        }
    }

    fn chain_of(keys: &ChainKeys, n: i64) -> Vec<StoredEvent> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|i| {
                let mut e = event(i);
                keys.link(&mut e, i, &prev);
                prev = e.chain.clone();
                e
            })
            .collect()
    }

    fn first_bad(keys: &ChainKeys, events: &[StoredEvent]) -> Option<String> {
        let mut v = Verifier::new(keys);
        events.iter().find(|e| v.check(e).is_err()).map(|e| e.id.clone())
    }

    #[test]
    fn canonical_form_is_unambiguous() {
        let a = StoredEvent { target_type: Some("ab".into()), target_id: Some("c".into()), ..event(1) };
        let b = StoredEvent { target_type: Some("a".into()), target_id: Some("bc".into()), ..event(1) };
        assert_ne!(canonical(&a), canonical(&b));
        let none = StoredEvent { ip: None, ..event(1) };
        let empty = StoredEvent { ip: Some(String::new()), ..event(1) };
        assert_ne!(canonical(&none), canonical(&empty));
    }

    #[test]
    fn changes_removals_reorderings_and_forgeries_are_found() {
        let k = keys();
        let log = chain_of(&k, 6);
        assert_eq!(first_bad(&k, &log), None);

        let mut changed = log.clone();
        changed[2].details = "{\"n\":99}".into();
        assert_eq!(first_bad(&k, &changed).as_deref(), Some("id-3"));

        let mut removed = log.clone();
        removed.remove(3);
        assert_eq!(first_bad(&k, &removed).as_deref(), Some("id-5"), "the event after the gap");

        let mut swapped = log.clone();
        swapped.swap(1, 4);
        (swapped[1].seq, swapped[4].seq) = (2, 5);
        assert_eq!(first_bad(&k, &swapped).as_deref(), Some("id-5"));

        // Recomputed with another key, as someone without ours would.
        let mut forged = log.clone();
        forged[3].details = "{\"n\":0}".into();
        let other = keys();
        let mut prev = forged[2].chain.clone();
        for e in forged.iter_mut().skip(3) {
            let seq = e.seq;
            other.link(e, seq, &prev);
            e.key_id = k.current_id().to_owned();
            prev = e.chain.clone();
        }
        assert_eq!(first_bad(&k, &forged).as_deref(), Some("id-4"));
    }

    #[test]
    fn old_keys_keep_old_events_verifiable() {
        let old = Key::from_base64(&new_key_base64(&OsRandom)).unwrap();
        let new = Key::from_base64(&new_key_base64(&OsRandom)).unwrap();
        let before = ChainKeys::from_keyring(&Keyring::new(vec![old.clone()]).unwrap());
        let mut log = chain_of(&before, 2);
        let after = ChainKeys::from_keyring(&Keyring::new(vec![new, old.clone()]).unwrap());
        let mut e = event(3);
        after.link(&mut e, 3, &log[1].chain);
        log.push(e);
        assert_eq!(first_bad(&after, &log), None);
        assert_ne!(log[2].key_id, log[0].key_id);
        let without_old = ChainKeys { keys: after.keys[..1].to_vec() };
        assert_eq!(first_bad(&without_old, &log).as_deref(), Some("id-1"));
    }
}
