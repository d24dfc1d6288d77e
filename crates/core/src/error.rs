//! The one error type of the core: every service function answers with it, and the server maps
//! each variant to an HTTP status and a stable code.

use std::fmt;

/// One rule of the password policy that a password failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFailure {
    /// The rule's stable name (`min_length`, `uppercase`, `digit`, …).
    pub rule: &'static str,
    /// The sentence that says what the rule asks for.
    pub message: String,
}

/// Everything a service function can answer instead of success.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is malformed or out of range; nothing was changed.
    #[error("{message}")]
    Invalid {
        /// The stable code clients match on (`invalid_email`, `invalid_level`, …).
        code: &'static str,
        /// The sentence shown to people.
        message: String,
        /// The request field at fault, when there is one.
        field: Option<&'static str>,
    },
    /// A password failed one or more rules; every failed rule is listed.
    #[error("The password does not meet the password policy.")]
    PasswordPolicy(Vec<RuleFailure>),
    /// No valid session or token came with the request.
    #[error("Sign in to continue.")]
    Unauthenticated,
    /// Email or password wrong, or the account cannot sign in; deliberately says no more.
    #[error("The email or password is incorrect.")]
    InvalidCredentials,
    /// A cookie-authenticated change came without the session's CSRF token.
    #[error("This request needs the session's CSRF token in the X-CSRF-Token header.")]
    CsrfMismatch,
    /// The session may only enroll in MFA: the policy's grace period is over.
    #[error("Set up multi-factor authentication first: the security policy requires it for your account.")]
    MfaSetupRequired,
    /// The caller is known but may not do this.
    #[error("You do not have permission to do this.")]
    Forbidden,
    /// A service account's token has no scope that opens this request (`Some`: the one that would).
    #[error("This token's scopes do not allow this request.")]
    InsufficientScope(Option<crate::scope::Scope>),
    /// The thing does not exist, or the caller may not know that it does.
    #[error("{0} not found.")]
    NotFound(&'static str),
    /// The change conflicts with the current state (duplicate, last admin, used link, …).
    #[error("{message}")]
    Conflict {
        /// The stable code clients match on (`email_taken`, `last_admin`, …).
        code: &'static str,
        /// The sentence shown to people.
        message: String,
    },
    /// A change would take a team past one of its quotas.
    #[error("This would exceed the team's {quota} quota: {used} in use, {requested} more requested, limit {limit}.")]
    QuotaExceeded {
        /// The quota's name (`max_cpu_millis`, `max_apps`, …).
        quota: &'static str,
        /// What the team's resources use now.
        used: i64,
        /// What the change would add.
        requested: i64,
        /// The team's limit.
        limit: i64,
    },
    /// Too many failures: try again after this many seconds.
    #[error("Too many failed attempts. Try again in {retry_after_secs} second(s).")]
    Throttled {
        /// Seconds until an attempt is taken again (the `Retry-After` header).
        retry_after_secs: u64,
    },
    /// The caller's copy is out of date (`If-Match` no longer matches): read again and retry.
    #[error("{0}")]
    PreconditionFailed(&'static str),
    /// A fault on our side (database, I/O); the cause goes to the log, never to the client.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// A 400 answer with a code and a sentence.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid { code, message: message.into(), field: None }
    }

    /// A 400 answer about one named field.
    pub fn invalid_field(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid { code, message: message.into(), field: Some(field) }
    }

    /// A 409 answer with a code and a sentence.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Error::Conflict { code, message: message.into() }
    }

    /// Wraps an internal fault.
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Internal(Box::new(e))
    }

    /// Wraps an internal fault described by a message.
    pub fn internal_msg(msg: impl fmt::Display) -> Self {
        Error::Internal(msg.to_string().into())
    }
}

/// The core's result: `Error` unless said otherwise.
pub type Result<T, E = Error> = std::result::Result<T, E>;
