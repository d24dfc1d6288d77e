//! What the "admin's day" browser tests share: screenshots at desktop and phone widths, and the
//! phone check that nothing is wider than the screen. Included with
//! `#[path = "support/ui_day.rs"] mod ui_day;` after `browser_support`.
#![allow(dead_code)]

use super::browser_support::Browser;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// A desktop and a phone width (an iPhone 12 to 15 is 390 CSS pixels wide).
pub const DESKTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (390, 844);

/// The folder screenshots go to: `KEYWARD_SCREENSHOTS`, or `target/screenshots` in the
/// workspace (named in the README; `target/` is not committed).
pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("KEYWARD_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots"))
}

/// Sizes the browser window to `width` × `height` CSS pixels of page.
pub async fn resize(b: &Browser, (width, height): (u32, u32)) -> Result<()> {
    b.client.set_window_size(width, height).await.context("resize the window")?;
    Ok(())
}

/// Writes a PNG of what the browser shows as `<name>-<width>.png`.
pub async fn screenshot(b: &Browser, name: &str) -> Result<()> {
    let png = b.client.screenshot().await.context("take a screenshot")?;
    let width = b.client.execute("return window.innerWidth", vec![]).await?.as_u64().unwrap_or_default();
    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let file = dir.join(format!("{name}-{width}.png"));
    std::fs::write(&file, png).with_context(|| format!("write {}", file.display()))
}

/// Screenshots of the page as it is, at the desktop and the phone width (the window is left at
/// the desktop width).
pub async fn screenshots(b: &Browser, name: &str) -> Result<()> {
    resize(b, DESKTOP).await?;
    screenshot(b, name).await?;
    resize(b, PHONE).await?;
    screenshot(b, name).await?;
    resize(b, DESKTOP).await
}

/// What on the page reaches past the right edge of the screen (the page would scroll
/// sideways): each as `tag#id.class (right edge)`. Content inside a box that scrolls by itself
/// (a wide table in its scroller) is not counted; the box is.
pub async fn wider_than_the_screen(b: &Browser) -> Result<Vec<String>> {
    let found = b
        .client
        .execute(
            r##"
const width = document.documentElement.clientWidth;
const scrolls = (e) => { for (let p = e.parentElement; p; p = p.parentElement) { const o = getComputedStyle(p).overflowX; if (o === "auto" || o === "scroll" || o === "hidden") return true; } return false; };
const out = [];
if (document.documentElement.scrollWidth > width) out.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
for (const e of document.querySelectorAll("body *")) {
  const r = e.getBoundingClientRect();
  if (r.width === 0 || r.height === 0 || r.right <= width + 0.5 || scrolls(e)) continue;
  out.push(`${e.tagName.toLowerCase()}${e.id ? "#" + e.id : ""}${e.className && typeof e.className === "string" ? "." + e.className.trim().replace(/\s+/g, ".") : ""} (right edge ${Math.round(r.right)} > ${width})`);
}
return out;
"##,
            vec![],
        )
        .await?;
    Ok(found.as_array().cloned().unwrap_or_default().iter().map(|v| v.as_str().unwrap_or_default().to_owned()).collect())
}

/// axe.min.js from npm (`.ci/axe.sh` installs it into target/axe, not committed), or `None`
/// outside CI when it cannot be installed (the check is then skipped, saying so).
pub fn axe_source() -> Option<String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.ci/axe.sh");
    let out = std::process::Command::new("bash").arg(&script).output();
    let path = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        other => {
            let why = match other {
                Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but axe-core could not be installed with .ci/axe.sh: {why}");
            }
            eprintln!("skipped the accessibility check: .ci/axe.sh failed (is npm installed?): {why}");
            return None;
        }
    };
    std::fs::read_to_string(&path).ok()
}

/// The serious and critical accessibility violations axe-core finds on the page, each as
/// `rule: the elements`.
pub async fn axe_violations(b: &Browser, axe: &str) -> Result<Vec<String>> {
    // WebDriver runs the script from outside the page, so the page's CSP does not block it.
    b.client.execute(&format!("{axe}\n;return typeof axe;"), vec![]).await.context("inject axe-core")?;
    let found = b
        .client
        .execute_async(
            r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ["violations"] }).then(
  (r) => done(r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)),
  (e) => done([`axe failed: ${e}`]));
"#,
            vec![],
        )
        .await
        .context("run axe-core")?;
    Ok(found.as_array().cloned().unwrap_or_default().iter().map(|v| v.as_str().unwrap_or_default().to_owned()).collect())
}
