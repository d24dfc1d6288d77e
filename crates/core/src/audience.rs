//! Who a share is for (`Subject`) and who may use a data source (`Visibility`): each with its
//! one text encoding, which the API, the pages and the store all use.

use crate::access::Kind;
use crate::types::{TeamId, UserId};
use std::fmt;
use std::str::FromStr;

/// Who a share is for. Its one encoding is the pair (`type`, `id`) of `parts` / `from_parts`
/// (the API's `{type, id}`, the store's two columns) and, as one string, `user:<id>`,
/// `team:<id>` or `all_users` (`Display` / `FromStr`, the pages' form values).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// One user.
    User(UserId),
    /// Every member of a team, as its membership stands at each decision.
    Team(TeamId),
    /// Every user (data sources only).
    AllUsers,
}

impl Subject {
    /// The subject's type (`user`, `team` or `all_users`) and id (none for all users).
    pub fn parts(&self) -> (&'static str, Option<String>) {
        match self {
            Subject::User(u) => ("user", Some(u.to_string())),
            Subject::Team(t) => ("team", Some(t.to_string())),
            Subject::AllUsers => ("all_users", None),
        }
    }

    /// A subject from its type and id; a 400 naming the `subject` field otherwise.
    pub fn from_parts(kind: &str, id: Option<&str>) -> crate::Result<Subject> {
        let bad = |m: &str| crate::Error::invalid_field("subject", "invalid_subject", m.to_owned());
        let id = id.filter(|i| !i.is_empty());
        let needed = || id.ok_or_else(|| bad("A user or team subject needs an id."));
        let not_uuid = |_| bad("The subject's id is not a valid UUID.");
        match kind {
            "user" => Ok(Subject::User(UserId::parse(needed()?).map_err(not_uuid)?)),
            "team" => Ok(Subject::Team(TeamId::parse(needed()?).map_err(not_uuid)?)),
            "all_users" if id.is_none() => Ok(Subject::AllUsers),
            "all_users" => Err(bad("An all_users subject has no id.")),
            _ => Err(bad("The subject type must be user, team or all_users.")),
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.parts() {
            (kind, Some(id)) => write!(f, "{kind}:{id}"),
            (kind, None) => f.write_str(kind),
        }
    }
}

impl FromStr for Subject {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Subject> {
        match s.split_once(':') {
            Some((kind, id)) => Subject::from_parts(kind, Some(id)),
            None => Subject::from_parts(s, None),
        }
    }
}

/// Who may use a data source, a fact of its own beside its shares (DESIGN.md §2): **Private**
/// (owner and admins), **All Users** (everyone, at the level of the all-users share; the
/// specific shares are kept but dormant) or **Specific Users/Teams** (the specific shares
/// apply). Switching never deletes a share. Other kinds are always `Specific`: their shares apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// Only the owner and admins.
    Private,
    /// Everyone, at the level of the all-users share (user and team shares are dormant).
    AllUsers,
    /// The user and team shares apply (every kind but a data source is always this).
    Specific,
}

impl Visibility {
    /// Every visibility.
    pub const ALL: [Visibility; 3] = [Visibility::Private, Visibility::AllUsers, Visibility::Specific];

    /// `private`, `all_users` or `specific`.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::AllUsers => "all_users",
            Visibility::Specific => "specific",
        }
    }

    /// The name the pages show.
    pub fn label(self) -> &'static str {
        match self {
            Visibility::Private => "Private",
            Visibility::AllUsers => "All Users",
            Visibility::Specific => "Specific Users/Teams",
        }
    }

    /// What a new resource of `kind` starts with: data sources are private until shared.
    pub fn initial(kind: Kind) -> Visibility {
        if kind == Kind::DataSource { Visibility::Private } else { Visibility::Specific }
    }

    /// Whether a share on a resource with this visibility counts: all-users shares only under
    /// All Users (and on data sources), user and team shares only under Specific.
    pub fn lets(self, subject: &Subject, kind: Kind) -> bool {
        match subject {
            Subject::AllUsers => kind == Kind::DataSource && self == Visibility::AllUsers,
            Subject::User(_) | Subject::Team(_) => kind != Kind::DataSource || self == Visibility::Specific,
        }
    }
}

impl FromStr for Visibility {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Visibility> {
        Visibility::ALL.into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
            crate::Error::invalid_field("visibility", "invalid_visibility", "The visibility must be private, all_users or specific.")
        })
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Level;

    #[test]
    fn subjects_round_trip_and_refuse_unknown() {
        let u = Subject::User(UserId::new());
        let t = Subject::Team(TeamId::new());
        for s in [u, t, Subject::AllUsers] {
            assert_eq!(s.to_string().parse::<Subject>().unwrap(), s);
            let (kind, id) = s.parts();
            assert_eq!(Subject::from_parts(kind, id.as_deref()).unwrap(), s);
        }
        for bad in ["", "user", "user:", "team:nope", "group:1", "all_users:x"] {
            let e = bad.parse::<Subject>().unwrap_err();
            assert!(matches!(e, crate::Error::Invalid { field: Some("subject"), .. }), "{bad}: {e:?}");
        }
    }

    #[test]
    fn levels_and_visibility_have_one_encoding() {
        for l in Level::ALL {
            assert_eq!(l.to_string().parse::<Level>().unwrap(), l);
        }
        assert_eq!(Level::parse_share("edit").unwrap(), Level::Edit);
        for bad in ["full", "none", "EDIT", "admin", ""] {
            let e = Level::parse_share(bad).unwrap_err();
            assert!(matches!(e, crate::Error::Invalid { field: Some("level"), .. }), "{bad} is never a silent view");
        }
        for v in Visibility::ALL {
            assert_eq!(v.to_string().parse::<Visibility>().unwrap(), v);
        }
        assert!(matches!("public".parse::<Visibility>(), Err(crate::Error::Invalid { field: Some("visibility"), .. })));
    }

    #[test]
    fn visibility_decides_which_shares_count() {
        let user = Subject::User(UserId::new());
        let ds = Kind::DataSource;
        assert!(!Visibility::Private.lets(&user, ds) && !Visibility::Private.lets(&Subject::AllUsers, ds));
        assert!(Visibility::AllUsers.lets(&Subject::AllUsers, ds) && !Visibility::AllUsers.lets(&user, ds));
        assert!(Visibility::Specific.lets(&user, ds) && !Visibility::Specific.lets(&Subject::AllUsers, ds));
        assert!(Visibility::Specific.lets(&user, Kind::App) && !Visibility::Specific.lets(&Subject::AllUsers, Kind::App));
    }
}
