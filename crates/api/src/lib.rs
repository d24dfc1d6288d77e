//! Keyward's wire types: every request and response body of the JSON API, and the error body.
//!
//! These are plain serde structs; the core converts its domain types into them and the server
//! publishes their schemas in the OpenAPI document.

mod access;
mod audit;
mod auth;
mod people;
mod reviews;
mod scim;
mod service_accounts;
mod sso;

pub use access::*;
pub use audit::*;
pub use auth::*;
pub use people::*;
pub use reviews::*;
pub use scim::*;
pub use service_accounts::*;
pub use sso::*;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every error answer: `{"error": {"code", "message", "details"}}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// A stable machine code, a sentence for people, and optional structured details.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// A page of a list: `next_cursor` is null on the last page.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
}

/// Tells a field sent as `null` (Some(None)) from a field left out (None).
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Status {
    pub status: String,
}
