//! Who may do what: the role matrix of DESIGN.md §1, and the security policy kept in the database.

use crate::password::PasswordPolicy;
use crate::types::Role;
use serde::{Deserialize, Serialize};

/// What a role may do on the platform, independent of any one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    ManageUsers,
    ManageTeams,
    ManagePolicies,
    ReadAudit,
    DeployApps,
    CreateWorkflows,
    CreateDataSources,
    UseDataSources,
    ViewShared,
    EditShared,
    SeeDirectory,
}

impl Capability {
    pub const ALL: [Capability; 11] = [
        Capability::ManageUsers,
        Capability::ManageTeams,
        Capability::ManagePolicies,
        Capability::ReadAudit,
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
        ManageUsers | ManageTeams | ManagePolicies | ReadAudit => role == Role::Admin,
        DeployApps | CreateDataSources => matches!(role, Role::Admin | Role::Developer),
        CreateWorkflows | UseDataSources | EditShared => role != Role::Viewer,
        ViewShared | SeeDirectory => true,
    }
}

/// The MFA part of the security policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaPolicy {
    /// `off`, `all` or `roles`.
    pub mode: String,
    pub roles: Vec<Role>,
    pub grace_period_days: u32,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        MfaPolicy { mode: "off".into(), roles: Vec::new(), grace_period_days: 7 }
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

/// The whole security policy, one JSON value in the settings table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityPolicy {
    #[serde(default)]
    pub mfa: MfaPolicy,
    #[serde(default)]
    pub password: PasswordPolicy,
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
        let table: [(Capability, [bool; 4]); 11] = [
            //                    admin  dev    ds     viewer
            (ManageUsers, [true, false, false, false]),
            (ManageTeams, [true, false, false, false]),
            (ManagePolicies, [true, false, false, false]),
            (ReadAudit, [true, false, false, false]),
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
