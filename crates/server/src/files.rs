//! Files in the data directory: every file Keyward makes there is readable by its owner only
//! (mode 0600), whatever the umask or the directory's mode, and start-up says so when the
//! directory itself is open to other accounts.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The mode of every file Keyward writes in the data directory.
pub const PRIVATE: u32 = 0o600;

/// Logs a warning when `dir` is readable, writable or searchable by group or others. Why only a
/// warning: the files inside are 0600 anyway, and the directory's mode is the operator's call
/// (a shared mount, say); but names of files and a listing of the outbox still show there.
pub fn warn_if_open(dir: &Path) {
    if let Ok(meta) = std::fs::metadata(dir) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                data_dir = %dir.display(),
                mode = %format!("{mode:o}"),
                "the data directory is open to group or others; it holds the database and the encryption key: chmod 700 it"
            );
        }
    }
}

/// Makes the SQLite database at `db` and its companions private before the first connection:
/// creates the file with mode 0600 when it does not exist, and sets 0600 on the file, its WAL,
/// shared-memory and journal files when they do. Why before connecting: SQLite creates `-wal`
/// and `-shm` itself with the mode of the database file, so a private database keeps them private.
pub fn protect_sqlite(db: &Path) -> anyhow::Result<()> {
    if !db.exists() {
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(PRIVATE).open(db) {
            Ok(_) => {}
            // Another process (the CLI beside a server) made it meanwhile: fine, set its mode below.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => anyhow::bail!("cannot create the database file {}: {e}", db.display()),
        }
    }
    for file in companions(db) {
        make_private_or_warn(&file);
    }
    Ok(())
}

/// The database file and the files SQLite keeps beside it.
fn companions(db: &Path) -> Vec<PathBuf> {
    let mut out = vec![db.to_path_buf()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        out.push(PathBuf::from(name));
    }
    out
}

/// `make_private`, with a failure logged instead of stopping start-up (a file someone else
/// owns, a read-only mount): the operator hears of it and Keyward still runs.
pub fn make_private_or_warn(file: &Path) {
    if let Err(e) = make_private(file) {
        tracing::warn!(error = %e, "a file in the data directory is readable by other accounts");
    }
}

/// Sets mode 0600 on `file` when it exists and is more open than that.
pub fn make_private(file: &Path) -> anyhow::Result<()> {
    match std::fs::metadata(file) {
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => std::fs::set_permissions(file, std::fs::Permissions::from_mode(PRIVATE))
            .map_err(|e| anyhow::anyhow!("cannot make {} private (chmod 600): {e}", file.display())),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_database_file_is_private_whatever_the_umask_allows() {
        let dir = std::env::temp_dir().join(format!("kw-files-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("keyward.db");
        let wal = dir.join("keyward.db-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
        protect_sqlite(&db).unwrap();
        for f in [&db, &wal] {
            assert_eq!(std::fs::metadata(f).unwrap().permissions().mode() & 0o777, 0o600, "{}", f.display());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
