//! Refused authorizations of people are audited (DESIGN.md §6): when a signed-in person is
//! answered 403 `forbidden` (by the API or a page), an `access.denied` event records who asked
//! for what. The extractors note the actor in a per-request slot; the error mapping marks the
//! answer; this layer writes the event. Decisions the platform asks for (`authz/check`) are
//! answers, not refusals, and are not audited here.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use keyward_core::{Actor, Error};
use std::sync::{Arc, Mutex};

/// Who the request was authenticated as, filled in by the extractors.
#[derive(Clone, Default)]
struct ActorSlot(Arc<Mutex<Option<Actor>>>);

/// Marks an answer that refused its caller.
#[derive(Clone, Copy)]
struct Refused;

/// Notes the authenticated actor of this request (called by the extractors).
pub fn note(parts: &Parts, actor: &Actor) {
    if let Some(slot) = parts.extensions.get::<ActorSlot>()
        && let Ok(mut held) = slot.0.lock()
    {
        *held = Some(actor.clone());
    }
}

/// Marks `res` when `error` refused the caller (called by the error mappings).
pub fn mark(res: &mut Response, error: &Error) {
    if matches!(error, Error::Forbidden) {
        res.extensions_mut().insert(Refused);
    }
}

/// The layer: after the handler, audits a refusal of a known actor.
pub async fn audit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let slot = ActorSlot::default();
    req.extensions_mut().insert(slot.clone());
    // Kept as they are (both clone by reference count); written out only for a refusal.
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let res = next.run(req).await;
    if res.extensions().get::<Refused>().is_some() {
        let actor = slot.0.lock().ok().and_then(|mut a| a.take());
        let what = format!("{method} {}", crate::app::loggable_path(uri.path()));
        if let Some(actor) = actor
            && let Err(e) = state.kw.record_refusal(&actor, &what).await
        {
            tracing::warn!(error = %e, "could not audit a refused request");
        }
    }
    res
}
