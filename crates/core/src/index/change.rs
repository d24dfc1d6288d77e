//! What a write transaction changed, as the change log records it: the index reloads each named
//! thing from the database.

use crate::types::{ResourceId, TeamId, UserId};

/// One thing whose access facts changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Change {
    /// The user's row (role, status, end date, MFA) and their team memberships.
    User(UserId),
    /// Every API token of the user.
    Tokens(UserId),
    /// A team went or changed: its memberships and the shares to it.
    Team(TeamId),
    /// The resource's row and its shares.
    Resource(ResourceId),
    /// The security policy.
    Policy,
}

impl Change {
    /// The change log's `kind` and `key` columns.
    pub fn columns(&self) -> (&'static str, String) {
        match self {
            Change::User(u) => ("user", u.to_string()),
            Change::Tokens(u) => ("tokens", u.to_string()),
            Change::Team(t) => ("team", t.to_string()),
            Change::Resource(r) => ("resource", r.to_string()),
            Change::Policy => ("policy", String::new()),
        }
    }

    /// Reads the columns back; `None` for a row this version does not know (it is skipped).
    pub fn from_columns(kind: &str, key: &str) -> Option<Change> {
        let uuid = || uuid::Uuid::parse_str(key).ok();
        Some(match kind {
            "user" => Change::User(UserId(uuid()?)),
            "tokens" => Change::Tokens(UserId(uuid()?)),
            "team" => Change::Team(TeamId(uuid()?)),
            "resource" => Change::Resource(ResourceId(uuid()?)),
            "policy" => Change::Policy,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Change;
    use crate::types::{ResourceId, TeamId, UserId};

    #[test]
    fn columns_round_trip() {
        for c in [
            Change::User(UserId::new()),
            Change::Tokens(UserId::new()),
            Change::Team(TeamId::new()),
            Change::Resource(ResourceId::new()),
            Change::Policy,
        ] {
            let (kind, key) = c.columns();
            assert_eq!(Change::from_columns(kind, &key), Some(c));
        }
        assert_eq!(Change::from_columns("user", "nope"), None);
        assert_eq!(Change::from_columns("later", ""), None);
    }
}
