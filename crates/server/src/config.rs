//! Configuration: defaults, then a TOML file, then `KEYWARD_*` environment variables, then
//! command-line flags; typed and validated once at start-up, then passed in.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Text logs for people, JSON logs for collectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (port 587 by default).
    Starttls,
    /// TLS from the start (port 465 by default).
    Tls,
    /// No encryption: only for a relay on this machine or a trusted network (port 25).
    None,
}

/// A secret setting (a password, a key, a token). Why a type: its `Debug` never shows it, so a
/// configuration printed to a log carries no secret; only `expose` reads it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret(s.to_owned())
    }
}

/// The settings that may be read from a file named by `KEYWARD_<NAME>_FILE` (container secrets).
const FILE_SETTINGS: [&str; 4] = ["smtp_password", "master_key", "metrics_token", "database_url"];

/// Everything Keyward reads at start-up.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the SQLite database, the outbox and the key file live.
    pub data_dir: PathBuf,
    /// The address to listen on.
    pub listen: String,
    /// `sqlite:…` or `postgres://…`; the SQLite file in the data directory when unset.
    pub database_url: Option<String>,
    pub database_max_connections: u32,
    /// The address people reach Keyward at (for links); `http://<listen>` when unset.
    pub public_url: Option<String>,
    pub platform_name: String,
    /// Send the session cookie only over TLS; on by default when `public_url` is https.
    pub cookie_secure: Option<bool>,
    pub log_format: LogFormat,
    /// A tracing filter, such as `info` or `keyward=debug,info`.
    pub log_level: String,
    /// How often background jobs run.
    pub jobs_interval_seconds: u64,
    /// How long an invitation link lives.
    pub invitation_ttl_days: u32,
    /// The SMTP server; without it, email goes to the outbox in the data directory.
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    pub smtp_security: SmtpSecurity,
    pub smtp_username: Option<String>,
    pub smtp_password: Option<Secret>,
    /// The sender, such as `Acme Platform <noreply@acme.example>`.
    pub smtp_from: Option<String>,
    /// A 32-byte base64 key that seals secrets at rest; without it, the key file in the data
    /// directory. Nodes sharing one database need the same key.
    pub master_key: Option<Secret>,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <metrics_token>`.
    pub metrics_token: Option<Secret>,
    /// Proxies (CIDRs or addresses) whose `X-Forwarded-For` / `Forwarded` headers name the
    /// client; a list in the file, comma-separated in `KEYWARD_TRUSTED_PROXIES`. Empty: the
    /// client is always the TCP peer.
    #[serde(default, deserialize_with = "list_or_commas")]
    pub trusted_proxies: Vec<String>,
}

/// A list of strings given as a list, or as one comma-separated string (as environment
/// variables carry lists).
fn list_or_commas<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<String>),
        One(String),
    }
    Ok(match Either::deserialize(d)? {
        Either::List(items) => items,
        Either::One(s) => s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
    })
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./keyward-data"),
            listen: "127.0.0.1:8080".into(),
            database_url: None,
            database_max_connections: 10,
            public_url: None,
            platform_name: "Keyward".into(),
            cookie_secure: None,
            log_format: LogFormat::Text,
            log_level: "info".into(),
            jobs_interval_seconds: 60,
            invitation_ttl_days: 7,
            smtp_host: None,
            smtp_port: None,
            smtp_security: SmtpSecurity::Starttls,
            smtp_username: None,
            smtp_password: None,
            smtp_from: None,
            master_key: None,
            trusted_proxies: Vec::new(),
            metrics_token: None,
        }
    }
}

// Why by hand: the database URL may hold a password, and Debug output ends up in logs.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("database", &self.database_description())
            .field("database_max_connections", &self.database_max_connections)
            .field("public_url", &self.public_url)
            .field("platform_name", &self.platform_name)
            .field("cookie_secure", &self.cookie_secure)
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("jobs_interval_seconds", &self.jobs_interval_seconds)
            .field("invitation_ttl_days", &self.invitation_ttl_days)
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_security", &self.smtp_security)
            .field("smtp_username", &self.smtp_username)
            .field("smtp_password", &self.smtp_password)
            .field("smtp_from", &self.smtp_from)
            .field("master_key", &self.master_key)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("metrics_token", &self.metrics_token)
            .finish()
    }
}

/// Settings given on the command line; only those present override the rest.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Config {
    /// Loads defaults → `file` (or `KEYWARD_CONFIG`) → environment → `flags`, then validates.
    pub fn load(file: Option<&Path>, flags: &Overrides) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        let file = file.map(Path::to_path_buf).or_else(|| std::env::var_os("KEYWARD_CONFIG").map(PathBuf::from));
        if let Some(path) = file {
            if !path.is_file() {
                anyhow::bail!("configuration file {} does not exist", path.display());
            }
            fig = fig.merge(Toml::file_exact(path));
        }
        // KEYWARD_CONFIG names the file; KEYWARD_TEST_* belong to the test suite; KEYWARD_*_FILE
        // name files that hold secrets (read below).
        let env = Env::prefixed("KEYWARD_").filter(|k| {
            let k = k.as_str().to_ascii_lowercase();
            k != "config" && !k.starts_with("test_") && !FILE_SETTINGS.iter().any(|s| k == format!("{s}_file"))
        });
        fig = fig.merge(env);
        for name in FILE_SETTINGS {
            let var = format!("KEYWARD_{}_FILE", name.to_ascii_uppercase());
            if let Some(path) = std::env::var_os(&var) {
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    anyhow::anyhow!("invalid configuration: {var} names {}, which cannot be read: {e}", PathBuf::from(&path).display())
                })?;
                fig = fig.merge(Serialized::default(name, text.trim_end_matches(['\n', '\r'])));
            }
        }
        fig = fig.merge(Serialized::defaults(flags));
        let config: Config = fig.extract().map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the values serde cannot.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.listen_addr()?;
        if let Some(url) = &self.database_url {
            keyward_store::Engine::of(url)
                .map_err(|_| anyhow::anyhow!("invalid configuration: database_url must start with sqlite: or postgres://"))?;
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            anyhow::bail!("invalid configuration: public_url must start with http:// or https:// (got {url:?})");
        }
        self.validate_public_url()?;
        if self.platform_name.trim().is_empty() {
            anyhow::bail!("invalid configuration: platform_name must not be empty");
        }
        if self.database_max_connections == 0 {
            anyhow::bail!("invalid configuration: database_max_connections must be at least 1");
        }
        if !(1..=90).contains(&self.invitation_ttl_days) {
            anyhow::bail!("invalid configuration: invitation_ttl_days must be between 1 and 90");
        }
        if self.smtp_username.is_some() != self.smtp_password.is_some() {
            anyhow::bail!("invalid configuration: smtp_username and smtp_password go together");
        }
        if self.jobs_interval_seconds == 0 {
            anyhow::bail!("invalid configuration: jobs_interval_seconds must be at least 1");
        }
        crate::client_addr::TrustedProxies::parse(&self.trusted_proxies)?;
        if let Some(token) = self.metrics_token.as_ref().map(Secret::expose)
            && (token.len() < 16 || token.chars().any(|c| !c.is_ascii_graphic()))
        {
            anyhow::bail!("invalid configuration: metrics_token must be at least 16 printable ASCII characters without spaces");
        }
        tracing_subscriber::EnvFilter::try_new(&self.log_level)
            .map_err(|e| anyhow::anyhow!("invalid configuration: log_level {:?}: {e}", self.log_level))?;
        Ok(())
    }

    pub fn listen_addr(&self) -> anyhow::Result<SocketAddr> {
        self.listen
            .parse()
            .map_err(|_| anyhow::anyhow!("invalid configuration: listen must be an address such as 127.0.0.1:8080 (got {:?})", self.listen))
    }

    /// The database URL in force: the configured one, or the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", self.sqlite_path().display()),
        }
    }

    /// The embedded database file.
    pub fn sqlite_path(&self) -> PathBuf {
        absolute(&self.data_dir).join("keyward.db")
    }

    /// The SQLite file in force, when the database is one (not in memory, not PostgreSQL).
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        match &self.database_url {
            None => Some(self.sqlite_path()),
            Some(url) => {
                let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
                let path = rest.split('?').next().unwrap_or(rest);
                (!path.is_empty() && path != ":memory:" && !url.contains("mode=memory")).then(|| PathBuf::from(path))
            }
        }
    }

    /// The database for logs: the engine and where, never credentials.
    pub fn database_description(&self) -> String {
        match &self.database_url {
            None => format!("sqlite at {}", self.sqlite_path().display()),
            Some(url) if url.starts_with("sqlite:") => format!("sqlite ({url})"),
            Some(url) => {
                let rest = url.split_once("://").map_or("", |(_, r)| r);
                let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
                format!("postgres at {}", host.split('?').next().unwrap_or(host))
            }
        }
    }

    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.listen)).trim_end_matches('/').to_owned()
    }

    /// The SMTP port in force: the configured one, or the usual one for the security mode.
    pub fn smtp_port(&self) -> u16 {
        self.smtp_port.unwrap_or(match self.smtp_security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        })
    }

    /// The sender of every message.
    pub fn mail_from(&self) -> String {
        self.smtp_from.clone().unwrap_or_else(|| format!("{} <noreply@localhost>", self.platform_name.replace(['<', '>', '"'], "")))
    }

    pub fn cookie_secure(&self) -> bool {
        self.cookie_secure.unwrap_or_else(|| self.public_url().starts_with("https://"))
    }

    /// The session cookie's name. Why `__Host-` when the cookie is Secure: the browser then
    /// accepts it only from this exact host, over TLS, for Path=/ and without Domain, so a
    /// sibling subdomain or a plain-HTTP attacker cannot plant a session cookie (login fixation).
    pub fn session_cookie_name(&self) -> &'static str {
        if self.cookie_secure() { crate::extract::SECURE_SESSION_COOKIE } else { crate::extract::SESSION_COOKIE }
    }

    /// Whether people reach Keyward over TLS (HSTS is sent then).
    pub fn https(&self) -> bool {
        self.public_url().starts_with("https://")
    }

    /// The origin of `public_url` (`scheme://host[:port]`, lower case, default port left out):
    /// the only origin whose pages may send anonymous state changes.
    pub fn public_origin(&self) -> String {
        origin_of(&self.public_url()).unwrap_or_else(|| self.public_url().to_ascii_lowercase())
    }
}

/// The origin of a URL in its serialised form, as browsers send it in `Origin`.
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    match parsed.origin() {
        origin @ url::Origin::Tuple(..) => Some(origin.ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

impl Config {
    /// Checks `public_url` beyond its scheme: it must parse as a URL with a host.
    fn validate_public_url(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.public_url
            && origin_of(url).is_none()
        {
            anyhow::bail!("invalid configuration: public_url must be an absolute http(s) URL with a host (got {url:?})");
        }
        Ok(())
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Creates the data directory, readable by its owner only (it holds the database and keys).
pub fn ensure_data_dir(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| anyhow::anyhow!("cannot create data directory {}: {e}", dir.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_database_credentials() {
        let c = Config { database_url: Some("postgres://kw:s3cret@db.example:5432/kw".into()), ..Config::default() };
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        let c = Config { smtp_username: Some("u".into()), smtp_password: Some("hunter2".into()), ..Config::default() };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(shown.contains("postgres at db.example:5432/kw"));
    }

    #[test]
    fn bad_values_are_named() {
        let c = Config { listen: "nowhere".into(), ..Config::default() };
        assert!(c.validate().unwrap_err().to_string().contains("listen"));
        let c = Config { database_url: Some("mysql://x".into()), ..Config::default() };
        assert!(c.validate().unwrap_err().to_string().contains("database_url"));
    }

    #[test]
    fn unknown_file_keys_stop_loading() {
        let dir = std::env::temp_dir().join(format!("kw-config-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("keyward.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9999\"\nlisten_port = 1\n").unwrap();
        let err = Config::load(Some(&file), &Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("listen_port"), "{err}");
        std::fs::write(&file, "listen = \"127.0.0.1:9999\"\n").unwrap();
        let flags = Overrides { listen: Some("127.0.0.1:7777".into()), ..Overrides::default() };
        assert_eq!(Config::load(Some(&file), &Overrides::default()).unwrap().listen, "127.0.0.1:9999");
        assert_eq!(Config::load(Some(&file), &flags).unwrap().listen, "127.0.0.1:7777");
    }

    #[test]
    fn trusted_proxies_come_as_a_list_or_comma_separated() {
        let dir = std::env::temp_dir().join(format!("kw-config-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("keyward.toml");
        std::fs::write(&file, "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n").unwrap();
        assert_eq!(Config::load(Some(&file), &Overrides::default()).unwrap().trusted_proxies, ["10.0.0.0/8", "::1"]);
        // The form KEYWARD_TRUSTED_PROXIES takes.
        std::fs::write(&file, "trusted_proxies = \"10.0.0.0/8, 192.168.1.1\"\n").unwrap();
        assert_eq!(Config::load(Some(&file), &Overrides::default()).unwrap().trusted_proxies, ["10.0.0.0/8", "192.168.1.1"]);
        std::fs::write(&file, "trusted_proxies = \"10.0.0.0/8, not-a-network\"\n").unwrap();
        let err = Config::load(Some(&file), &Overrides::default()).unwrap_err().to_string();
        assert!(err.contains("trusted_proxies") && err.contains("not-a-network"), "{err}");
        assert!(Config::default().trusted_proxies.is_empty());
    }
}
