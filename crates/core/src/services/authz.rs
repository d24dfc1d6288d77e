//! Authorization: the check, batch-check, explain and lookup API the platform asks, answered
//! from the node's index (no SQL in the steady state) and from the database while the index
//! may not answer; and the sentence that says why.

use crate::Keyward;
use crate::access::{self, Action, Decision, Kind, Level, Path, Subject};
use crate::context::Actor;
use crate::error::{Error, Result};
use crate::index::Missing;
use crate::model::Resource;
use crate::policy::Capability;
use crate::types::{ResourceId, UserId};

/// The most checks one batch may hold.
pub const MAX_BATCH: usize = 1000;
/// The most resource ids one lookup page may hold.
pub const MAX_LOOKUP: usize = 1000;

/// One answer of the check API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// The user's effective level on the resource (`Level::None` when either is missing).
    pub level: Level,
    /// Why, in a sentence (`reason`).
    pub reason: String,
}

/// One check of a batch.
#[derive(Debug, Clone)]
pub struct CheckRequest {
    /// The user asked about.
    pub user_id: UserId,
    /// What they would do.
    pub action: Action,
    /// To which resource.
    pub resource_id: ResourceId,
}

/// A sentence saying why `decision` allows or refuses `action`.
pub fn reason(decision: &Decision, action: Action, kind: Kind) -> String {
    if decision.inactive {
        return "The user is deactivated or past their access end date.".into();
    }
    if !action.applies_to(kind) {
        return format!("The action {} does not apply to a {}.", action.as_str(), kind.as_str());
    }
    let best = decision.paths.iter().max_by_key(|p| access::path_level(p));
    let source = match best {
        None => "no share, team or ownership gives access".to_owned(),
        Some(Path::Admin) => "admin".into(),
        Some(Path::Owner) => "owner".into(),
        Some(Path::ProjectOwner) => "owner of the workspace's project".into(),
        Some(Path::Share { subject, level, via_project, .. }) => {
            let whom = match subject {
                Subject::User(_) => "shared with the user".to_owned(),
                Subject::Team(t) => format!("shared with team {t}"),
                Subject::AllUsers => "shared with all users".to_owned(),
            };
            format!("{whom} at {}{}", level.as_str(), if *via_project { " on the workspace's project" } else { "" })
        }
    };
    let cap = if decision.capped { "; capped by the viewer role" } else { "" };
    format!("{source}{cap}; effective level {}", decision.level.as_str())
}

fn refuse(reason: &str) -> CheckResult {
    CheckResult { allowed: false, level: Level::None, reason: reason.to_owned() }
}

fn answer(found: std::result::Result<(Decision, Kind), Missing>, action: Action) -> CheckResult {
    match found {
        Ok((decision, kind)) => {
            CheckResult { allowed: access::allows(&decision, action, kind), level: decision.level, reason: reason(&decision, action, kind) }
        }
        Err(Missing::User) => refuse("No such user."),
        Err(Missing::Resource) => refuse("No such resource."),
    }
}

impl Keyward {
    /// The decision for `user` on `resource`: from the index when it may answer, otherwise from
    /// the database as it is now.
    async fn decide_one(&self, user: UserId, resource: ResourceId) -> Result<std::result::Result<(Resource, Decision), Missing>> {
        let now = self.clock.now();
        if let Some(found) = self.index.resource_decision(user, resource, now) {
            return Ok(found);
        }
        self.decide_from_database(user, resource).await
    }

    /// The decision read from the database as it is now, whatever the index holds (the path
    /// taken while the index may not answer, and what the index is tested against).
    pub async fn decide_from_database(
        &self,
        user: UserId,
        resource: ResourceId,
    ) -> Result<std::result::Result<(Resource, Decision), Missing>> {
        let now = self.clock.now();
        let mut tx = self.store.read().await?;
        let Some(u) = tx.user_by_id(user).await? else { return Ok(Err(Missing::User)) };
        let Some(r) = tx.resource_by_id(resource).await? else { return Ok(Err(Missing::Resource)) };
        let decision = self.decision(tx.as_mut(), &u, &r, now).await?;
        Ok(Ok((r, decision)))
    }

    /// The check API: may `user` do `action` to `resource`? (admins and their tokens)
    pub async fn check(&self, actor: &Actor, req: &CheckRequest) -> Result<CheckResult> {
        actor.require(Capability::CheckAccess)?;
        let now = self.clock.now();
        if let Some(found) = self.index.decision(req.user_id, req.resource_id, now) {
            return Ok(answer(found, req.action));
        }
        let found = self.decide_one(req.user_id, req.resource_id).await?;
        Ok(answer(found.map(|(r, d)| (d, r.kind)), req.action))
    }

    /// Many checks, answered in order (up to 1000).
    pub async fn check_batch(&self, actor: &Actor, reqs: &[CheckRequest]) -> Result<Vec<CheckResult>> {
        actor.require(Capability::CheckAccess)?;
        if reqs.len() > MAX_BATCH {
            return Err(Error::invalid_field("checks", "too_many_checks", format!("At most {MAX_BATCH} checks per batch.")));
        }
        let now = self.clock.now();
        if let Some(found) = self.index.decisions(reqs.iter().map(|r| (r.user_id, r.resource_id)), now) {
            return Ok(found.into_iter().zip(reqs).map(|(f, r)| answer(f, r.action)).collect());
        }
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            let found = self.decide_one(r.user_id, r.resource_id).await?;
            out.push(answer(found.map(|(res, d)| (d, res.kind)), r.action));
        }
        Ok(out)
    }

    /// Every path that gives `user` access to `resource`, and the role cap (admins).
    pub async fn explain(&self, actor: &Actor, user: UserId, resource: ResourceId) -> Result<(Resource, Decision)> {
        actor.require(Capability::CheckAccess)?;
        match self.decide_one(user, resource).await? {
            Ok(found) => Ok(found),
            Err(Missing::User) => Err(Error::NotFound("User")),
            Err(Missing::Resource) => Err(Error::NotFound("Resource")),
        }
    }

    /// The resources `user` may do `action` on (of `kind` if given), ids ascending after `after`,
    /// at most `limit` (admins and their tokens: the platform's "what may this user see?").
    pub async fn lookup(
        &self,
        actor: &Actor,
        user: UserId,
        action: Action,
        kind: Option<Kind>,
        after: Option<ResourceId>,
        limit: usize,
    ) -> Result<Vec<ResourceId>> {
        actor.require(Capability::CheckAccess)?;
        // One more than a page: callers ask for an id past the page to tell whether another follows.
        let limit = limit.clamp(1, MAX_LOOKUP + 1);
        let now = self.clock.now();
        if let Some(found) = self.index.lookup(user, action, kind, after, limit, now) {
            return found.ok_or(Error::NotFound("User"));
        }
        // The database path: the same candidates the resource list reads, decided one by one.
        let mut tx = self.store.read().await?;
        let u = tx.user_by_id(user).await?.ok_or(Error::NotFound("User"))?;
        let all = u.role == crate::types::Role::Admin;
        let mut out = Vec::new();
        let mut cursor = after;
        loop {
            let page = tx.candidate_resources(user, all, kind, cursor, 500).await?;
            let n = page.len();
            for r in &page {
                let decision = self.decision(tx.as_mut(), &u, r, now).await?;
                if access::allows(&decision, action, r.kind) {
                    out.push(r.id);
                    if out.len() >= limit {
                        return Ok(out);
                    }
                }
            }
            cursor = page.last().map(|r| r.id);
            if n < 500 {
                return Ok(out);
            }
        }
    }
}
