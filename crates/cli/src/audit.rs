//! `keyward audit verify` and `keyward audit export`: the audit log read from the database
//! directly, with the key file or `KEYWARD_MASTER_KEY` (no server needed).

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use keyward_core::export::ExportFormat;
use keyward_core::store::AuditFilter;
use keyward_core::types::UserId;
use keyward_server::Config;
use keyward_server::app::open_default;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What `keyward audit export` was asked for.
pub struct ExportArgs {
    pub format: String,
    pub since: Option<String>,
    pub until: Option<String>,
    pub actor_id: Option<String>,
    pub action: Option<String>,
    pub out: Option<PathBuf>,
}

/// Refuses to go on without the key the log was chained with: opening the data directory
/// without one would make a new key, and every event would then fail to verify.
fn require_key(config: &Config) -> anyhow::Result<()> {
    let file = keyward_server::keys::key_file(config);
    if config.master_key.is_none() && !file.exists() {
        anyhow::bail!(
            "no key: {} does not exist and KEYWARD_MASTER_KEY is not set; give the key the audit log was chained with",
            file.display()
        );
    }
    Ok(())
}

/// Checks the whole log; an error (exit status 1) names the first event that does not fit.
pub async fn verify(config: Config) -> anyhow::Result<()> {
    require_key(&config)?;
    let app = open_default(config).await?;
    let v = app.kw.verify_audit_log().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    if v.ok {
        println!("The audit log is intact: {} event(s) checked, every one in its place in the chain.", v.events_checked);
        return Ok(());
    }
    let problem = v.problem.unwrap_or_default();
    match v.first_bad_event_id {
        Some(id) => anyhow::bail!(
            "the audit log does not verify: first bad event {id}: {problem} ({} event(s) before it are intact)",
            v.events_checked
        ),
        None => anyhow::bail!("the audit log does not verify: {problem} ({} event(s) intact)", v.events_checked),
    }
}

fn parse_time(flag: &str, s: Option<&str>) -> anyhow::Result<Option<OffsetDateTime>> {
    s.map(|s| {
        OffsetDateTime::parse(s, &Rfc3339).map_err(|_| anyhow::anyhow!("{flag} must be an RFC 3339 time such as 2026-01-31T12:00:00Z"))
    })
    .transpose()
}

/// Creates (or replaces) an export file that only its owner can read: the log names people and
/// their addresses.
fn private_file(path: &PathBuf) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Writes the log to `--out` or standard output. A progress bar goes to standard error only when
/// that is a terminal and the file is not standard output (piped output stays clean).
pub async fn export(config: Config, args: ExportArgs) -> anyhow::Result<()> {
    let format = ExportFormat::parse(&args.format).map_err(|e| anyhow::anyhow!("{e}"))?;
    let filter = AuditFilter {
        since: parse_time("--since", args.since.as_deref())?,
        until: parse_time("--until", args.until.as_deref())?,
        actor_id: args.actor_id.as_deref().map(UserId::parse).transpose().map_err(|e| anyhow::anyhow!("--actor-id: {e}"))?,
        action: args.action.filter(|a| !a.is_empty()),
        ..AuditFilter::default()
    };
    let mut sink: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(std::io::BufWriter::new(private_file(path)?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let app = open_default(config).await?;
    let mut export = app.kw.cli_export_audit(format, filter).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let bar = if args.out.is_some() && std::io::stderr().is_terminal() {
        let total = export.count().await.map_err(|e| anyhow::anyhow!("{e}"))?;
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} events ({per_sec}, {eta} left)")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut events = 0u64;
    while let Some((bytes, n)) = export.next_chunk().await.map_err(|e| anyhow::anyhow!("{e}"))? {
        sink.write_all(&bytes).context("cannot write the export")?;
        events += n as u64;
        bar.inc(n as u64);
    }
    sink.flush().context("cannot write the export")?;
    bar.finish_and_clear();
    let to = args.out.as_ref().map_or("standard output".to_owned(), |p| p.display().to_string());
    eprintln!("Exported {events} audit event(s) as {} to {to}.", format.as_str());
    Ok(())
}
