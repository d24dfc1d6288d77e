//! Who may do what: the role matrix of DESIGN.md §1, and the security policy kept in the database.

use crate::model::User;
use crate::password::PasswordPolicy;
use crate::types::Role;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

/// What a role may do on the platform, independent of any one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// Invite, change roles, deactivate and reactivate users, reset their MFA; service accounts and SCIM tokens.
    ManageUsers,
    /// Create and delete teams, set their leads and quotas.
    ManageTeams,
    /// Change the security policy (MFA, passwords, sessions) and the access-review policy.
    ManagePolicies,
    /// Read and export the audit log, and run access reviews.
    ReadAudit,
    /// Ask the check API about anyone's access (the platform's service accounts).
    CheckAccess,
    /// Register apps.
    DeployApps,
    /// Register workflows, projects, workspaces, models, dashboards and reports.
    CreateWorkflows,
    /// Register data sources.
    CreateDataSources,
    /// Use the data sources shared with one (a viewer's cap on data sources is none).
    UseDataSources,
    /// See what is shared with one (every role).
    ViewShared,
    /// Get more than view from a share (a viewer's cap is view).
    EditShared,
    /// See the user directory (names, emails, teams) to share with.
    SeeDirectory,
}

impl Capability {
    /// Every capability.
    pub const ALL: [Capability; 12] = [
        Capability::ManageUsers,
        Capability::ManageTeams,
        Capability::ManagePolicies,
        Capability::ReadAudit,
        Capability::CheckAccess,
        Capability::DeployApps,
        Capability::CreateWorkflows,
        Capability::CreateDataSources,
        Capability::UseDataSources,
        Capability::ViewShared,
        Capability::EditShared,
        Capability::SeeDirectory,
    ];
}

/// The one place where a role's capabilities are decided.
pub fn role_can(role: Role, cap: Capability) -> bool {
    use Capability::*;
    match cap {
        ManageUsers | ManageTeams | ManagePolicies | ReadAudit | CheckAccess => role == Role::Admin,
        DeployApps | CreateDataSources => matches!(role, Role::Admin | Role::Developer),
        CreateWorkflows | UseDataSources | EditShared => role != Role::Viewer,
        ViewShared | SeeDirectory => true,
    }
}

/// Who must use MFA.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MfaMode {
    /// Nobody must use MFA.
    Off,
    /// Every user must.
    All,
    /// Users of the roles listed in `MfaPolicy::roles` must.
    Roles,
}

impl MfaMode {
    /// A mode from its text; anything else is a 400 naming the `mfa.mode` field.
    pub fn parse(s: &str) -> crate::Result<Self> {
        match s {
            "off" => Ok(MfaMode::Off),
            "all" => Ok(MfaMode::All),
            "roles" => Ok(MfaMode::Roles),
            _ => Err(crate::Error::invalid_field("mfa.mode", "invalid_mfa_mode", "mfa.mode must be off, all or roles.")),
        }
    }
    /// The mode's text (`off`, `all`, `roles`).
    pub fn as_str(self) -> &'static str {
        match self {
            MfaMode::Off => "off",
            MfaMode::All => "all",
            MfaMode::Roles => "roles",
        }
    }
}

/// The MFA part of the security policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaPolicy {
    /// Who must use MFA.
    pub mode: MfaMode,
    /// The roles that must use MFA when `mode` is `roles`.
    pub roles: Vec<Role>,
    /// How long (0 to 90 days) a user who must use MFA may sign in without it.
    pub grace_period_days: u32,
    /// When each role became required (unix seconds): the earliest start of its grace period.
    #[serde(default)]
    pub required_since: BTreeMap<Role, i64>,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        MfaPolicy { mode: MfaMode::Off, roles: Vec::new(), grace_period_days: 7, required_since: BTreeMap::new() }
    }
}

impl MfaPolicy {
    /// Whether users of `role` must use MFA.
    pub fn requires(&self, role: Role) -> bool {
        match self.mode {
            MfaMode::Off => false,
            MfaMode::All => true,
            MfaMode::Roles => self.roles.contains(&role),
        }
    }

    /// When `user` must have MFA by, if the policy applies to them: the grace period counts from
    /// the latest of the policy applying to their role, their creation, and their last role change.
    pub fn deadline(&self, user: &User) -> Option<OffsetDateTime> {
        if !self.requires(user.role) {
            return None;
        }
        let since = self.required_since.get(&user.role).and_then(|s| OffsetDateTime::from_unix_timestamp(*s).ok());
        let start = [since, Some(user.created_at), user.role_changed_at].into_iter().flatten().max()?;
        Some(start + Duration::days(self.grace_period_days.into()))
    }

    /// Checks the values a person chose and stamps when each role became required, keeping the
    /// stamps of roles that were required already (their grace periods do not restart).
    pub fn settle(mut self, before: &MfaPolicy, now: OffsetDateTime) -> crate::Result<MfaPolicy> {
        if self.mode == MfaMode::Roles && self.roles.is_empty() {
            return Err(crate::Error::invalid_field(
                "mfa.roles",
                "invalid_mfa_roles",
                "Choose at least one role, or require MFA for all users.",
            ));
        }
        if self.grace_period_days > 90 {
            return Err(crate::Error::invalid_field(
                "mfa.grace_period_days",
                "invalid_grace_period",
                "The grace period must be 0 to 90 days.",
            ));
        }
        self.roles.sort_by_key(|r| r.as_str());
        self.roles.dedup();
        self.required_since = Role::ALL
            .into_iter()
            .filter(|r| self.requires(*r))
            .map(|r| {
                let kept = before.requires(r).then(|| before.required_since.get(&r).copied()).flatten();
                (r, kept.unwrap_or(now.unix_timestamp()))
            })
            .collect();
        Ok(self)
    }
}

/// Session lifetimes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionPolicy {
    /// A session unused for this long ends.
    pub idle_timeout_minutes: u32,
    /// A session ends this long after sign-in, used or not.
    pub absolute_timeout_hours: u32,
}

impl Default for SessionPolicy {
    /// One hour idle, twelve hours absolute: a working day, without week-old sessions lying around.
    fn default() -> Self {
        SessionPolicy { idle_timeout_minutes: 60, absolute_timeout_hours: 12 }
    }
}

impl SessionPolicy {
    /// Checks the values a person chose.
    pub fn validate(&self) -> crate::Result<()> {
        if !(5..=1440).contains(&self.idle_timeout_minutes) {
            return Err(crate::Error::invalid_field(
                "sessions.idle_timeout_minutes",
                "invalid_session_policy",
                "The idle timeout must be 5 to 1440 minutes.",
            ));
        }
        if !(1..=720).contains(&self.absolute_timeout_hours) {
            return Err(crate::Error::invalid_field(
                "sessions.absolute_timeout_hours",
                "invalid_session_policy",
                "The absolute timeout must be 1 to 720 hours.",
            ));
        }
        if u64::from(self.idle_timeout_minutes) > u64::from(self.absolute_timeout_hours) * 60 {
            return Err(crate::Error::invalid_field(
                "sessions.idle_timeout_minutes",
                "invalid_session_policy",
                "The idle timeout cannot be longer than the absolute timeout.",
            ));
        }
        Ok(())
    }
}

/// The whole security policy, one JSON value in the settings table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityPolicy {
    /// Who must use MFA, and from when.
    #[serde(default)]
    pub mfa: MfaPolicy,
    /// The rules a new password must meet.
    #[serde(default)]
    pub password: PasswordPolicy,
    /// Session lifetimes.
    #[serde(default)]
    pub sessions: SessionPolicy,
}

/// The settings key under which the security policy is stored.
pub const SECURITY_POLICY_KEY: &str = "security_policy";

#[cfg(test)]
mod tests {
    use super::*;
    use Capability::*;

    /// Every role × capability of DESIGN.md §1, each "no" included.
    #[test]
    fn role_matrix() {
        let table: [(Capability, [bool; 4]); 12] = [
            //                    admin  dev    ds     viewer
            (ManageUsers, [true, false, false, false]),
            (ManageTeams, [true, false, false, false]),
            (ManagePolicies, [true, false, false, false]),
            (ReadAudit, [true, false, false, false]),
            (CheckAccess, [true, false, false, false]),
            (DeployApps, [true, true, false, false]),
            (CreateWorkflows, [true, true, true, false]),
            (CreateDataSources, [true, true, false, false]),
            (UseDataSources, [true, true, true, false]),
            (ViewShared, [true, true, true, true]),
            (EditShared, [true, true, true, false]),
            (SeeDirectory, [true, true, true, true]),
        ];
        assert_eq!(table.len(), Capability::ALL.len());
        for (cap, expected) in table {
            for (role, want) in Role::ALL.into_iter().zip(expected) {
                assert_eq!(role_can(role, cap), want, "{role:?} {cap:?}");
            }
        }
    }
}
