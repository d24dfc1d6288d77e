//! Domain records turned into the API's wire types.

use crate::model::{ApiToken, AuditRecord, LoginAttempt, Session, User, rfc3339};
use keyward_api as api;

/// A user as the API shows it. `full` adds role, status and activity (admins and the user
/// themself); others see what sharing needs: name, email, teams.
pub fn user(u: &User, full: bool) -> api::User {
    api::User {
        id: u.id.to_string(),
        email: u.email.clone(),
        full_name: u.full_name.clone(),
        role: full.then(|| u.role.as_str().to_owned()),
        status: full.then(|| u.status.as_str().to_owned()),
        mfa_enabled: full.then_some(u.mfa_enabled),
        teams: Vec::new(),
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

pub fn session(s: &Session, current: Option<crate::types::SessionId>) -> api::SessionInfo {
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
pub fn policy(p: &crate::policy::SecurityPolicy) -> api::SecurityPolicy {
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
pub fn policy_from(p: api::SecurityPolicy) -> crate::Result<crate::policy::SecurityPolicy> {
    use crate::policy::{MfaMode, MfaPolicy, SecurityPolicy, SessionPolicy};
    Ok(SecurityPolicy {
        mfa: MfaPolicy {
            mode: MfaMode::parse(&p.mfa.mode)?,
            roles: p.mfa.roles.iter().map(|r| crate::types::Role::parse(r)).collect::<crate::Result<_>>()?,
            grace_period_days: p.mfa.grace_period_days,
            required_since: Default::default(),
        },
        password: crate::password::PasswordPolicy {
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
