//! Building audit events. Every change of state writes one in the same transaction.

use crate::context::{Actor, RequestMeta};
use crate::model::{ActorKind, AuditEvent};
use crate::types::{EventId, UserId};
use time::OffsetDateTime;

impl AuditEvent {
    /// An event caused by a signed-in actor (or the command line acting as it).
    pub fn by(actor: &Actor, action: &str, at: OffsetDateTime) -> Self {
        let kind = match actor.via {
            crate::context::AuthVia::Cli => ActorKind::Cli,
            // Auditors must tell a machine's call from a person's.
            _ if actor.user.is_service() => ActorKind::Service,
            _ => ActorKind::User,
        };
        Self::new(kind, Some(actor.user.id), &actor.meta, action, at)
    }

    /// An event caused by someone not signed in; `user` is who they claimed or became.
    pub fn anonymous(meta: &RequestMeta, user: Option<UserId>, action: &str, at: OffsetDateTime) -> Self {
        Self::new(ActorKind::Anonymous, user, meta, action, at)
    }

    /// An event caused by Keyward itself (a background job).
    pub fn system(action: &str, at: OffsetDateTime) -> Self {
        Self::new(ActorKind::System, None, &RequestMeta::default(), action, at)
    }

    /// An event caused by the operator's command line.
    pub fn cli(action: &str, at: OffsetDateTime) -> Self {
        Self::new(ActorKind::Cli, None, &RequestMeta::default(), action, at)
    }

    /// An event caused by an identity provider's provisioning client (SCIM): the details name
    /// the client, next to `details`.
    pub fn scim(client: &crate::services::scim_admin::ScimClient, action: &str, at: OffsetDateTime, details: serde_json::Value) -> Self {
        let mut all = match details {
            serde_json::Value::Object(m) => m,
            other => {
                let mut m = serde_json::Map::new();
                m.insert("details".into(), other);
                m
            }
        };
        all.insert("scim_client".into(), serde_json::json!({ "id": client.token.id.to_string(), "name": client.token.name }));
        Self::new(ActorKind::Scim, None, &client.meta, action, at).details(serde_json::Value::Object(all))
    }

    fn new(kind: ActorKind, actor: Option<UserId>, meta: &RequestMeta, action: &str, at: OffsetDateTime) -> Self {
        AuditEvent {
            id: EventId::new(),
            at,
            actor_kind: kind,
            actor_id: actor,
            action: action.to_owned(),
            target_type: None,
            target_id: None,
            ip: meta.ip.clone(),
            user_agent: meta.user_agent.clone(),
            details: serde_json::Value::Object(Default::default()),
        }
    }

    /// Names the thing the event is about.
    pub fn target(mut self, kind: &str, id: impl ToString) -> Self {
        self.target_type = Some(kind.to_owned());
        self.target_id = Some(id.to_string());
        self
    }

    /// Adds details; callers never pass secrets here.
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}
