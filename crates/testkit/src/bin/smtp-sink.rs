//! A real SMTP server process for tests: listens on a loopback port (printed on the first line
//! of standard output) and writes each accepted message to `<dir>/<n>.eml`, envelope first.
//!
//! `smtp-sink DIR`

use keyward_testkit::smtp::SmtpServer;
use std::io::Write;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    std::fs::create_dir_all(&dir)?;
    let server = SmtpServer::start().await;
    println!("{}", server.port);
    std::io::stdout().flush()?;
    let mut written = 0;
    loop {
        let received = server.received();
        for m in &received[written..] {
            let text = format!("X-Envelope-From: {}\nX-Envelope-To: {}\n{}", m.from, m.to.join(", "), m.data);
            // Written under a temporary name and renamed, so a reader never sees half a message.
            let tmp = dir.join(format!("{written}.tmp"));
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, dir.join(format!("{written}.eml")))?;
            written += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
