//! Configuration (docs/configuration.md): the raw TOML, validated once into a typed runtime [`Config`].
//!
//! The raw TOML structs are in `raw`, the checks in `validate`: every problem of a file is
//! collected and reported as `PATH:LINE:COL: key: what is wrong`.

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;

use crate::calendar::{Calendar, Offset, WorkDuration};
use crate::intake::Labels;
use crate::lexicon::Lexicon;

mod raw;
mod validate;

pub use validate::{is_email, is_loopback, line_col, parse_address};

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from (relative paths inside it are resolved against its folder).
    pub path: PathBuf,
    pub service: ServiceConfig,
    pub imap: ImapConfig,
    pub smtp: SmtpConfig,
    pub calendar: Calendar,
    pub deadlines: Deadlines,
    pub people: People,
    pub executors: Vec<Executor>,
    pub rules: Vec<Rule>,
    pub escalations: Vec<Escalation>,
    pub intake: IntakeConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Ru,
    En,
}

#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub state_dir: PathBuf,
    pub case_prefix: String,
    pub language: Language,
    pub digest_at: Option<NaiveTime>,
    /// The month's report to the supervisor on its first working day (default true).
    pub monthly_report: bool,
    /// The longest absence an executor may announce by mail (calendar days; default 90).
    pub max_absence: chrono::Duration,
    /// How long bookkeeping is kept (the inbound ledger, the sent-marks of the outbox);
    /// cases are kept for ever. Whole days; by default 400.
    pub retention: chrono::Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    Implicit,
    Starttls,
    None,
}

/// A password, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// `imap.max_message_size` when not given: 25 MB (26214400 bytes), what common mail
/// providers accept.
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 25 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: String,
    pub password: Password,
    pub mailbox: String,
    /// With `/` as the hierarchy separator; the mailbox module maps it to the server's.
    pub processed_mailbox: String,
    pub rejected_mailbox: String,
    pub poll_seconds: u64,
    /// Bytes (the server's RFC822.SIZE). A larger message is never fetched whole: it goes to
    /// the rejected mailbox and the handler is told (`mailbox::Handler::oversized`).
    pub max_message_size: u64,
    /// Extra trusted CA certificates (PEM), e.g. a municipal CA or a test server's.
    pub ca_file: Option<PathBuf>,
}

/// `Name <addr@host>` split up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub name: Option<String>,
    /// Lower-cased.
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// None: no SMTP AUTH (loopback relays).
    pub username: Option<String>,
    pub password: Option<Password>,
    pub from: Address,
    /// Extra trusted CA certificates (PEM).
    pub ca_file: Option<PathBuf>,
}

/// The four deadlines' parameters for one category (or the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineSet {
    pub answer: WorkDuration,
    pub draft_before_answer: WorkDuration,
    pub rework: WorkDuration,
    pub final_after_interim: WorkDuration,
}

#[derive(Debug, Clone)]
pub struct Deadlines {
    pub default: DeadlineSet,
    /// Category name lower-cased → its full set (defaults filled in for keys it omits).
    pub categories: Vec<(String, DeadlineSet)>,
}

impl Deadlines {
    /// The set for an importance category, matched case-insensitively; default otherwise.
    pub fn for_category(&self, category: Option<&str>) -> DeadlineSet {
        let Some(cat) = category else {
            return self.default;
        };
        let cat = cat.trim().to_lowercase();
        self.categories
            .iter()
            .find(|(name, _)| *name == cat)
            .map(|(_, set)| *set)
            .unwrap_or(self.default)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Surname, first name and patronymic ("Шишова Татьяна Михайловна"), or as written.
    pub name: String,
    /// Lower-cased.
    pub email: String,
    /// The official's position, empty when not given.
    pub position: String,
    /// Coordinator: a short notice per new case as it opens (default true).
    pub new_cases: bool,
}

#[derive(Debug, Clone)]
pub struct People {
    pub coordinator: Person,
    pub supervisor: Option<Person>,
    /// Lower-cased address.
    pub publisher: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executor {
    pub id: String,
    pub name: String,
    pub position: String,
    /// Lower-cased.
    pub email: String,
    pub deputy: Option<String>,
    /// Inclusive date ranges.
    pub absent: Vec<(NaiveDate, NaiveDate)>,
}

/// A case-insensitive glob (`ЖКХ*`).
///
/// globset folds only ASCII case, so the source and every value are lower-cased instead
/// (Cyrillic topics and categories match whatever their case).
#[derive(Debug, Clone)]
pub struct Pattern {
    pub source: String,
    pub matcher: globset::GlobMatcher,
}

impl Pattern {
    pub fn new(source: &str) -> Result<Pattern, globset::Error> {
        let glob = globset::GlobBuilder::new(&source.to_lowercase())
            .case_insensitive(true)
            .literal_separator(false)
            .build()?;
        Ok(Pattern {
            source: source.to_string(),
            matcher: glob.compile_matcher(),
        })
    }

    pub fn is_match(&self, value: &str) -> bool {
        self.matcher.is_match(value.trim().to_lowercase())
    }
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    /// Empty: any.
    pub topic: Vec<Pattern>,
    pub location: Vec<Pattern>,
    pub category: Vec<Pattern>,
    /// Regular expressions over the post's text; empty: any.
    pub text: Vec<regex::Regex>,
    pub executor: String,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    Draft,
    Answer,
    Rework,
    Final,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyTarget {
    Executor,
    Coordinator,
    Supervisor,
    /// Lower-cased.
    Email(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub deadline: DeadlineKind,
    pub at: Offset,
    pub notify: Vec<NotifyTarget>,
}

#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// Who may open cases (globs over the lower-cased sender address).
    pub senders: Vec<Pattern>,
    pub lexicon: Lexicon,
    /// Calendar days.
    pub repeat_window: chrono::Duration,
    pub source_timezone: Tz,
    pub labels: Labels,
}

impl Config {
    pub fn executor(&self, id: &str) -> Option<&Executor> {
        self.executors.iter().find(|e| e.id == id)
    }

    pub fn executor_by_email(&self, email: &str) -> Option<&Executor> {
        let email = email.trim().to_lowercase();
        self.executors.iter().find(|e| e.email == email)
    }
}

/// One problem in a config file, printed as `PATH:LINE:COL: key: what is wrong`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: PathBuf,
    /// 1-based; 0 when the problem has no place in the file (missing file).
    pub line: usize,
    pub col: usize,
    /// Dotted key path, e.g. `rules[2].executor`; empty for file-level problems.
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let key = if self.key.is_empty() { "-" } else { &self.key };
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.path.display(),
            self.line,
            self.col,
            key,
            self.message
        )
    }
}

/// All the problems found in one file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", self.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

/// How strict to be about secrets taken from the environment: `check-config` runs in an
/// admin's shell where systemd's environment is absent, `run` needs them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretCheck {
    /// A missing `password_env` variable is an error.
    Require,
    /// A missing `password_env` variable leaves an empty secret.
    Lenient,
}

/// What a config is validated against: the environment variables it names
/// (`password_env`, `CREDENTIALS_DIRECTORY`) and the files it names (password files, the
/// clause 12 word list, CA files). The service passes the real ones; tests and the fuzzer
/// their own. The core reads neither by itself.
pub trait Environment {
    /// One environment variable.
    fn var(&self, name: &str) -> Option<String>;
    /// One file's bytes.
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
}

/// Parses and validates config text; `path` is used for messages and to resolve relative
/// file names, which are read through `env`.
pub fn parse(
    text: &str,
    path: &Path,
    secrets: SecretCheck,
    env: &dyn Environment,
) -> Result<Config, ConfigError> {
    validate::validate(text, path, secrets, env)
}
