//! The `keyward` binary: `serve` runs the server, `init` creates the first admin, and the
//! operator's commands (keys, users, audit, backup and restore).

mod audit;
mod backup;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use keyward_core::password::Password;
use keyward_server::app::{open_default, shutdown_signal};
use keyward_server::telemetry::init_logging;
use keyward_server::{Config, Overrides};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

/// The allocator of the whole process (see the workspace Cargo.toml for why).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "keyward", version, about = "Keyward: who may do what on your team platform")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(Storage),
    /// Create the first admin (refuses when an admin exists).
    Init {
        #[arg(long, value_name = "EMAIL")]
        admin_email: String,
        #[arg(long, value_name = "NAME")]
        full_name: String,
        /// Read the password from standard input instead of printing a set-up link.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        storage: Storage,
    },
    /// Encryption keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Break-glass operations on users, acting on the database directly (audited as the command line).
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// The audit log: check its keyed hash chain, export it (reads the database directly).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Copy the SQLite database (consistent, while the server runs) and its key file beside it.
    Backup {
        /// The backup file to create; the key file is copied to FILE.key.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        storage: Storage,
    },
    /// Put a backup in place as the data directory's database (and FILE.key as its key).
    Restore {
        /// A file made by `keyward backup`.
        file: PathBuf,
        /// Replace a data directory that is not empty (its files are kept in pre-restore-<time>/).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        storage: Storage,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the whole log; exits 1 naming the first changed, removed or reordered event.
    Verify {
        #[command(flatten)]
        storage: Storage,
    },
    /// Write the log as CSV or JSON Lines (columns: docs/audit.md); audited as the command line.
    Export {
        #[arg(long, value_parser = ["csv", "jsonl"])]
        format: String,
        /// RFC 3339: events at or after.
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// RFC 3339: events before.
        #[arg(long, value_name = "TIME")]
        until: Option<String>,
        #[arg(long, value_name = "USER_ID")]
        actor_id: Option<String>,
        #[arg(long)]
        action: Option<String>,
        /// The file to write (mode 0600); standard output without it. A progress bar shows on a
        /// terminal when writing to a file.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        storage: Storage,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Put a new key first in the key file and re-seal every secret under it.
    Rotate {
        #[command(flatten)]
        storage: Storage,
    },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Remove a user's MFA (lost device) and end their sessions.
    ResetMfa {
        email: String,
        #[command(flatten)]
        storage: Storage,
    },
    /// Set a user's password, read from standard input; every session and API token of the user ends.
    SetPassword {
        email: String,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
        #[command(flatten)]
        storage: Storage,
    },
}

/// Where the configuration and data are; each flag also reads `KEYWARD_*` and the TOML file.
#[derive(Args)]
struct Storage {
    /// A TOML configuration file (also KEYWARD_CONFIG).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The data directory (default ./keyward-data; also KEYWARD_DATA_DIR).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The address to listen on (default 127.0.0.1:8080; also KEYWARD_LISTEN).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
    /// sqlite:… or postgres://… (default: SQLite in the data directory; also KEYWARD_DATABASE_URL).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
}

impl Storage {
    fn load(&self) -> anyhow::Result<Config> {
        let flags = Overrides { data_dir: self.data_dir.clone(), listen: self.listen.clone(), database_url: self.database_url.clone() };
        Config::load(self.config.as_deref(), &flags)
    }
}

fn main() -> ExitCode {
    // Why: every file Keyward writes (database, WAL, key file, outbox) is for its owner only,
    // whatever umask the shell or service manager handed down. The server also sets 0600 on
    // each of them itself; this covers anything written through other libraries.
    // SAFETY: umask only swaps the process's file-creation mask; no memory is involved.
    unsafe {
        libc::umask(0o077);
    }
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(storage) => serve(storage.load()?).await,
        Command::Init { admin_email, full_name, password_stdin, storage } => init(storage, &admin_email, &full_name, password_stdin).await,
        Command::Keys { command: KeysCommand::Rotate { storage } } => {
            let config = storage.load()?;
            let id = keyward_server::keys::add_key(&config)?;
            let app = open_default(config).await?;
            let n = app.kw.reseal_all().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("New key {id} is now current; {n} secret(s) re-sealed under it. Back up the key file with the database.");
            Ok(())
        }
        Command::Users { command: UsersCommand::ResetMfa { email, storage } } => {
            let app = open_default(storage.load()?).await?;
            let user = app.kw.cli_reset_mfa(&email).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "MFA removed for {}; every session ended. They set it up again at the next sign-in where the policy requires it.",
                user.email
            );
            Ok(())
        }
        Command::Audit { command: AuditCommand::Verify { storage } } => audit::verify(storage.load()?).await,
        Command::Audit { command: AuditCommand::Export { format, since, until, actor_id, action, out, storage } } => {
            audit::export(storage.load()?, audit::ExportArgs { format, since, until, actor_id, action, out }).await
        }
        Command::Backup { out, storage } => backup::backup(storage.load()?, &out).await,
        Command::Restore { file, force, storage } => backup::restore(storage.load()?, &file, force).await,
        Command::Users { command: UsersCommand::SetPassword { email, password_stdin: _, storage } } => {
            let password = read_password()?;
            let app = open_default(storage.load()?).await?;
            let user = app.kw.cli_set_password(&email, &password).await.map_err(policy_message)?;
            println!("Password set for {}; every session and API token of the user ended.", user.email);
            Ok(())
        }
    }
}

/// Reads a password from standard input; one trailing newline is the end of the line, not part
/// of the password.
fn read_password() -> anyhow::Result<Password> {
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).context("cannot read the password from standard input")?;
    let s = s.strip_suffix('\n').map(|s| s.strip_suffix('\r').unwrap_or(s)).unwrap_or(&s).to_owned();
    Ok(Password::new(s))
}

/// A core error for the terminal, listing every failed password rule.
fn policy_message(e: keyward_core::Error) -> anyhow::Error {
    match e {
        keyward_core::Error::PasswordPolicy(rules) => {
            anyhow::anyhow!(
                "the password does not meet the policy:\n{}",
                rules.iter().map(|r| format!("  - {}", r.message)).collect::<Vec<_>>().join("\n")
            )
        }
        other => anyhow::anyhow!("{other}"),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    init_logging(&config);
    let addr = config.listen_addr()?;
    let app = open_default(config).await?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(address = %listener.local_addr()?, public_url = %app.config.public_url(), "Keyward listening on http://{}", listener.local_addr()?);
    tracing::info!(database = %app.config.database_description(), data_dir = %app.config.data_dir.display(), "database ready");
    if let Some(link) = app.first_admin_link().await? {
        // Why stdout and not the log: the link is a credential for the operator who started
        // the server; logs are collected and kept elsewhere.
        tracing::warn!("no admin exists yet: open the one-time set-up link printed below (or run keyward init)");
        println!("\nNo admin exists yet. Open this one-time link to create the first admin:\n\n    {link}\n");
    }
    app.serve(listener, shutdown_signal()).await
}

async fn init(storage: Storage, email: &str, full_name: &str, password_stdin: bool) -> anyhow::Result<()> {
    let config = storage.load()?;
    let password = if password_stdin { Some(read_password()?) } else { None };
    let app = open_default(config).await?;
    let outcome = app.kw.init_admin(email, full_name, password.as_ref()).await.map_err(policy_message)?;
    match outcome.setup_link {
        Some(link) => {
            println!("Admin {} created. Open this one-time link within 24 hours to set the password:\n{link}", outcome.user.email)
        }
        None => println!("Admin {} created. Sign in at {}/login", outcome.user.email, app.config.public_url()),
    }
    Ok(())
}
