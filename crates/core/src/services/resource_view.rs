//! What a resource's page shows, read on one connection with one access decision: the resource
//! and the reader's access, the names it mentions, its shares with what each gives in effect,
//! the access a workspace inherits from its project, a project's workspaces, and the people and
//! teams it can be shared with. Pages never work any of this out themselves.

use crate::Keyward;
use crate::access::{Action, Kind, Level, Subject, role_cap};
use crate::context::Actor;
use crate::error::Result;
use crate::model::{CredentialsInfo, Resource, Share, Team};
use crate::services::resources::Visible;
use crate::services::shares::etag;
use crate::store::{Tx, UserFilter};
use crate::types::{ResourceId, UserId, UserStatus};
use std::collections::HashMap;

/// The most workspaces and people a page lists.
const PAGE_LIMIT: i64 = 200;

/// A share with the words it needs.
#[derive(Debug, Clone)]
pub struct ShareLine {
    /// The share as stored.
    pub share: Share,
    /// The user's or team's name; `None` for all users, or a subject that no longer exists.
    pub name: Option<String>,
    /// Set when some of the people it reaches get less than its level because of their role
    /// (a viewer's cap): the most they get.
    pub capped_to: Option<Level>,
}

/// Someone the resource can be shared with.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Their user id.
    pub id: UserId,
    /// Their full name.
    pub name: String,
    /// Their email.
    pub email: String,
    /// The most their role lets them have on this kind of resource.
    pub cap: Level,
}

/// The access a workspace inherits from its project.
#[derive(Debug, Clone)]
pub struct Inherited {
    /// The project, when the reader may see it.
    pub project: Option<(ResourceId, String)>,
    /// The project's owner, who has full access to the workspace.
    pub owner_name: String,
    /// The project's shares, each of which applies to the workspace (for those who may share it).
    pub shares: Vec<ShareLine>,
}

/// Everything a resource's page shows.
#[derive(Debug, Clone)]
pub struct ResourceView {
    /// The resource and the reader's decision on it.
    pub visible: Visible,
    /// Data sources: when the credentials were last set (never the credentials).
    pub credentials: Option<CredentialsInfo>,
    /// The owner's full name.
    pub owner_name: String,
    /// The owning team's name, if a team owns it.
    pub team_name: Option<String>,
    /// A workspace's project, when the reader may see it.
    pub project: Option<(ResourceId, String)>,
    /// The shares (for those who may share the resource).
    pub shares: Vec<ShareLine>,
    /// The ETag of the sharing state read.
    pub shares_etag: String,
    /// For a workspace: the access it inherits from its project.
    pub inherited: Option<Inherited>,
    /// A project's workspaces that the reader may see.
    pub workspaces: Vec<(ResourceId, String)>,
    /// Whom it can be shared with (for those who may share it).
    pub teams: Vec<Team>,
    /// The people it can be shared with, each with their role's cap.
    pub people: Vec<Candidate>,
    /// Whether the reader may ask why someone has access (`Keyward::explain_access`).
    pub may_explain: bool,
}

impl ResourceView {
    /// Whether the reader may do `action`.
    pub fn may(&self, action: Action) -> bool {
        self.visible.may(action)
    }
}

/// Names and role caps of the shares, for the people who manage them.
async fn lines(tx: &mut dyn Tx, shares: Vec<Share>, kind: Kind, known: &HashMap<UserId, String>) -> Result<Vec<ShareLine>> {
    let mut out = Vec::with_capacity(shares.len());
    for share in shares {
        // Why the role cap is shown: whoever shares must see the access it really gives (a
        // viewer offered Edit still only views); it says no more than that.
        let (name, caps) = match &share.subject {
            Subject::User(u) => match tx.user_by_id(*u).await? {
                Some(user) => (Some(known.get(u).cloned().unwrap_or(user.full_name)), vec![role_cap(user.role, kind)]),
                None => (None, Vec::new()),
            },
            Subject::Team(t) => match tx.team_by_id(*t).await? {
                Some(team) => (Some(team.name), tx.team_members(*t).await?.iter().map(|m| role_cap(m.role, kind)).collect()),
                None => (None, Vec::new()),
            },
            Subject::AllUsers => (None, Vec::new()),
        };
        let capped_to = caps.into_iter().min().filter(|cap| *cap < share.level);
        out.push(ShareLine { share, name, capped_to });
    }
    Ok(out)
}

impl Keyward {
    /// A resource's page: 404 when the reader may not see the resource.
    pub async fn resource_view(&self, actor: &Actor, id: ResourceId) -> Result<ResourceView> {
        let now = self.clock.now();
        let mut tx = self.store.read().await?;
        let visible = self.visible(tx.as_mut(), actor, id).await?;
        let r: Resource = visible.resource.clone();
        let may_share = visible.may(Action::Share);
        let name_of = async |tx: &mut dyn Tx, u: UserId| -> Result<String> {
            Ok(tx.user_by_id(u).await?.map_or_else(|| "Unknown user".to_owned(), |u| u.full_name))
        };
        let owner_name = name_of(tx.as_mut(), r.owner_id).await?;
        let team_name = match r.team_id {
            Some(t) => tx.team_by_id(t).await?.map(|t| t.name),
            None => None,
        };
        let credentials = if r.kind == Kind::DataSource { tx.credentials_info(id).await? } else { None };
        let (teams, people) = if may_share {
            let filter = UserFilter { status: Some(UserStatus::Active), limit: PAGE_LIMIT, ..UserFilter::default() };
            let people = tx.list_users(&filter).await?;
            let people = people
                .into_iter()
                .filter(|u| u.id != r.owner_id)
                .map(|u| Candidate { id: u.id, name: u.full_name, email: u.email, cap: role_cap(u.role, r.kind) })
                .collect();
            (tx.list_teams().await?, people)
        } else {
            (Vec::new(), Vec::new())
        };
        let known: HashMap<UserId, String> = people.iter().map(|c: &Candidate| (c.id, c.name.clone())).collect();
        let (shares, shares_etag) = if may_share {
            let shares = tx.shares_of(id).await?;
            let tag = etag(r.visibility, &shares);
            (lines(tx.as_mut(), shares, r.kind, &known).await?, tag)
        } else {
            (Vec::new(), etag(r.visibility, &[]))
        };
        let mut project = None;
        let mut inherited = None;
        if let Some(p) = r.project_id
            && let Some(pr) = tx.resource_by_id(p).await?
        {
            let seen = self.decision(tx.as_mut(), &actor.user, &pr, now).await?.level >= Level::View;
            project = seen.then(|| (p, pr.name.clone()));
            let shares = if may_share {
                let raw = tx.shares_of(p).await?;
                lines(tx.as_mut(), raw, r.kind, &known).await?
            } else {
                Vec::new()
            };
            inherited = Some(Inherited { project: project.clone(), owner_name: name_of(tx.as_mut(), pr.owner_id).await?, shares });
        }
        let mut workspaces = Vec::new();
        if r.kind == Kind::Project {
            for w in tx.workspaces_of(id, PAGE_LIMIT).await? {
                if self.decision(tx.as_mut(), &actor.user, &w, now).await?.level >= Level::View {
                    workspaces.push((w.id, w.name));
                }
            }
        }
        let may_explain = Self::may_explain(actor, &visible);
        Ok(ResourceView {
            visible,
            credentials,
            owner_name,
            team_name,
            project,
            shares,
            shares_etag,
            inherited,
            workspaces,
            teams,
            people,
            may_explain,
        })
    }
}
