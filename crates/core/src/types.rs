//! Parsed domain values: once a service holds one of these, it is valid.

use crate::error::{Error, Result};
use crate::text::forbidden_message;
pub use crate::text::{email_key, forbidden_char};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered id.
            pub fn new() -> Self {
                $name(Uuid::now_v7())
            }
            /// Parses a UUID string, or answers 400 `invalid_id`.
            pub fn parse(s: &str) -> Result<Self> {
                Uuid::parse_str(s).map($name).map_err(|_| {
                    Error::invalid("invalid_id", format!("'{}' is not a valid {} id.", s.chars().take(64).collect::<String>(), $what))
                })
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(/// A user's id.
    UserId, "user");
id_type!(/// A session's id (not its secret token).
    SessionId, "session");
id_type!(/// An API token's id (not its secret).
    TokenId, "token");
id_type!(/// An audit event's id.
    EventId, "event");
id_type!(/// A team's id.
    TeamId, "team");
id_type!(/// A resource's id.
    ResourceId, "resource");
id_type!(/// A share's id, stable while the share exists (raising its level keeps it).
    ShareId, "share");

/// An email address, trimmed; compared through `key()`, so that one person has one account
/// however the address is typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain.tld` shapes of at most 254 characters without spaces, control,
    /// invisible or direction-changing characters, whose domain is a valid (internationalised)
    /// domain name.
    pub fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        // Why refused rather than stripped: an address that displays unlike what it is (a
        // right-to-left override, a zero-width space) is a look-alike of another account.
        if let Some(c) = forbidden_char(s) {
            return Err(Error::invalid_field("email", "invalid_email", forbidden_message("email", c)));
        }
        let bad = || {
            Error::invalid_field(
                "email",
                "invalid_email",
                format!("'{}' is not a valid email address.", s.chars().take(80).collect::<String>()),
            )
        };
        if s.is_empty() || s.len() > 254 || s.chars().any(char::is_whitespace) {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || local.len() > 64
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains('@')
            || domain.contains("..")
        {
            return Err(bad());
        }
        let ascii = idna::domain_to_ascii(domain).map_err(|_| bad())?;
        if ascii.is_empty() || ascii.len() > 253 {
            return Err(bad());
        }
        Ok(Email(s.to_owned()))
    }
    /// The address as typed, trimmed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The form used for uniqueness and lookups (see `email_key`).
    pub fn key(&self) -> String {
        email_key(&self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A person's display name: 1 to 200 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullName(String);

impl FullName {
    /// Trims; refuses an empty name, more than 200 characters as sent, or control or invisible characters.
    pub fn parse(s: &str) -> Result<Self> {
        let (sent, s) = (s.chars().count(), s.trim());
        if s.is_empty() {
            return Err(Error::invalid_field("full_name", "invalid_full_name", "The full name must not be empty."));
        }
        if let Some(c) = forbidden_char(s) {
            return Err(Error::invalid_field("full_name", "invalid_full_name", forbidden_message("full name", c)));
        }
        if sent > 200 {
            return Err(Error::invalid_field(
                "full_name",
                "invalid_full_name",
                "The full name must be at most 200 characters, without control characters.",
            ));
        }
        Ok(FullName(s.to_owned()))
    }
    /// The name, trimmed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A team's name: 1 to 100 characters, unique without regard to case (through `key()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamName(String);

impl TeamName {
    /// Trims; refuses an empty name, more than 100 characters as sent, or control or invisible characters.
    pub fn parse(s: &str) -> Result<Self> {
        let (sent, s) = (s.chars().count(), s.trim());
        if let Some(c) = forbidden_char(s) {
            return Err(Error::invalid_field("name", "invalid_team_name", forbidden_message("team name", c)));
        }
        if s.is_empty() || sent > 100 {
            return Err(Error::invalid_field(
                "name",
                "invalid_team_name",
                "The team name must be 1 to 100 characters, without control characters.",
            ));
        }
        Ok(TeamName(s.to_owned()))
    }
    /// The name, trimmed, its case kept.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The lowercased form under which team names are unique.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A short label chosen by a user (token names): 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label(String);

impl Label {
    /// Trims; refuses an empty label, more than 100 characters as sent, or control or invisible characters.
    pub fn parse(field: &'static str, s: &str) -> Result<Self> {
        let (sent, s) = (s.chars().count(), s.trim());
        if let Some(c) = forbidden_char(s) {
            return Err(Error::invalid_field(field, "invalid_name", forbidden_message(field, c)));
        }
        if s.is_empty() || sent > 100 {
            return Err(Error::invalid_field(
                field,
                "invalid_name",
                format!("The {field} must be 1 to 100 characters, without control characters."),
            ));
        }
        Ok(Label(s.to_owned()))
    }
    /// The label, trimmed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The four roles. A user has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the platform: users, teams, policies, audit, access reviews and the check API.
    Admin,
    /// Deploys apps, creates data sources, workflows, projects and workspaces.
    Developer,
    /// Creates workflows, projects and workspaces, and uses the data sources shared with them.
    DataScientist,
    /// Sees what is shared with them, at view and never more; never uses data sources.
    Viewer,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Developer, Role::DataScientist, Role::Viewer];

    /// The role's one text encoding (`admin`, `developer`, `data_scientist`, `viewer`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Developer => "developer",
            Role::DataScientist => "data_scientist",
            Role::Viewer => "viewer",
        }
    }
    /// The name people read in the UI.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Developer => "Developer",
            Role::DataScientist => "Data Scientist",
            Role::Viewer => "Viewer",
        }
    }
    /// A role from its text; anything else is a 400 naming the `role` field.
    pub fn parse(s: &str) -> Result<Self> {
        s.parse()
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Role::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            Error::invalid_field(
                "role",
                "invalid_role",
                format!("'{}' is not a role; use admin, developer, data_scientist or viewer.", s.chars().take(40).collect::<String>()),
            )
        })
    }
}

/// Whether a user may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Invited, has not set a password yet.
    Invited,
    /// May sign in and act.
    Active,
    /// Access ended (by an admin, over SCIM, or by the jobs at the end date or after inactivity); reactivation restores it.
    Deactivated,
}

impl UserStatus {
    /// The status's text (`invited`, `active`, `deactivated`).
    pub fn as_str(self) -> &'static str {
        match self {
            UserStatus::Invited => "invited",
            UserStatus::Active => "active",
            UserStatus::Deactivated => "deactivated",
        }
    }
    /// A status from its text; anything else is a 400 naming the `status` field.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "invited" => Ok(UserStatus::Invited),
            "active" => Ok(UserStatus::Active),
            "deactivated" => Ok(UserStatus::Deactivated),
            _ => Err(Error::invalid_field("status", "invalid_status", "The status must be active, deactivated or invited.")),
        }
    }
}

/// Whether an account is a person or a service account (a non-human principal of the platform,
/// with scoped API tokens and no way to sign in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserKind {
    /// A person, who signs in.
    Person,
    /// A service account, which only has scoped API tokens.
    Service,
}

impl UserKind {
    /// The kind's stored text (`person`, `service`).
    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::Person => "person",
            UserKind::Service => "service",
        }
    }
    /// A kind from its stored text; anything else is an internal error (the database is wrong).
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "person" => Ok(UserKind::Person),
            "service" => Ok(UserKind::Service),
            _ => Err(Error::internal_msg(format!("unknown user kind {s:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(Email::parse("  Ada@Example.COM ").unwrap().key(), "ada@example.com");
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "a b@example.com", "ada@.com."] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn roles_round_trip_and_refuse_unknown() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn names() {
        assert!(FullName::parse("  ").is_err());
        assert_eq!(FullName::parse(" Ada ").unwrap().as_str(), "Ada");
        assert!(UserId::parse("not-a-uuid").is_err());
    }
}
