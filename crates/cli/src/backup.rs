//! `keyward backup` and `keyward restore`: a consistent copy of the embedded SQLite database
//! taken while the server runs, with the key that opens its secrets; and putting one back.
//! PostgreSQL is backed up with its own tools (docs/operations.md).

use anyhow::Context;
use keyward_server::Config;
use keyward_server::app::open_default;
use keyward_server::config::ensure_data_dir;
use keyward_server::datadir;
use std::io::Write;
use std::path::{Path, PathBuf};

const PG_BACKUP: &str = "Keyward backs up only its embedded SQLite database; for PostgreSQL use its own tools, \
     e.g. pg_dump --format=custom --file=keyward.dump \"$KEYWARD_DATABASE_URL\" (see docs/operations.md), \
     and keep the key file or KEYWARD_MASTER_KEY with the dump";

/// The key's copy beside a backup: `FILE.key`.
pub fn key_copy(backup: &Path) -> PathBuf {
    let mut name = backup.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

fn is_postgres(config: &Config) -> bool {
    config.database_url.as_deref().is_some_and(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
}

/// Creates `path` for this process alone (mode 0600); refuses to overwrite anything.
fn create_private(path: &Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    // Why 0600: a backup holds password hashes and sealed secrets, its key opens them.
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))
}

fn copy_private(from: &Path, to: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    let mut f = create_private(to)?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    Ok(())
}

/// Copies the database (`VACUUM INTO`: one consistent snapshot while writers go on) to `out`,
/// and the key file to `out.key`.
pub async fn backup(config: Config, out: &Path) -> anyhow::Result<()> {
    if is_postgres(&config) {
        anyhow::bail!("{PG_BACKUP}");
    }
    if !config.sqlite_path().is_file() {
        anyhow::bail!("there is no database at {} to back up (check --data-dir)", config.sqlite_path().display());
    }
    let key_out = key_copy(out);
    for p in [out, key_out.as_path()] {
        if p.exists() {
            anyhow::bail!("{} exists already; choose a new name for the backup", p.display());
        }
    }
    let key_file = keyward_server::keys::key_file(&config);
    let master_key_in_use = config.master_key.is_some();
    let app = open_default(config).await?;
    // Recorded first, so the backup holds the event of its own making.
    let details = serde_json::json!({ "file": out.display().to_string(), "key_copied": key_file.exists() });
    app.kw.record_operation("backup.create", details).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    drop(create_private(out)?);
    if let Err(e) = app.backup_database(out).await {
        let _ = std::fs::remove_file(out);
        anyhow::bail!("the backup failed: {e}");
    }
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    println!("Backed up the database to {} ({size} bytes, mode 0600).", out.display());
    if key_file.exists() {
        copy_private(&key_file, &key_out)?;
        println!(
            "The key file is copied beside it as {} (mode 0600): keep the two together, and apart from anyone who should not read the data.",
            key_out.display()
        );
    }
    if master_key_in_use {
        println!(
            "Secrets in this database are sealed with KEYWARD_MASTER_KEY (master_key), which is not in the backup: keep that key. \
             Without it the backup's TOTP secrets and credentials cannot be opened and its audit log cannot be verified."
        );
    }
    println!("Restore with: keyward restore {} --data-dir <DIR>", out.display());
    Ok(())
}

fn is_sqlite_file(path: &Path) -> anyhow::Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 16];
    let mut f = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(f.read_exact(&mut head).is_ok() && &head == b"SQLite format 3\0")
}

/// Puts the backup `file` (and `file.key`) in place as the data directory's database and key.
/// Refuses while a Keyward process uses the directory, and, without `force`, when it is not
/// empty; with `force` the files it replaces are moved to `pre-restore-<time>/` inside it.
pub async fn restore(config: Config, file: &Path, force: bool) -> anyhow::Result<()> {
    if is_postgres(&config) {
        anyhow::bail!("a PostgreSQL database is restored with its own tools (pg_restore or psql; see docs/operations.md)");
    }
    if config.database_url.is_some() {
        anyhow::bail!("restore writes the data directory's keyward.db; run it without --database-url (KEYWARD_DATABASE_URL)");
    }
    if !is_sqlite_file(file)? {
        anyhow::bail!("{} is not a SQLite database (a Keyward backup)", file.display());
    }
    let key_backup = key_copy(file);
    if !key_backup.exists() && config.master_key.is_none() {
        anyhow::bail!(
            "no key: {} is missing and KEYWARD_MASTER_KEY is not set, so the restored secrets could not be opened; \
             put the key file beside the backup or set the key it was made with",
            key_backup.display()
        );
    }
    let dir = config.data_dir.clone();
    ensure_data_dir(&dir)?;
    let Some(lock) = datadir::take_exclusive(&dir)? else {
        anyhow::bail!("a Keyward process is using {} (a running server?); stop it before restoring into it", dir.display());
    };
    let present: Vec<String> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "keyward.lock")
        .collect();
    if !present.is_empty() {
        if !force {
            anyhow::bail!(
                "the data directory {} is not empty (it holds {}); restoring replaces its database and key: \
                 run again with --force to do so (the files replaced are kept in {}/pre-restore-<time>/)",
                dir.display(),
                present.join(", "),
                dir.display()
            );
        }
        move_aside(&dir)?;
    }
    let db = config.sqlite_path();
    let tmp = dir.join("keyward.db.restoring");
    let _ = std::fs::remove_file(&tmp);
    copy_private(file, &tmp)?;
    std::fs::rename(&tmp, &db)?;
    if key_backup.exists() {
        let tmp = dir.join("keyward.key.restoring");
        let _ = std::fs::remove_file(&tmp);
        copy_private(&key_backup, &tmp)?;
        std::fs::rename(&tmp, keyward_server::keys::key_file(&config))?;
    }
    // The exclusive lock goes before this process opens the directory like any other.
    drop(lock);
    let app = open_default(config).await?;
    let check = app.kw.check_restored().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("Restored {} into {}.", file.display(), dir.display());
    println!(
        "Checked: the audit log {} ({} event(s)); {} sealed secret(s) open with the key.",
        if check.audit.ok { "is intact" } else { "does NOT verify" },
        check.audit.events_checked,
        check.secrets_opened
    );
    let details =
        serde_json::json!({ "file": file.display().to_string(), "audit_ok": check.audit.ok, "secrets_opened": check.secrets_opened });
    app.kw.record_operation("backup.restore", details).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    if !check.audit.ok || check.secrets_unopened > 0 {
        anyhow::bail!(
            "the restored database is in place but does not check out: {}{} sealed secret(s) do not open with the key at hand",
            check.audit.problem.map(|p| format!("audit log: {p}; ")).unwrap_or_default(),
            check.secrets_unopened
        );
    }
    Ok(())
}

/// Moves the database, its WAL files and the key out of the way, into `pre-restore-<time>/`.
fn move_aside(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let aside = dir.join(format!("pre-restore-{stamp}"));
    std::fs::DirBuilder::new().mode(0o700).create(&aside).with_context(|| format!("cannot create {}", aside.display()))?;
    for name in ["keyward.db", "keyward.db-wal", "keyward.db-shm", "keyward.key"] {
        let from = dir.join(name);
        if from.exists() {
            std::fs::rename(&from, aside.join(name)).with_context(|| format!("cannot move {} aside", from.display()))?;
        }
    }
    println!("The replaced files are kept in {}.", aside.display());
    Ok(())
}
