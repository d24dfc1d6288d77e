//! A node's memory of API tokens and access decisions, valid only under the access-data
//! generation it was filled under. Every change that could alter an answer moves the
//! generation on in its own transaction, and every lookup first reads the current generation
//! from the database; so no node answers from a memory older than a committed change.

use crate::access::{Decision, Kind};
use crate::model::{ApiToken, User};
use crate::policy::MfaPolicy;
use crate::types::{ResourceId, UserId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;

/// Entries kept before the memory starts over (it refills on demand).
const MAX_ENTRIES: usize = 200_000;

#[derive(Clone)]
struct Token {
    token: ApiToken,
    user: User,
    valid_until: Option<OffsetDateTime>,
}

#[derive(Clone)]
struct Entry {
    decision: Decision,
    kind: Kind,
    valid_until: Option<OffsetDateTime>,
}

#[derive(Default)]
struct Inner {
    generation: i64,
    tokens: HashMap<String, Token>,
    decisions: HashMap<(UserId, ResourceId), Entry>,
    /// The MFA part of the security policy (saving the policy moves the generation on).
    mfa_policy: Option<Arc<MfaPolicy>>,
}

impl Inner {
    /// Forgets everything when the generation moved on.
    fn at(&mut self, generation: i64) {
        if self.generation != generation {
            self.tokens.clear();
            self.decisions.clear();
            self.mfa_policy = None;
            self.generation = generation;
        }
    }
}

/// See the module documentation.
#[derive(Default)]
pub struct AuthzCache {
    inner: Mutex<Inner>,
}

fn live(valid_until: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
    valid_until.is_none_or(|t| now < t)
}

/// The earliest of several moments (none means "never").
pub fn earliest(times: impl IntoIterator<Item = Option<OffsetDateTime>>) -> Option<OffsetDateTime> {
    times.into_iter().flatten().min()
}

impl AuthzCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The token and its user, if remembered under `generation` and still valid at `now`.
    pub fn token(&self, hash: &str, generation: i64, now: OffsetDateTime) -> Option<(ApiToken, User)> {
        let mut inner = self.lock();
        inner.at(generation);
        inner.tokens.get(hash).filter(|t| live(t.valid_until, now)).map(|t| (t.token.clone(), t.user.clone()))
    }

    pub fn put_token(&self, hash: &str, generation: i64, token: ApiToken, user: User) {
        let valid_until = earliest([token.expires_at, user.access_expires_at]);
        let mut inner = self.lock();
        inner.at(generation);
        if inner.tokens.len() >= MAX_ENTRIES {
            inner.tokens.clear();
        }
        inner.tokens.insert(hash.to_owned(), Token { token, user, valid_until });
    }

    /// Records that a token was just used (its last-used time is written at most once a minute).
    pub fn touched(&self, hash: &str, at: OffsetDateTime) {
        if let Some(t) = self.lock().tokens.get_mut(hash) {
            t.token.last_used_at = Some(at);
        }
    }

    /// A decision, if remembered under `generation` and still valid at `now`.
    pub fn decision(&self, user: UserId, resource: ResourceId, generation: i64, now: OffsetDateTime) -> Option<(Decision, Kind)> {
        let mut inner = self.lock();
        inner.at(generation);
        inner.decisions.get(&(user, resource)).filter(|e| live(e.valid_until, now)).map(|e| (e.decision.clone(), e.kind))
    }

    /// Remembers a decision until the earliest moment it could change by itself (a share or the
    /// user's access ending).
    pub fn put_decision(
        &self,
        user: UserId,
        resource: ResourceId,
        generation: i64,
        decision: Decision,
        kind: Kind,
        valid_until: Option<OffsetDateTime>,
    ) {
        let mut inner = self.lock();
        inner.at(generation);
        if inner.decisions.len() >= MAX_ENTRIES {
            inner.decisions.clear();
        }
        inner.decisions.insert((user, resource), Entry { decision, kind, valid_until });
    }

    /// The MFA policy, if remembered under `generation`.
    pub fn mfa_policy(&self, generation: i64) -> Option<Arc<MfaPolicy>> {
        let mut inner = self.lock();
        inner.at(generation);
        inner.mfa_policy.clone()
    }

    pub fn put_mfa_policy(&self, generation: i64, policy: Arc<MfaPolicy>) {
        let mut inner = self.lock();
        inner.at(generation);
        inner.mfa_policy = Some(policy);
    }
}
