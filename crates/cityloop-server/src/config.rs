//! Configuration: defaults → TOML file → `CITYLOOP_*` environment → command-line flags.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

pub const EXAMPLE: &str = include_str!("../../../config/cityloop.example.toml");

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub cases: CasesConfig,
    pub public: PublicSection,
    pub log: LogConfig,
}

/// Open311, citizen pages, 12345 exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublicSection {
    pub jurisdiction_id: String,
    pub contact: String,
    pub base_url: String,
    pub open311_keyless: bool,
    pub sensitive_classes: Vec<String>,
    pub fuzz_m: f64,
    pub reports_per_ip_hour: u32,
    pub reports_per_phone_day: u32,
    pub reads_per_ip_minute: u32,
    pub map_closed_days: i64,
    pub satisfied_from: i64,
}

impl Default for PublicSection {
    fn default() -> Self {
        let d = cityloop_app::public::PublicConfig::default();
        PublicSection {
            jurisdiction_id: d.jurisdiction_id,
            contact: d.contact,
            base_url: d.base_url,
            open311_keyless: d.open311_keyless,
            sensitive_classes: d.sensitive_classes,
            fuzz_m: d.fuzz_m,
            reports_per_ip_hour: d.reports_per_ip_hour,
            reports_per_phone_day: d.reports_per_phone_day,
            reads_per_ip_minute: d.reads_per_ip_minute,
            map_closed_days: d.map_closed_days,
            satisfied_from: d.satisfied_from,
        }
    }
}

impl PublicSection {
    pub fn app_config(&self) -> cityloop_app::public::PublicConfig {
        cityloop_app::public::PublicConfig {
            jurisdiction_id: self.jurisdiction_id.clone(),
            contact: self.contact.clone(),
            base_url: self.base_url.clone(),
            open311_keyless: self.open311_keyless,
            sensitive_classes: self.sensitive_classes.clone(),
            fuzz_m: self.fuzz_m,
            reports_per_ip_hour: self.reports_per_ip_hour,
            reports_per_phone_day: self.reports_per_phone_day,
            reads_per_ip_minute: self.reads_per_ip_minute,
            map_closed_days: self.map_closed_days,
            satisfied_from: self.satisfied_from.clamp(1, 5),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CasesConfig {
    /// Photo and file store; empty = `blobs` beside an SQLite database, else `data/blobs`.
    pub evidence_dir: String,
    pub max_upload_bytes: u64,
    pub photo_max_distance_m: f64,
    pub duplicate_radius_m: f64,
    pub duplicate_window_hours: i64,
    pub idempotency_days: i64,
    pub inspector_photo_required: bool,
    pub timer_interval_secs: u64,
    pub intake_max_batch: usize,
    /// Notifications are also posted here when set.
    pub webhook_url: String,
}

impl Default for CasesConfig {
    fn default() -> Self {
        CasesConfig {
            evidence_dir: String::new(),
            max_upload_bytes: 20 * 1024 * 1024,
            photo_max_distance_m: 200.0,
            duplicate_radius_m: 100.0,
            duplicate_window_hours: 72,
            idempotency_days: 8,
            inspector_photo_required: true,
            timer_interval_secs: 15,
            intake_max_batch: 1000,
            webhook_url: String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: String,
    pub request_timeout_secs: u64,
    pub body_limit_bytes: usize,
    pub import_max_bytes: u64,
    pub import_timeout_secs: u64,
    pub cookie_secure: bool,
    pub trusted_proxies: Vec<String>,
    pub trusted_origins: Vec<String>,
    /// Filled by `cityloop demo`, never read from a file.
    #[serde(skip)]
    pub demo_logins: Option<cityloop_http::DemoLogins>,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: String,
    pub max_connections: u32,
    pub auto_migrate: bool,
    pub allow_unsafe_durability: bool,
}

/// Never prints a password that may be inside the URL.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("auto_migrate", &self.auto_migrate)
            .field("allow_unsafe_durability", &self.allow_unsafe_durability)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub lockout_threshold: i32,
    pub lockout_minutes: i64,
    pub password_min_length: usize,
    pub password_min_classes: usize,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub level: String,
    pub format: String,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/cityloop.sqlite3";

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            request_timeout_secs: 30,
            body_limit_bytes: 1024 * 1024,
            import_max_bytes: 256 * 1024 * 1024,
            import_timeout_secs: 600,
            cookie_secure: false,
            trusted_proxies: Vec::new(),
            trusted_origins: Vec::new(),
            demo_logins: None,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: DEFAULT_DATABASE_URL.into(),
            max_connections: 8,
            auto_migrate: true,
            allow_unsafe_durability: false,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            lockout_threshold: 5,
            lockout_minutes: 30,
            password_min_length: 8,
            password_min_classes: 3,
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: "text".into(),
        }
    }
}

/// Values given on the command line; they override everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    pub database_url: Option<String>,
}

/// A configuration problem, reported as one line that names the key.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn one_line(s: impl std::fmt::Display) -> String {
    s.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

impl Config {
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        // Only `SECTION__KEY` variables are configuration; other CITYLOOP_* variables (for example
        // the test suite's) are not.
        figment = figment
            .merge(
                Env::prefixed("CITYLOOP_")
                    .filter(|k| k.as_str().contains("__"))
                    .split("__"),
            )
            .merge(
                Env::raw()
                    .only(&["CITYLOOP_DATABASE_URL"])
                    .map(|_| "database.url".into()),
            )
            .merge(
                Env::raw()
                    .only(&["CITYLOOP_LISTEN"])
                    .map(|_| "server.listen".into()),
            );
        if let Some(l) = &overrides.listen {
            figment = figment.merge(Serialized::default("server.listen", l));
        }
        if let Some(u) = &overrides.database_url {
            figment = figment.merge(Serialized::default("database.url", u));
        }
        let cfg: Config = figment.extract().map_err(|e| {
            let first = e
                .clone()
                .into_iter()
                .next()
                .map(one_line)
                .unwrap_or_else(|| one_line(&e));
            ConfigError(format!("configuration error: {first}"))
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad =
            |key: &str, why: String| Err(ConfigError(format!("configuration error: {key}: {why}")));
        if self.server.listen.parse::<SocketAddr>().is_err() {
            return bad(
                "server.listen",
                format!(
                    "`{}` is not an address:port such as 127.0.0.1:8080",
                    self.server.listen
                ),
            );
        }
        for p in &self.server.trusted_proxies {
            if p.parse::<IpAddr>().is_err() {
                return bad(
                    "server.trusted_proxies",
                    format!("`{p}` is not an IP address"),
                );
            }
        }
        if self.server.request_timeout_secs == 0 {
            return bad("server.request_timeout_secs", "must be at least 1".into());
        }
        if self.server.body_limit_bytes < 1024 {
            return bad("server.body_limit_bytes", "must be at least 1024".into());
        }
        if self.server.import_max_bytes < 1024 {
            return bad("server.import_max_bytes", "must be at least 1024".into());
        }
        if self.server.import_timeout_secs == 0 {
            return bad("server.import_timeout_secs", "must be at least 1".into());
        }
        let url = &self.database.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return bad(
                "database.url",
                format!(
                    "`{}` is neither sqlite://FILE nor postgres://…",
                    redact_url(url)
                ),
            );
        }
        if self.database.max_connections == 0 {
            return bad("database.max_connections", "must be at least 1".into());
        }
        let a = &self.auth;
        if a.session_idle_minutes < 1 || a.session_absolute_hours < 1 {
            return bad(
                "auth.session_idle_minutes",
                "session timeouts must be positive".into(),
            );
        }
        if a.lockout_threshold < 1 || a.lockout_minutes < 1 {
            return bad(
                "auth.lockout_threshold",
                "lockout threshold and minutes must be positive".into(),
            );
        }
        if a.password_min_length < 8 {
            return bad("auth.password_min_length", "must be at least 8".into());
        }
        if !(1..=4).contains(&a.password_min_classes) {
            return bad("auth.password_min_classes", "must be 1 to 4".into());
        }
        if a.argon2_memory_kib < 1024 || a.argon2_iterations < 1 {
            return bad(
                "auth.argon2_memory_kib",
                "Argon2 needs at least 1024 KiB and 1 iteration".into(),
            );
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return bad(
                "log.format",
                format!("`{}` is neither text nor json", self.log.format),
            );
        }
        Ok(())
    }

    pub fn app_config(&self) -> cityloop_app::AppConfig {
        let a = &self.auth;
        cityloop_app::AppConfig {
            session_idle: chrono::Duration::minutes(a.session_idle_minutes),
            session_absolute: chrono::Duration::hours(a.session_absolute_hours),
            lockout_threshold: a.lockout_threshold,
            lockout_duration: chrono::Duration::minutes(a.lockout_minutes),
            password_policy: cityloop_domain::password::PasswordPolicy {
                min_length: a.password_min_length,
                min_classes: a.password_min_classes,
            },
            argon2: cityloop_app::HashParams {
                memory_kib: a.argon2_memory_kib,
                iterations: a.argon2_iterations,
            },
            cases: self.cases_config(),
            public: self.public.app_config(),
        }
    }

    /// Where evidence is kept: the configured directory, or `blobs` beside the SQLite file.
    pub fn evidence_dir(&self) -> std::path::PathBuf {
        if !self.cases.evidence_dir.is_empty() {
            return self.cases.evidence_dir.clone().into();
        }
        let sqlite_path = self
            .database
            .url
            .strip_prefix("sqlite://")
            .map(|p| p.split('?').next().unwrap_or(p));
        match sqlite_path.and_then(|p| Path::new(p).parent()) {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join("blobs"),
            _ => std::path::PathBuf::from("data/blobs"),
        }
    }

    pub fn cases_config(&self) -> cityloop_app::cases::CasesConfig {
        let c = &self.cases;
        cityloop_app::cases::CasesConfig {
            duplicate_radius_m: c.duplicate_radius_m,
            duplicate_window_hours: c.duplicate_window_hours,
            idempotency_days: c.idempotency_days.max(7),
            inspector_photo_required: c.inspector_photo_required,
            intake: cityloop_app::cases::IntakeConfig {
                max_batch: c.intake_max_batch.max(1),
                ..Default::default()
            },
            evidence: cityloop_app::cases::EvidenceConfig {
                dir: Some(self.evidence_dir()),
                max_bytes: c.max_upload_bytes,
                max_distance_m: c.photo_max_distance_m,
                ..Default::default()
            },
        }
    }

    pub fn http_config(&self) -> cityloop_http::HttpConfig {
        let s = &self.server;
        cityloop_http::HttpConfig {
            body_limit: s.body_limit_bytes,
            import_limit: s.import_max_bytes,
            import_timeout: std::time::Duration::from_secs(s.import_timeout_secs),
            request_timeout: std::time::Duration::from_secs(s.request_timeout_secs),
            cookie_secure: s.cookie_secure,
            trusted_proxies: s
                .trusted_proxies
                .iter()
                .filter_map(|p| p.parse().ok())
                .collect(),
            trusted_origins: s.trusted_origins.clone(),
            demo_logins: s.demo_logins.clone(),
        }
    }
}

/// Hides the password of a database URL.
pub fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
    {
        let user = userinfo.split(':').next().unwrap_or_default();
        let masked = if userinfo.contains(':') {
            format!("{user}:***")
        } else {
            user.to_owned()
        };
        return format!("{scheme}://{masked}@{host}");
    }
    url.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_is_the_defaults() {
        let from_file: Config = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(from_file, Config::default());
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact_url("postgres://u:pw@h:5/db"),
            "postgres://u:***@h:5/db"
        );
        assert_eq!(redact_url("sqlite://data/x"), "sqlite://data/x");
        let c = Config {
            database: DatabaseConfig {
                url: "postgres://u:secret@h/db".into(),
                ..DatabaseConfig::default()
            },
            ..Config::default()
        };
        assert!(!format!("{c:?}").contains("secret"));
    }

    #[test]
    fn bad_values_name_their_key() {
        let mut c = Config::default();
        c.server.listen = "nowhere".into();
        assert!(c.validate().unwrap_err().0.contains("server.listen"));
        let mut c = Config::default();
        c.database.url = "mysql://x".into();
        assert!(c.validate().unwrap_err().0.contains("database.url"));
    }

    #[test]
    fn malformed_file_is_one_line_naming_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[server]\nbody_limit_bytes = \"big\"\n").unwrap();
        let e = Config::load(Some(&path), &Overrides::default())
            .unwrap_err()
            .0;
        assert!(e.contains("body_limit_bytes"), "{e}");
        assert!(!e.contains('\n'));
        std::fs::write(&path, "[server]\nlisen = \"x\"\n").unwrap();
        let e = Config::load(Some(&path), &Overrides::default())
            .unwrap_err()
            .0;
        assert!(e.contains("lisen"), "{e}");
    }

    #[test]
    fn flags_override_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "[server]\nlisten = \"127.0.0.1:9000\"\n").unwrap();
        let c = Config::load(Some(&path), &Overrides::default()).unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:9000");
        let c = Config::load(
            Some(&path),
            &Overrides {
                listen: Some("127.0.0.1:9001".into()),
                database_url: None,
            },
        )
        .unwrap();
        assert_eq!(c.server.listen, "127.0.0.1:9001");
    }
}
