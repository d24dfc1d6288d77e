//! Domain records turned into the API's wire types, and wire bodies read into domain values: the one
//! place the JSON API's shapes meet the core's.

use keyward_api as api;
use keyward_core::model::{ApiToken, AuditRecord, LoginAttempt, Session, User, rfc3339};

/// A user as the API shows it. `full` adds role, status and activity (admins and the user
/// themself); others see what sharing needs: name, email, teams.
pub fn user(u: &User, full: bool) -> api::User {
    user_with_teams(u, full, &[])
}

/// A user with their teams.
pub fn user_with_teams(u: &User, full: bool, teams: &[keyward_core::model::Team]) -> api::User {
    api::User {
        id: u.id.to_string(),
        email: u.email.clone(),
        full_name: u.full_name.clone(),
        role: full.then(|| u.role.as_str().to_owned()),
        status: full.then(|| u.status.as_str().to_owned()),
        mfa_enabled: full.then_some(u.mfa_enabled),
        teams: teams.iter().map(|t| api::TeamRef { id: t.id.to_string(), name: t.name.clone() }).collect(),
        created_at: full.then(|| rfc3339(u.created_at)),
        last_active_at: if full { u.last_active_at.map(rfc3339) } else { None },
        access_expires_at: if full { u.access_expires_at.map(rfc3339) } else { None },
    }
}

pub fn token(t: &ApiToken) -> api::TokenInfo {
    api::TokenInfo {
        id: t.id.to_string(),
        name: t.name.clone(),
        created_at: rfc3339(t.created_at),
        expires_at: t.expires_at.map(rfc3339),
        last_used_at: t.last_used_at.map(rfc3339),
    }
}

/// A service account as the API shows it.
pub fn service_account(a: &keyward_core::model::ServiceAccount) -> api::ServiceAccount {
    api::ServiceAccount {
        id: a.user.id.to_string(),
        name: a.user.full_name.clone(),
        description: a.description.clone(),
        role: a.user.role.as_str().to_owned(),
        created_at: rfc3339(a.user.created_at),
        last_active_at: a.user.last_active_at.map(rfc3339),
    }
}

/// A service account's token (never its secret).
pub fn service_token(t: &ApiToken) -> api::ServiceToken {
    api::ServiceToken {
        id: t.id.to_string(),
        name: t.name.clone(),
        scopes: t.scopes.iter().flatten().map(|s| s.as_str().to_owned()).collect(),
        created_at: rfc3339(t.created_at),
        expires_at: t.expires_at.map(rfc3339),
        last_used_at: t.last_used_at.map(rfc3339),
    }
}

pub fn session(s: &Session, current: Option<keyward_core::types::SessionId>) -> api::SessionInfo {
    api::SessionInfo {
        id: s.id.to_string(),
        created_at: rfc3339(s.created_at),
        last_seen_at: rfc3339(s.last_seen_at),
        expires_at: rfc3339(s.expires_at),
        ip: s.ip.clone(),
        user_agent: s.user_agent.clone(),
        current: current == Some(s.id),
    }
}

pub fn login(a: &LoginAttempt) -> api::LoginRecord {
    api::LoginRecord { at: rfc3339(a.at), success: a.success, reason: a.reason.clone(), ip: a.ip.clone(), user_agent: a.user_agent.clone() }
}

pub fn audit(r: &AuditRecord) -> api::AuditEvent {
    let e = &r.event;
    api::AuditEvent {
        id: e.id.to_string(),
        at: rfc3339(e.at),
        actor_kind: e.actor_kind.as_str().to_owned(),
        actor_id: e.actor_id.map(|a| a.to_string()),
        actor_email: r.actor_email.clone(),
        action: e.action.clone(),
        target_type: e.target_type.clone(),
        target_id: e.target_id.clone(),
        ip: e.ip.clone(),
        user_agent: e.user_agent.clone(),
        details: e.details.clone(),
    }
}

/// The security policy as the API shows it.
pub fn policy(p: &keyward_core::policy::SecurityPolicy) -> api::SecurityPolicy {
    api::SecurityPolicy {
        mfa: api::MfaPolicy {
            mode: p.mfa.mode.as_str().to_owned(),
            roles: p.mfa.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            grace_period_days: p.mfa.grace_period_days,
        },
        password: api::PasswordPolicy {
            min_length: p.password.min_length,
            require_uppercase: p.password.require_uppercase,
            require_lowercase: p.password.require_lowercase,
            require_digit: p.password.require_digit,
            require_special: p.password.require_special,
            block_common: p.password.block_common,
        },
        sessions: api::SessionPolicy {
            idle_timeout_minutes: p.sessions.idle_timeout_minutes,
            absolute_timeout_hours: p.sessions.absolute_timeout_hours,
        },
    }
}

/// The security policy from the API's shape; unknown modes and roles are refused.
pub fn policy_from(p: api::SecurityPolicy) -> keyward_core::Result<keyward_core::policy::SecurityPolicy> {
    use keyward_core::policy::{MfaMode, MfaPolicy, SecurityPolicy, SessionPolicy};
    Ok(SecurityPolicy {
        mfa: MfaPolicy {
            mode: MfaMode::parse(&p.mfa.mode)?,
            roles: p.mfa.roles.iter().map(|r| keyward_core::types::Role::parse(r)).collect::<keyward_core::Result<_>>()?,
            grace_period_days: p.mfa.grace_period_days,
            required_since: Default::default(),
        },
        password: keyward_core::password::PasswordPolicy {
            min_length: p.password.min_length,
            require_uppercase: p.password.require_uppercase,
            require_lowercase: p.password.require_lowercase,
            require_digit: p.password.require_digit,
            require_special: p.password.require_special,
            block_common: p.password.block_common,
        },
        sessions: SessionPolicy {
            idle_timeout_minutes: p.sessions.idle_timeout_minutes,
            absolute_timeout_hours: p.sessions.absolute_timeout_hours,
        },
    })
}

/// A team as the API shows it.
pub fn team(t: &keyward_core::model::Team, members: Option<&[User]>) -> api::Team {
    api::Team {
        id: t.id.to_string(),
        name: t.name.clone(),
        description: t.description.clone(),
        lead_id: t.lead_id.map(|l| l.to_string()),
        quotas: quotas(&t.quotas),
        members: members.map(|m| m.iter().map(|u| user(u, false)).collect()),
        created_at: rfc3339(t.created_at),
    }
}

pub fn quotas(q: &keyward_core::model::Quotas) -> api::Quotas {
    api::Quotas {
        max_cpu_millis: q.max_cpu_millis,
        max_memory_mib: q.max_memory_mib,
        max_storage_gib: q.max_storage_gib,
        max_apps: q.max_apps,
        max_workflows: q.max_workflows,
        max_workspaces: q.max_workspaces,
    }
}

pub fn usage(q: &keyward_core::model::Quotas, u: &keyward_core::model::Usage) -> api::TeamUsage {
    let one = |used, limit| api::QuotaUse { used, limit };
    api::TeamUsage {
        cpu_millis: one(u.cpu_millis, q.max_cpu_millis),
        memory_mib: one(u.memory_mib, q.max_memory_mib),
        storage_gib: one(u.storage_gib, q.max_storage_gib),
        apps: one(u.apps, q.max_apps),
        workflows: one(u.workflows, q.max_workflows),
        workspaces: one(u.workspaces, q.max_workspaces),
    }
}

/// A resource with the caller's level.
pub fn resource(v: &keyward_core::services::resources::Visible, credentials_updated_at: Option<time::OffsetDateTime>) -> api::Resource {
    let r = &v.resource;
    api::Resource {
        id: r.id.to_string(),
        kind: r.kind.as_str().to_owned(),
        name: r.name.clone(),
        owner_id: r.owner_id.to_string(),
        team_id: r.team_id.map(|t| t.to_string()),
        project_id: r.project_id.map(|p| p.to_string()),
        cpu_millis: r.cpu_millis,
        memory_mib: r.memory_mib,
        storage_gib: r.storage_gib,
        created_at: rfc3339(r.created_at),
        updated_at: rfc3339(r.updated_at),
        access: v.decision.level.as_str().to_owned(),
        credentials_updated_at: credentials_updated_at.map(rfc3339),
        visibility: (r.kind == keyward_core::access::Kind::DataSource).then(|| r.visibility.as_str().to_owned()),
    }
}

pub fn share(s: &keyward_core::model::Share) -> api::ShareInfo {
    let (kind, id) = s.subject.parts();
    api::ShareInfo {
        id: s.id.to_string(),
        subject: api::ShareSubject { kind: kind.to_owned(), id },
        level: s.level.as_str().to_owned(),
        expires_at: s.expires_at.map(rfc3339),
    }
}

/// A share request from the API's shape, in the core's one encoding of subjects and levels;
/// every error names its field (`subject`, `level`, `expires_at`).
pub fn share_from(e: &api::ShareEntry) -> keyward_core::Result<keyward_core::services::shares::ShareRequest> {
    let subject = keyward_core::access::Subject::from_parts(&e.subject.kind, e.subject.id.as_deref())?;
    let level = keyward_core::access::Level::parse_share(&e.level)?;
    let expires_at = e
        .expires_at
        .as_deref()
        .map(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).map_err(|_| {
                keyward_core::Error::invalid_field(
                    "expires_at",
                    "invalid_time",
                    "expires_at must be an RFC 3339 time such as 2026-01-31T12:00:00Z.",
                )
            })
        })
        .transpose()?;
    Ok(keyward_core::services::shares::ShareRequest { subject, level, expires_at })
}

/// Every path of a decision.
pub fn explanation(d: &keyward_core::access::Decision) -> api::Explanation {
    use keyward_core::access::{Path, Subject};
    let paths = d
        .paths
        .iter()
        .map(|p| match p {
            Path::Admin => {
                api::AccessPath { source: "admin".into(), level: "full".into(), team_id: None, via_project: false, expires_at: None }
            }
            Path::Owner => {
                api::AccessPath { source: "owner".into(), level: "full".into(), team_id: None, via_project: false, expires_at: None }
            }
            Path::ProjectOwner => {
                api::AccessPath { source: "project_owner".into(), level: "full".into(), team_id: None, via_project: true, expires_at: None }
            }
            Path::Share { subject, level, via_project, expires_at } => {
                let (source, team_id) = match subject {
                    Subject::User(_) => ("user_share", None),
                    Subject::Team(t) => ("team_share", Some(t.to_string())),
                    Subject::AllUsers => ("all_users_share", None),
                };
                api::AccessPath {
                    source: source.into(),
                    level: level.as_str().into(),
                    team_id,
                    via_project: *via_project,
                    expires_at: expires_at.map(rfc3339),
                }
            }
        })
        .collect();
    api::Explanation { level: d.level.as_str().into(), paths, capped_by_role: d.capped, inactive: d.inactive }
}
