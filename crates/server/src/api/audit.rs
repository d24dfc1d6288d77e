//! The audit log as evidence: the chain check and the streamed export.

use crate::api::users::parse_time;
use crate::error::ApiResult;
use crate::extract::{ApiQuery, Caller};
use crate::state::AppState;
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use keyward_api::{AuditVerification, ErrorBody};
use keyward_core::export::ExportFormat;
use keyward_core::services::audit::AuditExport;
use keyward_core::store::AuditFilter;
use keyward_core::types::UserId;
use serde::Deserialize;
use utoipa::IntoParams;

/// Checks the whole audit log against its keyed hash chain (admins).
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 200, body = AuditVerification), (status = 403, body = ErrorBody)))]
pub async fn verify(State(state): State<AppState>, Caller(actor): Caller) -> ApiResult<Json<AuditVerification>> {
    let v = state.kw.verify_audit(&actor).await?;
    Ok(Json(AuditVerification { ok: v.ok, events_checked: v.events_checked, first_bad_event_id: v.first_bad_event_id, problem: v.problem }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (the default) or `jsonl`.
    format: Option<String>,
    /// RFC 3339; events at or after.
    since: Option<String>,
    /// RFC 3339; events before.
    until: Option<String>,
    actor_id: Option<String>,
    action: Option<String>,
    /// Only events about this kind of thing (`user`, `team`, `resource`, …).
    target_type: Option<String>,
    target_id: Option<String>,
}

/// Exports the audit log as a CSV or JSON Lines file (admins), streamed in sequence order; the
/// columns are documented in docs/audit.md. The export is itself audited.
#[utoipa::path(get, path = "/api/v1/audit/export", tag = "audit", params(ExportQuery),
    responses(
        (status = 200, description = "The file, streamed", content((String = "text/csv"), (String = "application/x-ndjson"))),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn export(State(state): State<AppState>, Caller(actor): Caller, ApiQuery(q): ApiQuery<ExportQuery>) -> ApiResult<Response> {
    // Left out means CSV; an empty or unknown format is refused as the document states.
    let format = ExportFormat::parse(q.format.as_deref().unwrap_or("csv"))?;
    let filter = AuditFilter {
        // An empty id is refused, as on `/api/v1/audit`: it names no one, and is not "anyone".
        actor_id: q.actor_id.as_deref().map(UserId::parse).transpose()?,
        action: q.action.filter(|a| !a.is_empty()),
        since: parse_time("since", q.since.as_deref())?,
        until: parse_time("until", q.until.as_deref())?,
        target_type: q.target_type.filter(|t| !t.is_empty()),
        target_id: q.target_id.filter(|t| !t.is_empty()),
        ..AuditFilter::default()
    };
    let export = state.kw.export_audit(&actor, format, filter).await?;
    let filename = format!("keyward-audit.{}", format.as_str());
    let mut res = Response::new(Body::from_stream(chunks(export)));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// The export as a stream of byte chunks, one page of the log each: memory stays constant
/// however long the log is. An error mid-way ends the body early (the status is already sent),
/// so the client sees a broken download rather than a silently short file.
fn chunks(export: AuditExport) -> impl futures_util::Stream<Item = Result<Bytes, keyward_core::Error>> + Send {
    futures_util::stream::try_unfold(export, |mut ex| async move {
        match ex.next_chunk().await {
            Ok(Some((bytes, _))) => Ok(Some((Bytes::from(bytes), ex))),
            Ok(None) => Ok(None),
            Err(e) => {
                tracing::error!(error = %e, source = ?std::error::Error::source(&e), "audit export failed mid-way");
                Err(e)
            }
        }
    })
}
