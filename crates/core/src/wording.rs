//! Audit events read as sentences ("Ann changed Dana's role from Developer to Viewer"): the
//! Activity page, a user's, a team's and a resource's history all word events here. Names of
//! people, teams and resources come resolved (`Names`, read in one batch for a page of events,
//! see `references`); what an event's details say changed is worded, nothing else.

use crate::access::Kind;
use crate::audience::Visibility;
use crate::model::{ActorKind, AuditEvent};
use crate::types::Role;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The actions people filter the Activity page by, with their names in words, in the order the
/// filter lists them.
pub const KNOWN_ACTIONS: &[(&str, &str)] = &[
    ("auth.login", "Signed in"),
    ("auth.login_failed", "Failed sign-in"),
    ("auth.logout", "Signed out"),
    ("auth.mfa_challenge", "Asked for a second factor"),
    ("access.denied", "Refused access"),
    ("user.create", "Account created"),
    ("user.update", "User changed (role, name, end date)"),
    ("user.deactivate", "User deactivated"),
    ("user.reactivate", "User reactivated"),
    ("user.expire", "Access ended on its end date"),
    ("user.deactivate_inactive", "Deactivated for inactivity"),
    ("user.password_change", "Password changed"),
    ("user.password_change_failed", "Password change failed"),
    ("user.password_set", "Password set from the command line"),
    ("password_reset.request", "Password reset requested"),
    ("password_reset.complete", "Password reset completed"),
    ("invitation.create", "Invitation sent"),
    ("invitation.resend", "Invitation resent"),
    ("invitation.revoke", "Invitation revoked"),
    ("invitation.accept", "Invitation accepted"),
    ("mfa.enroll_start", "MFA enrollment started"),
    ("mfa.verify", "MFA code verified"),
    ("mfa.activate", "MFA turned on"),
    ("mfa.disable", "MFA turned off"),
    ("mfa.reset", "MFA reset"),
    ("mfa.backup_codes_regenerate", "Backup codes regenerated"),
    ("session.revoke", "Session ended"),
    ("token.create", "API token created"),
    ("token.revoke", "API token revoked"),
    ("team.create", "Team created"),
    ("team.update", "Team changed"),
    ("team.delete", "Team deleted"),
    ("team.member_add", "Member added"),
    ("team.member_remove", "Member removed"),
    ("team.quotas", "Quotas changed"),
    ("resource.create", "Resource created"),
    ("resource.update", "Resource changed"),
    ("resource.delete", "Resource deleted"),
    ("resource.share", "Sharing replaced"),
    ("resource.share_add", "Shared"),
    ("resource.share_remove", "Share removed"),
    ("resource.credentials_set", "Credentials set"),
    ("policy.update", "Security policy changed"),
    ("policy.reviews_update", "Access review settings changed"),
    ("access_review.open", "Access review opened"),
    ("access_review.decide", "Access review decision"),
    ("access_review.reassign", "Access review item reassigned"),
    ("access_review.complete", "Access review completed"),
    ("access_review.revoke_undecided", "Undecided review items revoked"),
    ("audit.export", "Audit log exported"),
    ("keys.rotate", "Master key rotated"),
];

/// The name in words of an action (the action itself when it is not a known one).
pub fn action_label(action: &str) -> &str {
    KNOWN_ACTIONS.iter().find(|(a, _)| *a == action).map_or(action, |(_, l)| l)
}

/// The people, teams and resources a set of events names, by id: what `Names` must resolve.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    /// Ids of the users the events name (actors and targets).
    pub users: BTreeSet<String>,
    /// Ids of the teams the events name.
    pub teams: BTreeSet<String>,
    /// Ids of the resources the events name.
    pub resources: BTreeSet<String>,
}

/// Names by id (the text form of the ids); a missing id was deleted since.
#[derive(Debug, Clone, Default)]
pub struct Names {
    /// Users' names by id.
    pub users: HashMap<String, String>,
    /// Teams' names by id.
    pub teams: HashMap<String, String>,
    /// Resources' names by id.
    pub resources: HashMap<String, String>,
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Adds what `event` names to `refs`.
pub fn references(event: &AuditEvent, refs: &mut References) {
    if let Some(a) = event.actor_id {
        refs.users.insert(a.to_string());
    }
    if let (Some(t), Some(id)) = (event.target_type.as_deref(), event.target_id.as_deref()) {
        let set = match t {
            "user" => &mut refs.users,
            "team" => &mut refs.teams,
            "resource" => &mut refs.resources,
            _ => return add_detail_refs(&event.details, refs),
        };
        set.insert(id.to_owned());
    }
    add_detail_refs(&event.details, refs);
}

fn add_detail_refs(d: &Value, refs: &mut References) {
    for key in ["user_id", "lead_id"] {
        if let Some(id) = text(d, key) {
            refs.users.insert(id.to_owned());
        }
        for side in ["before", "after"] {
            if let Some(id) = d.get(key).and_then(|c| text(c, side)) {
                refs.users.insert(id.to_owned());
            }
        }
    }
    if let Some(id) = text(d, "team_id") {
        refs.teams.insert(id.to_owned());
    }
    if let Some(id) = text(d, "project_id") {
        refs.resources.insert(id.to_owned());
    }
    if let Some(c) = d.get("team_id") {
        for side in ["before", "after"] {
            if let Some(id) = text(c, side) {
                refs.teams.insert(id.to_owned());
            }
        }
    }
    let mut subject = |s: &Value| match (text(s, "type"), text(s, "id")) {
        (Some("user"), Some(id)) => {
            refs.users.insert(id.to_owned());
        }
        (Some("team"), Some(id)) => {
            refs.teams.insert(id.to_owned());
        }
        _ => {}
    };
    for side in ["before", "after"] {
        if let Some(list) = d.get(side).and_then(Value::as_array) {
            list.iter().filter_map(|s| s.get("subject")).for_each(&mut subject);
        }
    }
    if let Some(s) = d.get("share").and_then(|s| s.get("subject")) {
        subject(s);
    }
    if let Some(ids) = d.get("team_ids").and_then(Value::as_array) {
        refs.teams.extend(ids.iter().filter_map(Value::as_str).map(str::to_owned));
    }
}

/// Words an event with the names it refers to.
struct Speaker<'a> {
    e: &'a AuditEvent,
    names: &'a Names,
}

impl Speaker<'_> {
    fn user(&self, id: &str) -> String {
        self.names.users.get(id).cloned().unwrap_or_else(|| "a removed user".into())
    }
    fn team(&self, id: &str) -> String {
        self.names.teams.get(id).map_or_else(|| "a deleted team".into(), |n| format!("team {n}"))
    }
    fn actor(&self) -> String {
        match (self.e.actor_kind, self.e.actor_id) {
            (ActorKind::System, _) => "Keyward".into(),
            (ActorKind::Cli, None) => "The command line".into(),
            (ActorKind::Scim, None) => {
                let client = self.e.details.pointer("/scim_client/name").and_then(|n| n.as_str()).unwrap_or("a provisioning client");
                format!("SCIM ({client})")
            }
            (_, Some(id)) => self.user(&id.to_string()),
            (ActorKind::Service, None) => "A service account".into(),
            (ActorKind::Anonymous | ActorKind::User, None) => "Someone".into(),
        }
    }
    fn target_id(&self) -> &str {
        self.e.target_id.as_deref().unwrap_or("")
    }
    /// The target user's name, or "their own" words when the actor acts on itself.
    fn target_user(&self) -> String {
        self.user(self.target_id())
    }
    fn possessive(&self) -> String {
        let own = self.e.actor_id.is_some_and(|a| a.to_string() == self.target_id());
        if own { "their".into() } else { format!("{}'s", self.target_user()) }
    }
    /// The target resource by name: the current one, else the name the event recorded.
    fn target_resource(&self) -> String {
        match self.names.resources.get(self.target_id()) {
            Some(n) => n.clone(),
            None => text(&self.e.details, "name").map_or_else(|| "a deleted resource".into(), str::to_owned),
        }
    }
    fn target_team(&self) -> String {
        match self.names.teams.get(self.target_id()) {
            Some(n) => format!("team {n}"),
            None => text(&self.e.details, "name").map_or_else(|| "a deleted team".into(), |n| format!("team {n}")),
        }
    }
    fn subject(&self, s: &Value) -> String {
        match (text(s, "type"), text(s, "id")) {
            (Some("user"), Some(id)) => self.user(id),
            (Some("team"), Some(id)) => self.team(id),
            _ => "all users".into(),
        }
    }
}

fn role_label(s: &str) -> String {
    Role::parse(s).map_or_else(|_| s.to_owned(), |r| r.label().to_owned())
}

fn kind_label(s: &str) -> String {
    s.parse::<Kind>().map_or_else(|_| s.replace('_', " "), |k| k.label().to_lowercase())
}

fn visibility_label(s: &str) -> String {
    s.parse::<Visibility>().map_or_else(|_| s.to_owned(), |v| v.label().to_owned())
}

/// A JSON value as a reader sees it: "none" for null, dates on their day.
fn shown(v: &Value) -> String {
    match v {
        Value::Null => "none".into(),
        // An RFC 3339 time: its day is enough in a sentence.
        Value::String(s)
            if s.len() > 10 && s.as_bytes()[..10].iter().all(|b| b.is_ascii_digit() || *b == b'-') && s.as_bytes()[10] == b'T' =>
        {
            s[..10].to_owned()
        }
        Value::String(s) => format!("\u{201c}{s}\u{201d}"),
        other => other.to_string(),
    }
}

/// "a", "a and b", "a, b and c".
fn join(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The `{before, after}` fields of `d` that differ, worded by `word` (field, before, after).
fn changed_fields(d: &Value, word: impl Fn(&str, &Value, &Value) -> Option<String>) -> Vec<String> {
    let Some(map) = d.as_object() else { return Vec::new() };
    map.iter()
        .filter_map(|(k, c)| {
            let (b, a) = (c.get("before")?, c.get("after")?);
            (b != a).then(|| word(k, b, a)).flatten()
        })
        .collect()
}

/// The subject → level of a list of shares as the audit records them.
fn share_map(v: Option<&Value>) -> BTreeMap<String, (Value, String)> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let subject = s.get("subject")?;
            let key = format!("{}:{}", text(subject, "type")?, text(subject, "id").unwrap_or(""));
            Some((key, (subject.clone(), text(s, "level").unwrap_or("").to_owned())))
        })
        .collect()
}

/// The event as a sentence, with `names` resolving the ids it holds.
pub fn sentence(e: &AuditEvent, names: &Names) -> String {
    let s = Speaker { e, names };
    let d = &e.details;
    let actor = s.actor();
    match e.action.as_str() {
        "auth.login" => format!("{actor} signed in"),
        "auth.login_failed" => {
            let who = if e.actor_id.is_some() { actor } else { text(d, "email").unwrap_or("an unknown account").to_owned() };
            let reason = text(d, "reason").map(|r| format!(" ({})", r.replace('_', " "))).unwrap_or_default();
            format!("Failed sign-in as {who}{reason}")
        }
        "auth.logout" => format!("{actor} signed out"),
        "auth.mfa_challenge" => format!("{actor} entered their password and was asked for a second factor"),
        "access.denied" => format!("{actor} was refused {}", text(d, "request").unwrap_or("a request")),
        "user.create" => format!("{actor} created {}'s account", s.target_user()),
        "user.update" => {
            let parts = changed_fields(d, |k, b, a| {
                Some(match k {
                    "role" => format!("role from {} to {}", role_label(b.as_str().unwrap_or("")), role_label(a.as_str().unwrap_or(""))),
                    "full_name" => format!("name from {} to {}", shown(b), shown(a)),
                    "access_expires_at" => format!("access end date from {} to {}", shown(b), shown(a)),
                    other => format!("{} from {} to {}", other.replace('_', " "), shown(b), shown(a)),
                })
            });
            format!("{actor} changed {} {}", s.possessive(), join(&parts))
        }
        "user.deactivate" => format!("{actor} deactivated {}", s.target_user()),
        "user.reactivate" => format!("{actor} reactivated {}", s.target_user()),
        "user.expire" => format!("{}'s access ended on its end date", s.target_user()),
        "user.deactivate_inactive" => {
            let days = d.get("inactive_days").map(Value::to_string).unwrap_or_default();
            format!("{} was deactivated after {days} days without activity", s.target_user())
        }
        "user.email_key_normalise" => format!("Keyward normalised {}'s email key", s.target_user()),
        "user.password_change" => format!("{actor} changed their password"),
        "user.password_change_failed" => format!("{actor} failed to change their password"),
        "user.password_set" => format!("{actor} set {}'s password", s.target_user()),
        "password_reset.request" => match e.actor_id {
            Some(_) => format!("A password reset was requested for {actor}"),
            None => format!("A password reset was requested for {}, which has no account", text(d, "email").unwrap_or("an email")),
        },
        "password_reset.complete" => format!("{actor} set a new password from a reset link"),
        "invitation.create" => {
            let role = text(d, "role").map(role_label).unwrap_or_default();
            let email = text(d, "email").map_or_else(|| s.target_user(), str::to_owned);
            format!("{actor} invited {email} as {role}")
        }
        "invitation.resend" => format!("{actor} resent {}'s invitation", s.target_user()),
        "invitation.revoke" => format!("{actor} revoked {}'s invitation", s.target_user()),
        "invitation.accept" => format!("{actor} accepted their invitation"),
        "mfa.enroll_start" => format!("{actor} started setting up MFA"),
        "mfa.verify" => format!("{actor} verified an MFA code"),
        "mfa.activate" => format!("{actor} turned on MFA"),
        "mfa.disable" => format!("{actor} turned off MFA"),
        "mfa.reset" => format!("{actor} reset {} MFA", s.possessive()),
        "mfa.backup_codes_regenerate" => format!("{actor} made new backup codes"),
        "session.revoke" => format!("{actor} ended a session"),
        "token.create" => format!("{actor} created API token {}", text(d, "name").map(|n| shown(&Value::from(n))).unwrap_or_default()),
        "token.revoke" => format!("{actor} revoked an API token"),
        "team.create" => format!("{actor} created {}", s.target_team()),
        "team.delete" => format!("{actor} deleted {}", s.target_team()),
        "team.update" => {
            let mut parts = changed_fields(d, |k, b, a| match k {
                "name" => Some(format!("name from {} to {}", shown(b), shown(a))),
                "lead_id" => {
                    let who = |v: &Value| v.as_str().map_or_else(|| "nobody".into(), |id| s.user(id));
                    Some(format!("lead from {} to {}", who(b), who(a)))
                }
                _ => None,
            });
            if d.get("description_changed").and_then(Value::as_bool) == Some(true) {
                parts.push("description".into());
            }
            format!("{actor} changed {}'s {}", s.target_team(), join(&parts))
        }
        "team.member_add" => format!("{actor} added {} to {}", s.user(text(d, "user_id").unwrap_or("")), s.target_team()),
        "team.member_remove" => format!("{actor} removed {} from {}", s.user(text(d, "user_id").unwrap_or("")), s.target_team()),
        "team.quotas" => {
            let (b, a) = (d.get("before").cloned().unwrap_or_default(), d.get("after").cloned().unwrap_or_default());
            let parts: Vec<String> = a
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, v)| b.get(k.as_str()) != Some(*v))
                .map(|(k, v)| {
                    let limit = |v: &Value| if v.is_null() { "no limit".to_owned() } else { v.to_string() };
                    format!(
                        "{} from {} to {}",
                        k.trim_start_matches("max_").replace('_', " "),
                        limit(b.get(k.as_str()).unwrap_or(&Value::Null)),
                        limit(v)
                    )
                })
                .collect();
            format!("{actor} changed {}'s quotas: {}", s.target_team(), join(&parts))
        }
        "resource.create" => {
            let kind = text(d, "kind").map(kind_label).unwrap_or_else(|| "resource".into());
            let team = text(d, "team_id").map(|t| format!(" in {}", s.team(t))).unwrap_or_default();
            format!("{actor} created {kind} {}{team}", s.target_resource())
        }
        "resource.delete" => {
            let kind = text(d, "kind").map(kind_label).unwrap_or_else(|| "resource".into());
            format!("{actor} deleted {kind} {}", text(d, "name").map_or_else(|| s.target_resource(), str::to_owned))
        }
        "resource.update" => {
            let parts = changed_fields(d, |k, b, a| {
                Some(match k {
                    "name" => format!("name from {} to {}", shown(b), shown(a)),
                    "team_id" => {
                        let team = |v: &Value| v.as_str().map_or_else(|| "no team".into(), |id| s.team(id));
                        format!("team from {} to {}", team(b), team(a))
                    }
                    "visibility" => format!(
                        "visibility from {} to {}",
                        visibility_label(b.as_str().unwrap_or("")),
                        visibility_label(a.as_str().unwrap_or(""))
                    ),
                    "cpu_millis" => format!("CPU from {b} to {a} millicores"),
                    "memory_mib" => format!("memory from {b} to {a} MiB"),
                    "storage_gib" => format!("storage from {b} to {a} GiB"),
                    other => format!("{} from {} to {}", other.replace('_', " "), shown(b), shown(a)),
                })
            });
            format!("{actor} changed {}'s {}", s.target_resource(), join(&parts))
        }
        "resource.share" | "resource.share_add" => {
            let (before, after) = (share_map(d.get("before")), share_map(d.get("after")));
            let mut parts = Vec::new();
            for (key, (subject, level)) in &after {
                match before.get(key) {
                    None => parts.push(format!("shared {} with {} ({})", s.target_resource(), s.subject(subject), level)),
                    Some((_, old)) if old != level => {
                        parts.push(format!("changed {}'s access to {} from {} to {}", s.subject(subject), s.target_resource(), old, level))
                    }
                    Some(_) => {}
                }
            }
            if e.action == "resource.share" {
                for (key, (subject, _)) in &before {
                    if !after.contains_key(key) {
                        parts.push(format!("stopped sharing {} with {}", s.target_resource(), s.subject(subject)));
                    }
                }
            }
            if let Some(v) = d.get("visibility")
                && let (Some(b), Some(a)) = (text(v, "before"), text(v, "after"))
                && b != a
            {
                let whose = if parts.is_empty() { format!("{}'s", s.target_resource()) } else { "its".to_owned() };
                parts.push(format!("set {whose} visibility to {}", visibility_label(a)));
            }
            if parts.is_empty() {
                format!("{actor} saved {}'s sharing unchanged", s.target_resource())
            } else {
                format!("{actor} {}", join(&parts))
            }
        }
        "resource.share_remove" => {
            let subject = d.get("share").and_then(|x| x.get("subject")).map(|x| s.subject(x)).unwrap_or_else(|| "someone".into());
            format!("{actor} stopped sharing {} with {subject}", s.target_resource())
        }
        "resource.credentials_set" => format!("{actor} set the credentials of {}", s.target_resource()),
        "policy.update" => format!("{actor} changed the security policy"),
        "policy.reviews_update" => format!("{actor} changed the access review settings"),
        "access_review.open" => format!("{actor} opened an access review"),
        "access_review.decide" => {
            let n = d.get("items").and_then(Value::as_array).map_or(0, Vec::len);
            let decision = text(d, "decision").unwrap_or("decided");
            format!("{actor} decided {decision} on {n} access review item{}", if n == 1 { "" } else { "s" })
        }
        "access_review.reassign" => format!("{actor} reassigned access review items"),
        "access_review.complete" => format!("{actor} completed an access review"),
        "access_review.revoke_undecided" => format!("{actor} revoked the undecided items of an overdue access review"),
        "audit.export" => format!("{actor} exported the audit log as {}", text(d, "format").unwrap_or("a file").to_uppercase()),
        "keys.rotate" => format!("{actor} rotated the master key"),
        other => format!("{actor}: {}", action_label(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{EventId, UserId};
    use serde_json::json;
    use time::OffsetDateTime;

    fn event(actor: Option<UserId>, action: &str, target: Option<(&str, String)>, details: Value) -> AuditEvent {
        AuditEvent {
            id: EventId::new(),
            at: OffsetDateTime::UNIX_EPOCH,
            actor_kind: if actor.is_some() { ActorKind::User } else { ActorKind::Anonymous },
            actor_id: actor,
            action: action.into(),
            target_type: target.as_ref().map(|t| t.0.to_owned()),
            target_id: target.map(|t| t.1),
            ip: None,
            user_agent: None,
            details,
        }
    }

    struct World {
        ann: UserId,
        dana: UserId,
        team: String,
        db: String,
        names: Names,
    }

    fn world() -> World {
        let (ann, dana) = (UserId::new(), UserId::new());
        let (team, db) = (uuid::Uuid::now_v7().to_string(), uuid::Uuid::now_v7().to_string());
        let mut names = Names::default();
        names.users.insert(ann.to_string(), "Ann".into());
        names.users.insert(dana.to_string(), "Dana".into());
        names.teams.insert(team.clone(), "Data".into());
        names.resources.insert(db.clone(), "Sales DB".into());
        World { ann, dana, team, db, names }
    }

    #[test]
    fn a_role_change_names_both_people_and_only_what_changed() {
        let w = world();
        let e = event(
            Some(w.ann),
            "user.update",
            Some(("user", w.dana.to_string())),
            json!({ "role": { "before": "developer", "after": "viewer" } }),
        );
        assert_eq!(sentence(&e, &w.names), "Ann changed Dana's role from Developer to Viewer");
        let mut refs = References::default();
        references(&e, &mut refs);
        assert_eq!(refs.users, [w.ann.to_string(), w.dana.to_string()].into_iter().collect());
    }

    #[test]
    fn a_share_names_the_resource_the_team_and_the_level() {
        let w = world();
        let share =
            json!({ "id": "s", "resource_id": w.db, "subject": { "type": "team", "id": w.team }, "level": "edit", "expires_at": null });
        let e = event(
            Some(w.ann),
            "resource.share_add",
            Some(("resource", w.db.clone())),
            json!({ "before": [], "after": [share], "visibility": { "before": "specific", "after": "specific" } }),
        );
        assert_eq!(sentence(&e, &w.names), "Ann shared Sales DB with team Data (edit)");
        let mut refs = References::default();
        references(&e, &mut refs);
        assert!(refs.teams.contains(&w.team) && refs.resources.contains(&w.db));
    }

    #[test]
    fn a_resource_change_words_only_the_changed_fields() {
        let w = world();
        let e = event(
            Some(w.ann),
            "resource.update",
            Some(("resource", w.db.clone())),
            json!({
                "name": { "before": "Sales", "after": "Sales DB" },
                "cpu_millis": { "before": 100, "after": 100 },
                "visibility": { "before": "private", "after": "all_users", "all_users_share_added": true },
            }),
        );
        assert_eq!(
            sentence(&e, &w.names),
            "Ann changed Sales DB's name from \u{201c}Sales\u{201d} to \u{201c}Sales DB\u{201d} and visibility from Private to All Users"
        );
    }

    #[test]
    fn sign_ins_and_failures_read_plainly() {
        let w = world();
        assert_eq!(sentence(&event(Some(w.ann), "auth.login", Some(("user", w.ann.to_string())), json!({})), &w.names), "Ann signed in");
        let failed = event(None, "auth.login_failed", None, json!({ "email": "who@example.com", "reason": "unknown_email" }));
        assert_eq!(sentence(&failed, &w.names), "Failed sign-in as who@example.com (unknown email)");
    }

    #[test]
    fn deleted_things_fall_back_to_the_recorded_name() {
        let w = world();
        let gone = uuid::Uuid::now_v7().to_string();
        let e = event(Some(w.ann), "resource.delete", Some(("resource", gone)), json!({ "kind": "data_source", "name": "Old DB" }));
        assert_eq!(sentence(&e, &w.names), "Ann deleted data source Old DB");
        let m = event(Some(w.ann), "team.member_remove", Some(("team", w.team.clone())), json!({ "user_id": UserId::new().to_string() }));
        assert_eq!(sentence(&m, &w.names), "Ann removed a removed user from team Data");
    }

    #[test]
    fn every_known_action_has_words() {
        for (action, label) in KNOWN_ACTIONS {
            assert_eq!(action_label(action), *label);
        }
        assert_eq!(action_label("something.new"), "something.new");
    }
}
