//! The audit log as evidence: the chain check.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a check of the audit log's keyed hash chain found.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditVerification {
    /// True when every event is in place, unchanged, up to the log's recorded head.
    pub ok: bool,
    /// Events checked and found in place before the first problem (all of them when `ok`).
    pub events_checked: u64,
    /// The first event that does not fit the chain: the changed one, or the one after events
    /// were removed or reordered. Absent when `ok`, or when only the log's end is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad_event_id: Option<String>,
    /// What was wrong, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}
