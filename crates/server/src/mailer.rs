//! The core's `Mailer` on lettre: SMTP when configured, otherwise `.eml` files (mode 0600) in
//! the data directory's outbox, so a single machine works with no mail server. Links are
//! credentials: the log says that a message went out, to whom and about what, never its link.

use crate::config::{Config, SmtpSecurity};
use async_trait::async_trait;
use keyward_core::mail::{Mailer, Message};
use keyward_core::{Error, Result};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::{Path, PathBuf};

/// Builds the mailer the configuration asks for.
pub fn from_config(config: &Config) -> anyhow::Result<std::sync::Arc<dyn Mailer>> {
    let from: Mailbox =
        config.mail_from().parse().map_err(|e| anyhow::anyhow!("invalid configuration: smtp_from {:?}: {e}", config.mail_from()))?;
    match &config.smtp_host {
        None => {
            let dir = config.data_dir.join("outbox");
            crate::config::ensure_data_dir(&dir)?;
            Ok(std::sync::Arc::new(Outbox { dir: std::path::absolute(&dir).unwrap_or(dir), from }))
        }
        Some(host) => {
            let builder = match config.smtp_security {
                SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
                SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
                // Only for a relay on the same machine or a trusted network.
                SmtpSecurity::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host),
            };
            let mut builder = builder.port(config.smtp_port());
            if let (Some(user), Some(pass)) = (&config.smtp_username, config.smtp_password.as_ref().map(crate::config::Secret::expose)) {
                builder = builder.credentials(Credentials::new(user.clone(), pass.to_owned()));
            }
            Ok(std::sync::Arc::new(Smtp { transport: builder.build(), from, describe: format!("SMTP {host}:{}", config.smtp_port()) }))
        }
    }
}

fn build(from: &Mailbox, m: &Message) -> Result<lettre::Message> {
    let to = Mailbox::new(Some(m.to_name.clone()), m.to.parse().map_err(|e| Error::internal_msg(format!("bad recipient: {e}")))?);
    lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&m.subject)
        .multipart(MultiPart::alternative_plain_html(m.text.clone(), m.html.clone()))
        .map_err(|e| Error::internal_msg(format!("cannot build the email: {e}")))
}

struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    describe: String,
}

#[async_trait]
impl Mailer for Smtp {
    async fn send(&self, m: &Message) -> Result<()> {
        let msg = build(&self.from, m)?;
        self.transport.send(msg).await.map_err(|e| Error::internal_msg(format!("SMTP: {e}")))?;
        tracing::info!(to = %m.to, subject = %m.subject, "email sent");
        Ok(())
    }
    fn describe(&self) -> String {
        self.describe.clone()
    }
}

struct Outbox {
    dir: PathBuf,
    from: Mailbox,
}

#[async_trait]
impl Mailer for Outbox {
    async fn send(&self, m: &Message) -> Result<()> {
        let bytes = build(&self.from, m)?.formatted();
        let id = uuid::Uuid::now_v7();
        let file = self.dir.join(format!("{id}.eml"));
        let temp = self.dir.join(format!(".{id}.eml.tmp"));
        let (f, t) = (file.clone(), temp.clone());
        tokio::task::spawn_blocking(move || write_private(&t, &f, &bytes))
            .await
            .map_err(Error::internal)?
            .map_err(|e| Error::internal_msg(format!("outbox {}: {e}", temp.display())))?;
        tracing::info!(to = %m.to, subject = %m.subject, file = %file.display(), "email written to the outbox (no SMTP configured)");
        Ok(())
    }
    fn describe(&self) -> String {
        format!("outbox {}", self.dir.display())
    }
}

/// Writes `bytes` to `file` readable by the owner only, whole or not at all. Why 0600 at
/// creation (not a chmod after): the message holds a single-use link, and no other account on
/// the machine may read it even for a moment; why the rename: a reader never sees half a message.
fn write_private(temp: &Path, file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(temp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(temp, file)
}
