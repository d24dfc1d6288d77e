//! The one mapping from the core's errors to HTTP answers: a status, a stable code, a sentence.
//! Causes of internal errors go to the log, never to the client.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use keyward_api::{ErrorBody, ErrorDetail};
use keyward_core::Error;
use serde_json::json;

/// An error on its way to becoming an HTTP answer.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

/// Status, code, sentence and details of an error, as every face shows it.
pub struct Described {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub details: Option<serde_json::Value>,
}

/// Every variant decided here; no catch-all arm, so a new variant forces a decision.
pub fn describe(e: &Error) -> Described {
    let msg = e.to_string();
    let (status, code, details) = match e {
        Error::Invalid { code, field, .. } => (StatusCode::BAD_REQUEST, (*code).to_owned(), field.map(|f| json!({ "field": f }))),
        Error::PasswordPolicy(rules) => (
            StatusCode::BAD_REQUEST,
            "password_policy".to_owned(),
            Some(json!({ "rules": rules.iter().map(|r| json!({ "rule": r.rule, "message": r.message })).collect::<Vec<_>>() })),
        ),
        Error::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated".to_owned(), None),
        Error::InvalidCredentials => (StatusCode::UNAUTHORIZED, "invalid_credentials".to_owned(), None),
        Error::CsrfMismatch => (StatusCode::FORBIDDEN, "csrf_token_invalid".to_owned(), None),
        Error::Forbidden => (StatusCode::FORBIDDEN, "forbidden".to_owned(), None),
        Error::MfaSetupRequired => (StatusCode::FORBIDDEN, "mfa_setup_required".to_owned(), None),
        Error::InsufficientScope(needed) => {
            (StatusCode::FORBIDDEN, "insufficient_scope".to_owned(), needed.map(|s| json!({ "required_scope": s.as_str() })))
        }
        Error::NotFound(what) => (StatusCode::NOT_FOUND, format!("{}_not_found", what.to_lowercase().replace(' ', "_")), None),
        Error::Conflict { code, .. } => (StatusCode::CONFLICT, (*code).to_owned(), None),
        Error::QuotaExceeded { quota, used, requested, limit } => (
            StatusCode::CONFLICT,
            "quota_exceeded".to_owned(),
            Some(json!({ "quota": quota, "used": used, "requested": requested, "limit": limit })),
        ),
        Error::Throttled { retry_after_secs } => {
            (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts".to_owned(), Some(json!({ "retry_after_seconds": retry_after_secs })))
        }
        Error::PreconditionFailed(_) => (StatusCode::PRECONDITION_FAILED, "precondition_failed".to_owned(), None),
        Error::Internal(cause) => {
            // The whole cause chain goes to the log (never to the client), so a fault can be traced.
            let mut chain = cause.to_string();
            let mut next = cause.source();
            while let Some(e) = next {
                chain.push_str(": ");
                chain.push_str(&e.to_string());
                next = e.source();
            }
            tracing::error!(error = %chain, "internal error");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal".to_owned(), None)
        }
    };
    let message = match e {
        Error::Internal(_) => "Something went wrong on our side. It has been logged; try again later.".to_owned(),
        _ => msg,
    };
    Described { status, code, message, details }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let d = describe(&self.0);
        let mut res = error_response(d.status, &d.code, &d.message, d.details);
        crate::refusals::mark(&mut res, &self.0);
        if let Error::Throttled { retry_after_secs } = self.0
            && let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        res
    }
}

/// An error answer in the API's shape.
pub fn error_response(status: StatusCode, code: &str, message: &str, details: Option<serde_json::Value>) -> Response {
    let body = ErrorBody { error: ErrorDetail { code: code.to_owned(), message: message.to_owned(), details } };
    (status, Json(body)).into_response()
}

pub type ApiResult<T> = Result<T, ApiError>;
