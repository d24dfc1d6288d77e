//! Building a new access review's items from the facts the store gathered: who is up for
//! review, who reviews it, and what each access reaches, in words.

use crate::review::{ItemContext, ItemKind, ReviewId, ReviewItem, ReviewPolicy};
use crate::types::{Role, TeamId, UserId};
use time::{Duration, OffsetDateTime};

/// The items of a new review, from the facts as they are at `now`: every active admin, every
/// active user inactive for longer than the policy's threshold (counted from creation for
/// those never active), every team membership of an active user, and every live edit share on
/// a data source. Admins review admins, inactive users and data-source shares (no reviewer
/// named); each team's lead reviews the team's memberships, except their own.
pub fn build_items(facts: &crate::store::ReviewFacts, policy: &ReviewPolicy, review: ReviewId, now: OffsetDateTime) -> Vec<ReviewItem> {
    use crate::access::Subject;
    use crate::model::rfc3339;
    use crate::types::UserStatus;
    use std::collections::HashMap;

    let users: HashMap<UserId, &crate::model::User> = facts.users.iter().map(|u| (u.id, u)).collect();
    let teams: HashMap<TeamId, &crate::model::Team> = facts.teams.iter().map(|t| (t.id, t)).collect();
    let mut team_count: HashMap<UserId, usize> = HashMap::new();
    for (_, u) in &facts.memberships {
        *team_count.entry(*u).or_default() += 1;
    }
    let person = |u: &crate::model::User| ItemContext {
        user_name: Some(u.full_name.clone()),
        user_email: Some(u.email.clone()),
        user_role: Some(u.role.label().to_owned()),
        last_sign_in_at: facts.last_sign_ins.get(&u.id).map(|t| rfc3339(*t)),
        last_active_at: u.last_active_at.map(rfc3339),
        ..ItemContext::default()
    };
    let item = |kind, user: Option<UserId>, context| ReviewItem {
        id: uuid::Uuid::now_v7(),
        review_id: review,
        kind,
        user_id: user,
        team_id: None,
        resource_id: None,
        reviewer_id: None,
        context,
        decision: None,
        note: None,
        demote_to: None,
        decided_by: None,
        decided_at: None,
        outcome: None,
        applied_at: None,
    };
    let plural = |n: i64, one: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") };
    let mut out = Vec::new();
    let active = facts.users.iter().filter(|u| u.status == UserStatus::Active);
    for u in active.clone().filter(|u| u.role == Role::Admin) {
        let context = ItemContext { reaches: "Full access to every resource, user, team and setting".into(), ..person(u) };
        out.push(item(ItemKind::Admin, Some(u.id), context));
    }
    let cutoff = now - Duration::days(policy.inactive_days.into());
    for u in active.filter(|u| u.last_active_at.unwrap_or(u.created_at) < cutoff) {
        let owned = facts.owned_resources.get(&u.id).copied().unwrap_or(0);
        let teams_in = team_count.get(&u.id).copied().unwrap_or(0) as i64;
        let reaches = format!("{} role; member of {}; owns {}", u.role.label(), plural(teams_in, "team"), plural(owned, "resource"));
        out.push(item(ItemKind::InactiveUser, Some(u.id), ItemContext { reaches, ..person(u) }));
    }
    for (team_id, user_id) in &facts.memberships {
        let (Some(u), Some(team)) = (users.get(user_id), teams.get(team_id)) else { continue };
        let owned = facts.team_resources.get(team_id).copied().unwrap_or(0);
        let shared = facts.team_shares.get(team_id).copied().unwrap_or(0);
        let reaches =
            format!("Team {}: {} owned by the team, shares on {}", team.name, plural(owned, "resource"), plural(shared, "resource"));
        let lead = team.lead_id.filter(|l| *l != u.id && users.get(l).is_some_and(|l| l.status == UserStatus::Active));
        let mut i = item(ItemKind::TeamMembership, Some(u.id), ItemContext { team_name: Some(team.name.clone()), reaches, ..person(u) });
        i.team_id = Some(*team_id);
        i.reviewer_id = lead;
        out.push(i);
    }
    for (resource, name, subject) in &facts.data_source_edit_shares {
        let (user_id, team_id, context) = match subject {
            Subject::User(id) => {
                let Some(u) = users.get(id) else { continue };
                (Some(*id), None, ItemContext { subject: Some("user".into()), ..person(u) })
            }
            Subject::Team(id) => {
                let Some(team) = teams.get(id) else { continue };
                (
                    None,
                    Some(*id),
                    ItemContext { subject: Some("team".into()), team_name: Some(team.name.clone()), ..ItemContext::default() },
                )
            }
            Subject::AllUsers => (None, None, ItemContext { subject: Some("all_users".into()), ..ItemContext::default() }),
        };
        let mut i = item(
            ItemKind::DataSourceShare,
            user_id,
            ItemContext {
                resource_name: Some(name.clone()),
                reaches: format!("Edit on data source {name}: use it, change it and share it"),
                ..context
            },
        );
        i.team_id = team_id;
        i.resource_id = Some(*resource);
        out.push(i);
    }
    out
}
