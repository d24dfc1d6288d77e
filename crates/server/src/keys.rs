//! The server's encryption keys: `master_key` (KEYWARD_MASTER_KEY) when given, otherwise the
//! key file in the data directory, created on first start with mode 0600. Never the database.

use crate::config::Config;
use keyward_core::clock::OsRandom;
use keyward_core::crypto::{Key, Keyring, new_key_base64};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The key file: one base64 key per line, the current key first.
pub fn key_file(config: &Config) -> PathBuf {
    config.data_dir.join("keyward.key")
}

/// Loads the keyring the configuration names, creating the key file when there is none.
pub fn load(config: &Config) -> anyhow::Result<Keyring> {
    let file = key_file(config);
    let mut keys = Vec::new();
    if let Some(master) = &config.master_key {
        keys.push(
            Key::from_base64(master.expose())
                .map_err(|_| anyhow::anyhow!("invalid configuration: master_key must be 32 bytes in base64"))?,
        );
    } else if !file.exists() {
        create_key_file(&file)?;
    }
    if file.exists() {
        crate::files::make_private_or_warn(&file);
        keys.extend(read_key_file(&file)?);
    }
    Keyring::new(keys).map_err(|e| anyhow::anyhow!("{e}"))
}

fn read_key_file(file: &Path) -> anyhow::Result<Vec<Key>> {
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("cannot read the key file {}: {e}", file.display()))?;
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            Key::from_base64(l)
                .map_err(|_| anyhow::anyhow!("the key file {} holds a line that is not a 32-byte base64 key", file.display()))
        })
        .collect()
}

fn create_key_file(file: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    // Why 0600 and create_new: the key opens every sealed secret; only the owner may read it,
    // and an existing key is never overwritten.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
        .map_err(|e| anyhow::anyhow!("cannot create the key file {}: {e}", file.display()))?;
    writeln!(f, "{}", new_key_base64(&OsRandom))?;
    f.sync_all()?;
    tracing::info!(file = %file.display(), "created a new encryption key; back it up with the database");
    Ok(())
}

/// Puts a new key first in the key file, keeping the old ones after it (so values sealed under
/// them still open until re-sealed, and backups stay readable). Answers the new key's id.
pub fn add_key(config: &Config) -> anyhow::Result<String> {
    use std::os::unix::fs::OpenOptionsExt;
    if config.master_key.is_some() {
        anyhow::bail!("the key comes from master_key (KEYWARD_MASTER_KEY); rotate by deploying a new key there, not with the key file");
    }
    let file = key_file(config);
    let old = if file.exists() { std::fs::read_to_string(&file)? } else { String::new() };
    let new = new_key_base64(&OsRandom);
    let id = Key::from_base64(&new).map_err(|e| anyhow::anyhow!("{e}"))?.id_hex();
    let tmp = file.with_extension("key.new");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
    writeln!(f, "{new}")?;
    f.write_all(old.as_bytes())?;
    f.sync_all()?;
    // Why rename: the key file is replaced whole or not at all.
    std::fs::rename(&tmp, &file)?;
    Ok(id)
}
