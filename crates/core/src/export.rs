//! The audit log as a file: CSV or JSON Lines, one stable column set (docs/audit.md), UTC
//! RFC 3339 times, and CSV cells that a spreadsheet could take for a formula neutralised.

use crate::chain::StoredEvent;
use crate::error::{Error, Result};
use std::borrow::Cow;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The columns of an export, in order. Stable: new columns are only ever added at the end.
pub const COLUMNS: [&str; 15] = [
    "seq",
    "id",
    "at",
    "actor_kind",
    "actor_id",
    "actor_email",
    "actor_name",
    "action",
    "target_type",
    "target_id",
    "ip",
    "user_agent",
    "details",
    "key_id",
    "chain",
];

/// The file formats of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl ExportFormat {
    /// `csv` or `jsonl`, or a 400 naming the field.
    pub fn parse(s: &str) -> Result<ExportFormat> {
        match s {
            "csv" => Ok(ExportFormat::Csv),
            "jsonl" => Ok(ExportFormat::Jsonl),
            _ => Err(Error::invalid_field("format", "invalid_format", "format must be csv or jsonl.")),
        }
    }

    /// The format's text (`csv`, `jsonl`), as the query takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
        }
    }

    /// The HTTP `Content-Type` of a download in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Jsonl => "application/x-ndjson",
        }
    }

    /// What comes before the first event: the CSV header line.
    pub fn header(self) -> Vec<u8> {
        match self {
            ExportFormat::Csv => format!("{}\r\n", COLUMNS.join(",")).into_bytes(),
            ExportFormat::Jsonl => Vec::new(),
        }
    }

    /// Appends `events` to `out` in this format.
    pub fn write(self, events: &[StoredEvent], out: &mut Vec<u8>) -> Result<()> {
        // About what an event takes, so the buffer is not grown (and copied) many times.
        out.reserve(events.len() * 512);
        match self {
            ExportFormat::Csv => write_csv(events, out),
            ExportFormat::Jsonl => write_jsonl(events, out),
        }
    }
}

/// A cell as a spreadsheet may safely read it. Why: a cell starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return is run as a formula by spreadsheet programs (CSV injection), so a
/// user named `=HYPERLINK(…)` could act in an auditor's spreadsheet; a leading `'` makes it text.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A time in unix milliseconds as UTC RFC 3339 text.
pub fn rfc3339_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

fn opt_cell(v: &Option<String>) -> Cow<'_, str> {
    v.as_deref().map(neutralise).unwrap_or_default()
}

fn write_csv(events: &[StoredEvent], out: &mut Vec<u8>) -> Result<()> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out);
    for e in events {
        let seq = e.seq.to_string();
        let at = rfc3339_ms(e.at_ms);
        w.write_record(
            [
                Cow::Borrowed(seq.as_str()),
                neutralise(&e.id),
                Cow::Borrowed(at.as_str()),
                neutralise(&e.actor_kind),
                opt_cell(&e.actor_id),
                opt_cell(&e.actor_email),
                opt_cell(&e.actor_name),
                neutralise(&e.action),
                opt_cell(&e.target_type),
                opt_cell(&e.target_id),
                opt_cell(&e.ip),
                opt_cell(&e.user_agent),
                neutralise(&e.details),
                neutralise(&e.key_id),
                neutralise(&e.chain),
            ]
            .iter()
            .map(|c| c.as_bytes()),
        )
        .map_err(Error::internal)?;
    }
    w.flush().map_err(Error::internal)
}

#[derive(serde::Serialize)]
struct Line<'a> {
    seq: i64,
    id: &'a str,
    at: String,
    actor_kind: &'a str,
    actor_id: Option<&'a str>,
    actor_email: Option<&'a str>,
    actor_name: Option<&'a str>,
    action: &'a str,
    target_type: Option<&'a str>,
    target_id: Option<&'a str>,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    details: Details<'a>,
    key_id: &'a str,
    chain: &'a str,
}

#[derive(serde::Serialize)]
#[serde(untagged)]
enum Details<'a> {
    /// The stored JSON, as it is.
    Json(&'a serde_json::value::RawValue),
    /// Stored text that is not JSON (only if it was written behind Keyward's back), as a string.
    Text(&'a str),
}

fn write_jsonl(events: &[StoredEvent], out: &mut Vec<u8>) -> Result<()> {
    for e in events {
        let details = match serde_json::from_str::<&serde_json::value::RawValue>(&e.details) {
            Ok(raw) => Details::Json(raw),
            Err(_) => Details::Text(&e.details),
        };
        let line = Line {
            seq: e.seq,
            id: &e.id,
            at: rfc3339_ms(e.at_ms),
            actor_kind: &e.actor_kind,
            actor_id: e.actor_id.as_deref(),
            actor_email: e.actor_email.as_deref(),
            actor_name: e.actor_name.as_deref(),
            action: &e.action,
            target_type: e.target_type.as_deref(),
            target_id: e.target_id.as_deref(),
            ip: e.ip.as_deref(),
            user_agent: e.user_agent.as_deref(),
            details,
            key_id: &e.key_id,
            chain: &e.chain,
        };
        serde_json::to_writer(&mut *out, &line).map_err(Error::internal)?;
        out.push(b'\n');
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str) -> StoredEvent {
        StoredEvent {
            seq: 7,
            id: "0190".into(),
            at_ms: 1_767_225_600_123,
            actor_kind: "user".into(),
            actor_email: Some("ada@example.com".into()),
            actor_name: Some(name.into()),
            action: "user.update".into(),
            details: format!("{{\"full_name\":{}}}", serde_json::to_string(name).unwrap()),
            ..StoredEvent::default()
        }
    }

    #[test]
    fn formula_cells_become_text() {
        for bad in ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(bad), format!("'{bad}"));
        }
        assert_eq!(neutralise("ada@example.com"), "ada@example.com");
        assert_eq!(neutralise(""), "");
    }

    #[test]
    fn csv_and_jsonl_hold_the_same_fields() {
        let events = [row("=HYPERLINK(\"http://x\")"), row("Ada")];
        let mut csv_out = ExportFormat::Csv.header();
        ExportFormat::Csv.write(&events, &mut csv_out).unwrap();
        let mut reader = csv::Reader::from_reader(csv_out.as_slice());
        assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), COLUMNS);
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(&records[0][6], "'=HYPERLINK(\"http://x\")");
        assert_eq!(&records[0][2], "2026-01-01T00:00:00.123Z");
        assert!(records.iter().flat_map(|r| r.iter()).all(|c| !c.starts_with('=')));

        let mut jsonl = Vec::new();
        ExportFormat::Jsonl.write(&events, &mut jsonl).unwrap();
        let lines: Vec<serde_json::Value> = String::from_utf8(jsonl).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines[0]["actor_name"], "=HYPERLINK(\"http://x\")", "JSON carries the exact value");
        assert_eq!(lines[1]["details"]["full_name"], "Ada");
        assert_eq!(lines[1]["at"], "2026-01-01T00:00:00.123Z");
        assert_eq!(lines[0].as_object().unwrap().keys().count(), COLUMNS.len());
    }
}
