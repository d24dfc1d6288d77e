//! What a service account's API token may do: its scopes, and the one table of which API
//! operation each scope opens. A scoped token reaches an operation only when one of its scopes
//! opens it and its owner's role allows it (the services check the role as for anyone).

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// One thing a scoped token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// `POST /api/v1/authz/check` and `/check-batch`.
    AuthzCheck,
    /// `GET /api/v1/authz/explain`.
    AuthzExplain,
    /// `GET /api/v1/authz/lookup`.
    AuthzLookup,
    /// Reading the user directory (`GET /api/v1/users…`).
    UsersRead,
    /// Reading teams (`GET /api/v1/teams…`).
    TeamsRead,
    /// Reading the audit log, its export and its verification.
    AuditRead,
}

impl Scope {
    /// Every scope, in the order the pages and the API document list them.
    pub const ALL: [Scope; 6] =
        [Scope::AuthzCheck, Scope::AuthzExplain, Scope::AuthzLookup, Scope::UsersRead, Scope::TeamsRead, Scope::AuditRead];

    /// The scope's one text encoding (`authz:check`, `users:read`, …), as stored and as the API takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::AuthzCheck => "authz:check",
            Scope::AuthzExplain => "authz:explain",
            Scope::AuthzLookup => "authz:lookup",
            Scope::UsersRead => "users:read",
            Scope::TeamsRead => "teams:read",
            Scope::AuditRead => "audit:read",
        }
    }

    /// What the scope lets a token do, in a sentence (for the settings page).
    pub fn describe(self) -> &'static str {
        match self {
            Scope::AuthzCheck => "Ask whether a user may act on a resource (single and batch).",
            Scope::AuthzExplain => "Ask why a user has access to a resource.",
            Scope::AuthzLookup => "List the resources a user may act on.",
            Scope::UsersRead => "Read the user directory.",
            Scope::TeamsRead => "Read teams, their members and usage.",
            Scope::AuditRead => "Read, export and verify the audit log.",
        }
    }

    /// The scope that opens an API operation (`method`, and the route's template as the router
    /// matched it), or `None` when no scope does: a scoped token is refused there.
    pub fn for_operation(method: &str, route: &str) -> Option<Scope> {
        // Why a closed table: a new endpoint stays shut to service tokens until it is listed here.
        Some(match (method, route) {
            ("POST", "/api/v1/authz/check" | "/api/v1/authz/check-batch") => Scope::AuthzCheck,
            ("GET", "/api/v1/authz/explain") => Scope::AuthzExplain,
            ("GET", "/api/v1/authz/lookup") => Scope::AuthzLookup,
            ("GET", "/api/v1/users" | "/api/v1/users/{id}" | "/api/v1/users/{id}/logins") => Scope::UsersRead,
            ("GET", "/api/v1/teams" | "/api/v1/teams/{id}" | "/api/v1/teams/{id}/usage") => Scope::TeamsRead,
            ("GET", "/api/v1/audit" | "/api/v1/audit/export" | "/api/v1/audit/verify") => Scope::AuditRead,
            _ => return None,
        })
    }

    /// Parses a space-separated list (as stored); unknown names are an error.
    pub fn parse_list(s: &str) -> Result<Vec<Scope>> {
        s.split_whitespace().map(str::parse).collect()
    }

    /// A list as stored: sorted, deduplicated, space-separated.
    pub fn join(scopes: &[Scope]) -> String {
        let mut v = scopes.to_vec();
        v.sort();
        v.dedup();
        v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = Error;
    fn from_str(s: &str) -> Result<Scope> {
        Scope::ALL.into_iter().find(|sc| sc.as_str() == s).ok_or_else(|| {
            let known = Scope::ALL.map(Scope::as_str).join(", ");
            Error::invalid_field("scopes", "invalid_scope", format!("Unknown scope; the scopes are {known}."))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Scope;

    #[test]
    fn scopes_round_trip_and_refuse_unknown() {
        for s in Scope::ALL {
            assert_eq!(s.to_string().parse::<Scope>().unwrap(), s);
        }
        assert!("admin".parse::<Scope>().is_err());
        assert_eq!(Scope::parse_list("users:read authz:check").unwrap(), vec![Scope::UsersRead, Scope::AuthzCheck]);
        assert_eq!(Scope::join(&[Scope::UsersRead, Scope::AuthzCheck, Scope::UsersRead]), "authz:check users:read");
    }

    #[test]
    fn only_listed_operations_are_open() {
        assert_eq!(Scope::for_operation("POST", "/api/v1/authz/check"), Some(Scope::AuthzCheck));
        assert_eq!(Scope::for_operation("GET", "/api/v1/users"), Some(Scope::UsersRead));
        assert_eq!(Scope::for_operation("PATCH", "/api/v1/users/{id}"), None);
        assert_eq!(Scope::for_operation("POST", "/api/v1/me/tokens"), None);
        assert_eq!(Scope::for_operation("GET", "/api/v1/service-accounts"), None);
    }
}
