//! Effective access of a user to a resource (DESIGN.md §2): the one function every endpoint,
//! list, page and the check API call. Pure: it decides from facts the store has gathered.

use crate::policy::{Capability, role_can};
use crate::types::{Role, TeamId, UserId};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use time::OffsetDateTime;

/// How much a user may do to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    None,
    View,
    Edit,
    Full,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::View => "view",
            Level::Edit => "edit",
            Level::Full => "full",
        }
    }
}

/// The kinds of the platform's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    App,
    Project,
    Workspace,
    Workflow,
    DataSource,
    Model,
    Dashboard,
    Report,
}

impl Kind {
    pub const ALL: [Kind; 8] =
        [Kind::App, Kind::Project, Kind::Workspace, Kind::Workflow, Kind::DataSource, Kind::Model, Kind::Dashboard, Kind::Report];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::App => "app",
            Kind::Project => "project",
            Kind::Workspace => "workspace",
            Kind::Workflow => "workflow",
            Kind::DataSource => "data_source",
            Kind::Model => "model",
            Kind::Dashboard => "dashboard",
            Kind::Report => "report",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::App => "App",
            Kind::Project => "Project",
            Kind::Workspace => "Workspace",
            Kind::Workflow => "Workflow",
            Kind::DataSource => "Data source",
            Kind::Model => "Model",
            Kind::Dashboard => "Dashboard",
            Kind::Report => "Report",
        }
    }
}

impl FromStr for Kind {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            crate::Error::invalid_field(
                "kind",
                "invalid_kind",
                "The kind must be app, project, workspace, workflow, data_source, model, dashboard or report.",
            )
        })
    }
}

/// What the platform asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    View,
    ReadLogs,
    Use,
    Edit,
    Run,
    Share,
    Delete,
}

impl Action {
    pub const ALL: [Action; 7] = [Action::View, Action::ReadLogs, Action::Use, Action::Edit, Action::Run, Action::Share, Action::Delete];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::View => "view",
            Action::ReadLogs => "read_logs",
            Action::Use => "use",
            Action::Edit => "edit",
            Action::Run => "run",
            Action::Share => "share",
            Action::Delete => "delete",
        }
    }

    /// The level the action needs.
    pub fn needs(self) -> Level {
        match self {
            Action::View | Action::ReadLogs | Action::Use => Level::View,
            Action::Edit | Action::Run | Action::Share => Level::Edit,
            Action::Delete => Level::Full,
        }
    }

    /// Whether the action means anything for `kind` (logs and runs are a workflow's; `use` is a
    /// data source's).
    pub fn applies_to(self, kind: Kind) -> bool {
        match self {
            Action::ReadLogs | Action::Run => kind == Kind::Workflow,
            Action::Use => kind == Kind::DataSource,
            Action::View | Action::Edit | Action::Share | Action::Delete => true,
        }
    }
}

impl FromStr for Action {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s).ok_or_else(|| {
            crate::Error::invalid_field("action", "invalid_action", "The action must be view, read_logs, use, edit, run, share or delete.")
        })
    }
}

/// Who a share is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    User(UserId),
    Team(TeamId),
    /// Every user (data sources only).
    AllUsers,
}

/// A share as the decision needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub subject: Subject,
    /// `View` or `Edit`.
    pub level: Level,
    pub expires_at: Option<OffsetDateTime>,
    /// True when the share is on the workspace's project (inherited).
    pub via_project: bool,
}

/// Everything the decision depends on.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub user_id: UserId,
    pub role: Role,
    /// Active and before any access end date.
    pub can_act: bool,
    pub teams: &'a [TeamId],
    pub kind: Kind,
    pub owner_id: UserId,
    /// The shares on the resource and, for a workspace, on its project.
    pub grants: &'a [Grant],
    pub now: OffsetDateTime,
}

/// One way a user gets access, for `explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Path {
    Admin,
    Owner,
    Share { subject: Subject, level: Level, via_project: bool, expires_at: Option<OffsetDateTime> },
}

/// The decision with its reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub level: Level,
    /// Every path that grants access before the role cap.
    pub paths: Vec<Path>,
    /// Set when the role lowered the level: the viewer cap.
    pub capped: bool,
    /// The account cannot act (deactivated or past its end date).
    pub inactive: bool,
}

/// Effective access, DESIGN.md §2:
/// 1. deactivated or expired user: nothing;
/// 2. admin: full; owner: full (still capped by 4);
/// 3. otherwise the highest level among the user's own shares, their teams' shares, an
///    all-users share (data sources), and for a workspace its project's shares;
/// 4. capped by role: a viewer never gets more than view, and never uses data sources.
pub fn decide(f: &Facts<'_>) -> Decision {
    if !f.can_act {
        return Decision { level: Level::None, paths: Vec::new(), capped: false, inactive: true };
    }
    let mut paths = Vec::new();
    if f.role == Role::Admin {
        paths.push(Path::Admin);
    }
    if f.owner_id == f.user_id {
        paths.push(Path::Owner);
    }
    for g in f.grants {
        let live = g.expires_at.is_none_or(|t| f.now < t);
        let mine = match &g.subject {
            Subject::User(u) => *u == f.user_id,
            Subject::Team(t) => f.teams.contains(t),
            Subject::AllUsers => f.kind == Kind::DataSource,
        };
        if live && mine {
            paths.push(Path::Share { subject: g.subject.clone(), level: g.level, via_project: g.via_project, expires_at: g.expires_at });
        }
    }
    if f.role == Role::Admin {
        return Decision { level: Level::Full, paths, capped: false, inactive: false };
    }
    let granted = paths
        .iter()
        .map(|p| match p {
            Path::Admin | Path::Owner => Level::Full,
            Path::Share { level, .. } => *level,
        })
        .max()
        .unwrap_or(Level::None);
    // The role cap is the role matrix's (policy::role_can), not a second list of rules.
    let cap = if f.kind == Kind::DataSource && !role_can(f.role, Capability::UseDataSources) {
        Level::None
    } else if !role_can(f.role, Capability::EditShared) {
        Level::View
    } else {
        Level::Full
    };
    Decision { level: granted.min(cap), paths, capped: granted > cap, inactive: false }
}

/// Whether `decision` allows `action` on a resource of `kind`.
pub fn allows(decision: &Decision, action: Action, kind: Kind) -> bool {
    action.applies_to(kind) && decision.level >= action.needs()
}
