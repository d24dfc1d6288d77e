//! Who is using a data directory: every Keyward process that opens one holds a shared lock on
//! `keyward.lock` in it for as long as it runs, so `keyward restore` can refuse to replace the
//! files under a live server (it needs the lock alone).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// The lock file of a data directory.
pub fn lock_file(dir: &Path) -> PathBuf {
    dir.join("keyward.lock")
}

fn open(dir: &Path) -> anyhow::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = lock_file(dir);
    // Why 0600: every file Keyward keeps in the data directory is its owner's alone.
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| anyhow::anyhow!("cannot open the lock file {}: {e}", path.display()))
}

/// Marks the data directory as in use until the answer is dropped. Several processes may hold
/// it at once (a server and an operator's command); only a restore needs it alone.
pub fn hold_shared(dir: &Path) -> anyhow::Result<File> {
    let file = open(dir)?;
    file.lock_shared().map_err(|e| anyhow::anyhow!("cannot lock {}: {e}", lock_file(dir).display()))?;
    Ok(file)
}

/// Takes the data directory for this process alone, or answers `None` when a Keyward process is
/// using it.
pub fn take_exclusive(dir: &Path) -> anyhow::Result<Option<File>> {
    let file = open(dir)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(anyhow::anyhow!("cannot lock {}: {e}", lock_file(dir).display())),
    }
}
