//! The core's `Mailer` on lettre: SMTP when configured, otherwise `.eml` files in the data
//! directory's outbox (and the link in the log), so a single machine works with no mail server.

use crate::config::{Config, SmtpSecurity};
use async_trait::async_trait;
use keyward_core::mail::{Mailer, Message};
use keyward_core::{Error, Result};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::path::PathBuf;

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
            if let (Some(user), Some(pass)) = (&config.smtp_username, &config.smtp_password) {
                builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
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
        let msg = build(&self.from, m)?;
        let id = AsyncFileTransport::<Tokio1Executor>::new(&self.dir)
            .send(msg)
            .await
            .map_err(|e| Error::internal_msg(format!("outbox: {e}")))?;
        tracing::info!(to = %m.to, subject = %m.subject, file = %self.dir.join(format!("{id}.eml")).display(), link = %m.link, "email written to the outbox (no SMTP configured)");
        Ok(())
    }
    fn describe(&self) -> String {
        format!("outbox {}", self.dir.display())
    }
}
