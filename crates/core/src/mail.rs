//! Outgoing email: the `Mailer` the server provides (SMTP, or the outbox directory), and the
//! messages Keyward sends, each with a plain-text and an HTML part.

use crate::Result;
use async_trait::async_trait;
use time::OffsetDateTime;

/// One message to one person. Its body carries a single-use link (a credential), so it is
/// never logged: `Debug` shows the recipient and subject only.
#[derive(Clone)]
pub struct Message {
    /// The recipient's address.
    pub to: String,
    /// The recipient's name, for the greeting and the `To` header.
    pub to_name: String,
    /// The subject line.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part, with every interpolated value escaped.
    pub html: String,
}

// Why by hand: a message's text and HTML hold a link token, and Debug output ends up in logs.
impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message").field("to", &self.to).field("subject", &self.subject).finish_non_exhaustive()
    }
}

/// Delivers messages. Implementations: SMTP, or `.eml` files in the data directory's outbox.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends (or files) one message; an error means it did not go.
    async fn send(&self, message: &Message) -> Result<()>;
    /// Where messages go, for logs and the UI ("SMTP mail.example.com:587", "outbox …").
    fn describe(&self) -> String;
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn when(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}

fn html_page(platform: &str, paragraphs: &[String], link: &str, button: &str, footer: &str) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{}</p>\n", escape(p))).collect();
    format!(
        "<!doctype html>\n<html><body style=\"font-family:system-ui,sans-serif;color:#1c2430\">\n<h2>{}</h2>\n{body}<p><a href=\"{}\" style=\"background:#2456c7;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none\">{}</a></p>\n<p style=\"color:#5b6675;font-size:13px\">{}<br>{}</p>\n</body></html>\n",
        escape(platform),
        escape(link),
        escape(button),
        escape(footer),
        escape(link)
    )
}

/// The invitation: who invited, to which platform, the link and when it expires.
pub fn invitation(
    platform: &str,
    to: &str,
    to_name: &str,
    inviter: &str,
    role_label: &str,
    link: &str,
    expires: OffsetDateTime,
) -> Message {
    let lines = vec![
        format!("Hello {to_name},"),
        format!("{inviter} has invited you to join {platform} as {role_label}."),
        format!("Set your password with this link. It works once and expires on {}.", when(expires)),
    ];
    let footer = "If you did not expect this invitation, you can ignore this email.";
    Message {
        to: to.to_owned(),
        to_name: to_name.to_owned(),
        subject: format!("{inviter} invited you to {platform}"),
        text: format!("{}\n\n{link}\n\n{footer}\n", lines.join("\n\n")),
        html: html_page(platform, &lines, link, "Accept invitation", footer),
    }
}

/// The password reset link.
pub fn password_reset(platform: &str, to: &str, to_name: &str, link: &str, expires: OffsetDateTime) -> Message {
    let lines = vec![
        format!("Hello {to_name},"),
        format!("Someone asked to reset your {platform} password."),
        format!("Choose a new password with this link. It works once and expires at {}.", when(expires)),
    ];
    let footer = "If you did not ask for this, ignore this email: your password stays as it is.";
    Message {
        to: to.to_owned(),
        to_name: to_name.to_owned(),
        subject: format!("Reset your {platform} password"),
        text: format!("{}\n\n{link}\n\n{footer}\n", lines.join("\n\n")),
        html: html_page(platform, &lines, link, "Reset password", footer),
    }
}

/// Why an access-review reminder is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderKind {
    /// The review has just opened.
    Opened,
    /// A weekly reminder while it is open.
    Weekly,
    /// The due date has passed.
    Overdue,
}

/// A reminder to a reviewer with items still to decide.
pub fn review_reminder(
    platform: &str,
    to: &str,
    to_name: &str,
    kind: ReminderKind,
    open_items: usize,
    due: OffsetDateTime,
    link: &str,
) -> Message {
    let items = if open_items == 1 { "1 item".to_owned() } else { format!("{open_items} items") };
    let (subject, lead) = match kind {
        ReminderKind::Opened => (format!("Access review: {items} to decide"), format!("A new access review of {platform} is open.")),
        ReminderKind::Weekly => {
            (format!("Reminder: {items} waiting in the access review"), format!("The access review of {platform} is still open."))
        }
        ReminderKind::Overdue => {
            (format!("Overdue: {items} waiting in the access review"), format!("The access review of {platform} is past its due date."))
        }
    };
    let lines = vec![
        format!("Hello {to_name},"),
        lead,
        format!("{items} assigned to you still need a decision (keep or revoke). The review is due {}.", when(due)),
    ];
    let footer = "You receive this because you review access on this platform.";
    Message {
        to: to.to_owned(),
        to_name: to_name.to_owned(),
        subject,
        text: format!("{}\n\n{link}\n\n{footer}\n", lines.join("\n\n")),
        html: html_page(platform, &lines, link, "Open the review", footer),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invitation_has_both_parts_and_escapes_names() {
        let m = invitation("Acme", "b@example.com", "Bob <script>", "Ada", "Developer", "https://kw/invite/t", OffsetDateTime::UNIX_EPOCH);
        assert!(m.text.contains("Ada has invited you to join Acme as Developer"));
        assert!(m.text.contains("https://kw/invite/t"));
        assert!(m.text.contains("1970-01-01 00:00 UTC"));
        assert!(m.html.contains("Bob &lt;script&gt;"));
        assert!(!m.html.contains("<script>"));
    }
}
