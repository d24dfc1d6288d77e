//! The audit log as evidence: checking its keyed hash chain, and exporting it as a file. The
//! chain itself is placed by the store at commit (see `Tx::insert_audit`).

use crate::Keyward;
use crate::chain::{ChainKeys, StoredEvent, Verification, Verifier};
use crate::context::Actor;
use crate::error::Result;
use crate::export::ExportFormat;
use crate::model::AuditEvent;
use crate::policy::Capability;
use crate::store::{AuditFilter, Store};
use serde_json::json;
use std::sync::Arc;

/// Events read per page when walking the log (verify and export): memory stays constant.
pub const WALK_PAGE: i64 = 1000;

impl Keyward {
    /// Checks the whole audit log against its chain (admins).
    pub async fn verify_audit(&self, actor: &Actor) -> Result<Verification> {
        actor.require(Capability::ReadAudit)?;
        self.verify_audit_log().await
    }

    /// Checks the whole audit log against its chain: every event in sequence order, then that
    /// the log reaches its recorded head and that no event sits outside the chain. The
    /// operator's command line calls this directly (it holds the key).
    pub async fn verify_audit_log(&self) -> Result<Verification> {
        let keys = ChainKeys::from_keyring(&self.keys);
        // The head is read first: every event up to it has committed, later ones are not judged.
        let (head_seq, head_chain) = self.store.read().await?.audit_head().await?;
        let mut verifier = Verifier::new(&keys);
        let all = AuditFilter::default();
        loop {
            let page = self.store.read().await?.audit_page(&all, verifier.last_seq(), head_seq, WALK_PAGE).await?;
            let Some(last) = page.last().map(|e| e.seq) else { break };
            for e in &page {
                if let Err(problem) = verifier.check(e) {
                    return Ok(verifier.failed_at(e, problem));
                }
            }
            if last >= head_seq {
                break;
            }
        }
        let checked = verifier.checked();
        let fail = |problem: String, id: Option<String>| Verification {
            ok: false,
            events_checked: checked,
            first_bad_event_id: id,
            problem: Some(problem),
        };
        if verifier.last_seq() != head_seq || verifier.last_chain() != head_chain {
            return Ok(fail(
                format!(
                    "the log ends at position {} but its head records position {head_seq}: events were removed from its end",
                    verifier.last_seq()
                ),
                None,
            ));
        }
        if let Some(id) = self.store.read().await?.first_unchained_audit_event().await? {
            return Ok(fail("this event has no place in the chain: it was written behind Keyward's back".into(), Some(id)));
        }
        Ok(Verification { ok: true, events_checked: checked, first_bad_event_id: None, problem: None })
    }

    /// Records that `actor` was refused `what` (a method and path): refused authorizations of
    /// people are part of the log, in a transaction of their own (nothing else changed).
    pub async fn record_refusal(&self, actor: &Actor, what: &str) -> Result<()> {
        let mut tx = self.store.write().await?;
        let what: String = what.chars().take(300).collect();
        tx.insert_audit(&AuditEvent::by(actor, "access.denied", self.clock.now()).details(json!({ "request": what }))).await?;
        tx.commit().await
    }

    /// Starts an export of the audit log (admins). The export is itself audited, and holds the
    /// events chained before it started.
    pub async fn export_audit(&self, actor: &Actor, format: ExportFormat, filter: AuditFilter) -> Result<AuditExport> {
        actor.require(Capability::ReadAudit)?;
        let event = AuditEvent::by(actor, "audit.export", self.clock.now());
        self.start_export(event, format, filter).await
    }

    /// Starts an export for the operator's command line (audited as the command line).
    pub async fn cli_export_audit(&self, format: ExportFormat, filter: AuditFilter) -> Result<AuditExport> {
        self.start_export(AuditEvent::cli("audit.export", self.clock.now()), format, filter).await
    }

    async fn start_export(&self, event: AuditEvent, format: ExportFormat, filter: AuditFilter) -> Result<AuditExport> {
        let mut tx = self.store.write().await?;
        let (upto, _) = tx.audit_head().await?;
        let show = |t: Option<time::OffsetDateTime>| t.map(crate::model::rfc3339);
        tx.insert_audit(&event.target("audit_log", "export").details(json!({
            "format": format.as_str(),
            "since": show(filter.since),
            "until": show(filter.until),
            "actor_id": filter.actor_id.map(|a| a.to_string()),
            "action": filter.action,
            "target_type": filter.target_type,
            "target_id": filter.target_id,
            "up_to_seq": upto,
        })))
        .await?;
        tx.commit().await?;
        Ok(AuditExport::new(self.store.clone(), format, filter, upto))
    }
}

/// An export under way: the events up to the head it started at. A task reads the next page
/// while the current one is formatted and sent; at most `PAGES_AHEAD` pages wait, so memory
/// stays constant however long the log is.
pub struct AuditExport {
    store: Arc<dyn Store>,
    format: ExportFormat,
    filter: AuditFilter,
    upto: i64,
    pages: tokio::sync::mpsc::Receiver<Result<Vec<StoredEvent>>>,
    header_sent: bool,
}

/// Pages read ahead of the one being sent.
const PAGES_AHEAD: usize = 1;

impl AuditExport {
    fn new(store: Arc<dyn Store>, format: ExportFormat, filter: AuditFilter, upto: i64) -> AuditExport {
        let (tx, pages) = tokio::sync::mpsc::channel(PAGES_AHEAD);
        let (reader, f) = (store.clone(), filter.clone());
        tokio::spawn(async move {
            let mut after = 0;
            loop {
                let page = match reader.read().await {
                    Ok(mut conn) => conn.audit_page(&f, after, upto, WALK_PAGE).await,
                    Err(e) => Err(e),
                };
                let last = match &page {
                    Ok(events) if events.len() == WALK_PAGE as usize => events.last().map(|e| e.seq),
                    _ => None,
                };
                // A closed channel means the reader went away (the client hung up): stop.
                if tx.send(page).await.is_err() {
                    break;
                }
                match last {
                    Some(seq) => after = seq,
                    None => break,
                }
            }
        });
        AuditExport { store, format, filter, upto, pages, header_sent: false }
    }

    /// The export's file format.
    pub fn format(&self) -> ExportFormat {
        self.format
    }

    /// How many events the export holds (for a progress bar).
    pub async fn count(&self) -> Result<u64> {
        Ok(self.store.read().await?.count_audit(&self.filter, self.upto).await?.max(0) as u64)
    }

    /// The next piece of the file and how many events it holds; `None` at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<(Vec<u8>, usize)>> {
        let mut out = if self.header_sent { Vec::new() } else { self.format.header() };
        self.header_sent = true;
        let page = match self.pages.recv().await {
            Some(page) => page?,
            None if out.is_empty() => return Ok(None),
            None => Vec::new(),
        };
        self.format.write(&page, &mut out)?;
        Ok(Some((out, page.len())))
    }
}
