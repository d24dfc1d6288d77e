//! Effective access of a user to a resource (DESIGN.md §2): the one function every endpoint,
//! list, page and the check API call. Pure: it decides from facts the store has gathered.

pub use crate::audience::{Subject, Visibility};
use crate::policy::{Capability, role_can};
use crate::types::{Role, TeamId, UserId};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use time::OffsetDateTime;

/// How much a user may do to a resource. Its one text encoding is `as_str` / `FromStr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// No access: the resource is not even visible.
    None,
    /// May see it (and a workflow's logs, and use a data source).
    View,
    /// May also change, run and share it.
    Edit,
    /// May also delete it: only ownership (of it, or of a workspace's project) and the admin role give it.
    Full,
}

impl Level {
    /// Every level, lowest first.
    pub const ALL: [Level; 4] = [Level::None, Level::View, Level::Edit, Level::Full];

    /// `none`, `view`, `edit` or `full`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::None => "none",
            Level::View => "view",
            Level::Edit => "edit",
            Level::Full => "full",
        }
    }

    /// Whether a share may carry this level (`view` or `edit`).
    pub fn is_share_level(self) -> bool {
        matches!(self, Level::View | Level::Edit)
    }

    /// The level of a share: `view` or `edit`; anything else is a 400 naming the `level` field
    /// (never a silent `view`).
    pub fn parse_share(s: &str) -> crate::Result<Level> {
        match s.parse::<Level>() {
            Ok(l) if l.is_share_level() => Ok(l),
            _ => Err(crate::Error::invalid_field("level", "invalid_level", "A share's level is view or edit.")),
        }
    }
}

impl FromStr for Level {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| crate::Error::invalid_field("level", "invalid_level", "The level must be none, view, edit or full."))
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of the platform's resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A deployed app.
    App,
    /// A project, which holds workspaces and passes its access on to them.
    Project,
    /// A workspace, always inside a project.
    Workspace,
    /// A workflow, with its runs and their execution logs.
    Workflow,
    /// A data source: sealed credentials and a visibility of its own.
    DataSource,
    /// A deployed model.
    Model,
    /// A dashboard.
    Dashboard,
    /// A report.
    Report,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 8] =
        [Kind::App, Kind::Project, Kind::Workspace, Kind::Workflow, Kind::DataSource, Kind::Model, Kind::Dashboard, Kind::Report];

    /// The kind's one text encoding (`app`, …, `data_source`, …), used by the API, pages and store.
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

    /// The name people read in the UI (`Data source`).
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
    /// See the resource (needs view).
    View,
    /// Read a workflow's execution logs (needs view).
    ReadLogs,
    /// Connect to a data source (needs view).
    Use,
    /// Change the resource (needs edit).
    Edit,
    /// Run a workflow (needs edit).
    Run,
    /// Share the resource with others (needs edit).
    Share,
    /// Delete the resource (needs full).
    Delete,
}

impl Action {
    /// Every action, those needing the lowest level first.
    pub const ALL: [Action; 7] = [Action::View, Action::ReadLogs, Action::Use, Action::Edit, Action::Run, Action::Share, Action::Delete];

    /// The action's one text encoding (`view`, `read_logs`, …), as the check API takes it.
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

/// A share as the decision needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Whom the share is for: a user, a team or all users.
    pub subject: Subject,
    /// `View` or `Edit`.
    pub level: Level,
    /// After this moment the share no longer counts; `None`: until removed.
    pub expires_at: Option<OffsetDateTime>,
    /// True when the share is on the workspace's project (inherited).
    pub via_project: bool,
}

/// Everything the decision depends on.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    /// The user asked about.
    pub user_id: UserId,
    /// The user's role, which caps the level (rule 4).
    pub role: Role,
    /// Active and before any access end date.
    pub can_act: bool,
    /// The teams the user is really a member of (a team share counts only for these).
    pub teams: &'a [TeamId],
    /// The resource's kind (a workspace inherits; a data source has a visibility; a viewer never uses one).
    pub kind: Kind,
    /// The resource's owner, who has full access.
    pub owner_id: UserId,
    /// For a workspace, the owner of its project (who has full access to it).
    pub project_owner_id: Option<UserId>,
    /// The resource's visibility (data sources; `Specific` for every other kind).
    pub visibility: Visibility,
    /// The shares on the resource and, for a workspace, on its project.
    pub grants: &'a [Grant],
    /// The moment of the decision, against which share end dates are compared.
    pub now: OffsetDateTime,
}

/// One way a user gets access, for `explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Path {
    /// The user is an admin.
    Admin,
    /// The user owns the resource.
    Owner,
    /// The owner of the workspace's project.
    ProjectOwner,
    /// A live share that reaches the user (their own, a team's, or all users').
    Share {
        /// Whom the share is for.
        subject: Subject,
        /// The share's level (`View` or `Edit`).
        level: Level,
        /// True when the share is on the workspace's project.
        via_project: bool,
        /// When the share ends, if it does.
        expires_at: Option<OffsetDateTime>,
    },
}

/// The decision with its reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The effective level, after the role cap.
    pub level: Level,
    /// Every path that grants access before the role cap.
    pub paths: Vec<Path>,
    /// Set when the role lowered the level: the viewer cap.
    pub capped: bool,
    /// The account cannot act (deactivated or past its end date).
    pub inactive: bool,
}

/// The most a user of `role` may get on a resource of `kind` (rule 4): the role matrix
/// (`policy::role_can`) decides it, not a second list of rules.
pub fn role_cap(role: Role, kind: Kind) -> Level {
    if kind == Kind::DataSource && !role_can(role, Capability::UseDataSources) {
        Level::None
    } else if !role_can(role, Capability::EditShared) {
        Level::View
    } else {
        Level::Full
    }
}

/// The level a path grants before the role cap.
pub fn path_level(p: &Path) -> Level {
    match p {
        Path::Admin | Path::Owner | Path::ProjectOwner => Level::Full,
        Path::Share { level, .. } => *level,
    }
}

/// Effective access, DESIGN.md §2:
/// 1. deactivated or expired user: nothing;
/// 2. admin: full; owner, and the owner of a workspace's project: full (still capped by 4);
/// 3. otherwise the highest level among the user's own shares, their teams' shares, an
///    all-users share (data sources), and for a workspace its project's shares; on a data
///    source the visibility says which of them count (Private: none; All Users: the all-users
///    share; Specific: the user and team shares);
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
    if f.kind == Kind::Workspace && f.project_owner_id == Some(f.user_id) {
        paths.push(Path::ProjectOwner);
    }
    for g in f.grants {
        let live = g.expires_at.is_none_or(|t| f.now < t);
        let mine = match &g.subject {
            Subject::User(u) => *u == f.user_id,
            Subject::Team(t) => f.teams.contains(t),
            Subject::AllUsers => true,
        };
        if live && mine && f.visibility.lets(&g.subject, f.kind) {
            paths.push(Path::Share { subject: g.subject.clone(), level: g.level, via_project: g.via_project, expires_at: g.expires_at });
        }
    }
    if f.role == Role::Admin {
        return Decision { level: Level::Full, paths, capped: false, inactive: false };
    }
    let granted = paths.iter().map(path_level).max().unwrap_or(Level::None);
    let cap = role_cap(f.role, f.kind);
    Decision { level: granted.min(cap), paths, capped: granted > cap, inactive: false }
}

/// Whether `decision` allows `action` on a resource of `kind`.
pub fn allows(decision: &Decision, action: Action, kind: Kind) -> bool {
    action.applies_to(kind) && decision.level >= action.needs()
}
