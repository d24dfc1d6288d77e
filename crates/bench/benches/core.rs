//! The core's hot paths in process: a decision through the index at 1,000,000 shares, API
//! token validation, the password policy, and audit-chain hashing.
//!
//! `cargo bench -p keyward-bench` (not run by CI, which only builds it).

use criterion::{Criterion, criterion_group, criterion_main};
use keyward_bench::{SHARES_PER_RESOURCE, Sizes, pair, user, user_id};
use keyward_core::RequestMeta;
use keyward_core::chain::{ChainKeys, GENESIS, StoredEvent};
use keyward_core::crypto::{Key, Keyring};
use keyward_core::index::AuthzIndex;
use keyward_core::model::{ApiToken, AuditEvent};
use keyward_core::password::{Password, PasswordPolicy};
use keyward_core::secret::token_hash;
use keyward_core::types::TokenId;
use serde_json::json;
use std::hint::black_box;
use time::OffsetDateTime;

/// A hash in the stored format; the index never verifies it.
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$a2V5d2FyZC1iZW5jaC1zYWx0$2pMJwGhlVwCz+4sQmFzXGwPPbkXdVuC9nWbl8Uo7Yhs";

fn decisions(c: &mut Criterion) {
    let s = Sizes::FULL;
    let index = keyward_bench::index(&s, SHARES_PER_RESOURCE, HASH);
    let now = OffsetDateTime::now_utc();
    let mut n = 0u64;
    c.bench_function("decide through the index, 1M shares", |b| {
        b.iter(|| {
            n += 1;
            let (u, r) = pair(&s, n);
            black_box(index.decision(u, r, now))
        })
    });
    let mut n = 0u64;
    c.bench_function("100 decisions under one read, 1M shares", |b| {
        b.iter(|| {
            n += 100;
            black_box(index.decisions((0..100).map(|i| pair(&s, n + i)), now))
        })
    });
}

fn tokens(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc();
    let secrets: Vec<String> = (0..10_000).map(|i| format!("bench-token-secret-{i:08}-{}", "x".repeat(24))).collect();
    let tokens = secrets
        .iter()
        .enumerate()
        .map(|(i, secret)| ApiToken {
            id: TokenId::new(),
            user_id: user_id(i),
            name: format!("token {i}"),
            token_hash: token_hash(secret),
            created_at: now,
            expires_at: None,
            last_used_at: None,
            scopes: None,
        })
        .collect();
    let users = (0..10_000).map(|i| user(i, HASH, now)).collect();
    let index = AuthzIndex::from_rows(users, &[], Vec::new(), &[], tokens);
    let mut n = 0usize;
    c.bench_function("API token validation (hash + index lookup)", |b| {
        b.iter(|| {
            n = (n + 1) % secrets.len();
            black_box(index.token(&token_hash(&secrets[n])))
        })
    });
}

fn password_policy(c: &mut Criterion) {
    let policy = PasswordPolicy::default();
    let inputs = ["ada@example.com", "Ada Lovelace"];
    let strong = Password::new("Correct-Horse-7-Battery");
    let weak = Password::new("Password1!");
    c.bench_function("password policy, a strong password", |b| b.iter(|| black_box(policy.check(&strong, &inputs).is_ok())));
    c.bench_function("password policy, a common password", |b| b.iter(|| black_box(policy.check(&weak, &inputs).is_ok())));
}

fn audit_hashing(c: &mut Criterion) {
    let ring = Keyring::new(vec![Key::from_bytes(&[7u8; 32]).expect("a 32-byte key")]).expect("a keyring");
    let keys = ChainKeys::from_keyring(&ring);
    let meta = RequestMeta { ip: Some("203.0.113.7".into()), user_agent: Some("Mozilla/5.0 bench".into()), ..RequestMeta::default() };
    let event = AuditEvent::anonymous(&meta, Some(user_id(1)), "resource.update", OffsetDateTime::now_utc())
        .target("resource", keyward_bench::resource_id(1))
        .details(json!({ "name": { "before": "Workflow 1", "after": "Workflow 1 (nightly)" } }));
    let mut stored = StoredEvent::of(&event);
    let mut seq = 0i64;
    c.bench_function("audit chain: link one event", |b| {
        b.iter(|| {
            seq += 1;
            keys.link(&mut stored, seq, GENESIS);
            black_box(&stored.chain);
        })
    });
}

criterion_group!(benches, decisions, tokens, password_policy, audit_hashing);
criterion_main!(benches);
