//! Configuration (docs/configuration.md): the raw TOML, validated once into a typed runtime [`Config`].
//!
//! The raw TOML structs are in `raw`, the checks in `validate`: every problem of a file is
//! collected and reported as `PATH:LINE:COL: key: what is wrong`.

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime};
use chrono_tz::Tz;

use crate::calendar::{Calendar, Offset, WorkDuration};
use crate::lexicon::Lexicon;

pub mod labels;
mod raw;
mod validate;

pub use crate::address::{Address, is_email, is_loopback, parse_address};
pub use labels::{Field, Labels};
pub use validate::line_col;

/// The whole validated configuration the service runs with, swapped in as one on reload.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was read from (relative paths inside it are resolved against its folder).
    pub path: PathBuf,
    /// `[service]`: state folder, case prefix, language, digest time, retention.
    pub service: ServiceConfig,
    /// `[imap]`: the intake mailbox where notifications and replies arrive.
    pub imap: ImapConfig,
    /// `[smtp]`: how and as whom the service sends mail.
    pub smtp: SmtpConfig,
    /// `[calendar]`: the working time every deadline is counted in.
    pub calendar: Calendar,
    /// `[deadlines]`: the regulation's durations, by default and per importance category.
    pub deadlines: Deadlines,
    /// `[people]`: coordinator, optional supervisor and publisher.
    pub people: People,
    /// `[[executors]]` in file order; ids and addresses are unique.
    pub executors: Vec<Executor>,
    /// `[[rules]]` in file order; the first that matches a notification routes it.
    pub rules: Vec<Rule>,
    /// `[[escalations]]`: the ladder of reminders relative to the deadlines.
    pub escalations: Vec<Escalation>,
    /// `[intake]`: who may open cases and how notifications are read.
    pub intake: IntakeConfig,
    /// `[routing]`: the model that routes what no rule does.
    pub routing: RoutingConfig,
    /// `[archive]`: earlier approved answers offered with a new case (optional section).
    pub archive: ArchiveConfig,
}

/// `routing.auto_threshold` when not given: the model's confidence from which it routes a
/// post by itself. Chosen by 5-fold cross-validation on the starter corpus (the model
/// alone, no rules), as the lowest of the grid at which fewer than 2 % of posts go to the
/// wrong official: at 0.65 it routes 91 % of posts, 98 % of them right, and leaves the
/// rest to the coordinator; lower thresholds route more posts but send more to the wrong
/// official (0.6 sends 2 % of all posts there; docs/configuration.md `[routing]`).
pub const DEFAULT_AUTO_THRESHOLD: f64 = 0.65;

/// The `[routing]` section: the model behind the rules.
#[derive(Debug, Clone)]
pub struct RoutingConfig {
    /// The model's posterior probability from which it routes a post without the
    /// coordinator, in (0, 1] (`routing.auto_threshold`, default [`DEFAULT_AUTO_THRESHOLD`]).
    pub auto_threshold: f64,
    /// Whether the model routes and suggests at all (`routing.model`, default true); off,
    /// what no rule routes goes to the coordinator without suggestions.
    pub model: bool,
    /// The model trained on the starter examples (the built-in corpus, or
    /// `routing.starter_corpus`) of the config's executors; the shell learns what it has
    /// been taught since on top of it (copied on the first example learned). Trained on
    /// first use ([`Starter::model`]).
    pub starter: Starter,
}

/// The starter model of a config: the examples were read and checked when the config was
/// loaded, the model is trained from them on the first [`Starter::model`] (a tenth of a
/// second for the built-in corpus), so that loading a config stays quick and the service
/// can train it beside the rest of its start. Clones share one model: configs loaded with
/// the built-in corpus for the same executors share it too.
#[derive(Clone)]
pub struct Starter(std::sync::Arc<StarterInner>);

struct StarterInner {
    /// What the model is trained on; taken (and dropped) by the training.
    examples: std::sync::Mutex<Option<StarterExamples>>,
    model: std::sync::OnceLock<std::sync::Arc<crate::classifier::Model>>,
}

/// The examples a starter model is trained on.
pub(crate) enum StarterExamples {
    /// The built-in corpus's posts for these executors (parsed when trained).
    Builtin(std::collections::HashSet<String>),
    /// The posts of `routing.starter_corpus`, read and checked at load.
    Corpus(Vec<crate::classifier::Labelled>),
}

impl Starter {
    pub(crate) fn new(examples: StarterExamples) -> Starter {
        Starter(std::sync::Arc::new(StarterInner {
            examples: std::sync::Mutex::new(Some(examples)),
            model: std::sync::OnceLock::new(),
        }))
    }

    /// The starter model, trained now if it was not yet (a concurrent call waits for the
    /// one training). The same `Arc` every time, for this value and its clones: a model
    /// that is not [`std::sync::Arc::ptr_eq`] to an earlier one comes from other examples.
    pub fn model(&self) -> &std::sync::Arc<crate::classifier::Model> {
        self.0.model.get_or_init(|| {
            // A poisoned lock only means another thread panicked while training.
            let examples = self
                .0
                .examples
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take();
            std::sync::Arc::new(match examples {
                Some(StarterExamples::Builtin(known)) => {
                    let corpus = crate::classifier::parse_corpus(crate::classifier::STARTER_CORPUS)
                        .unwrap_or_default();
                    crate::classifier::Model::train(
                        corpus.iter().filter(|l| known.contains(&l.executor)),
                    )
                }
                Some(StarterExamples::Corpus(corpus)) => crate::classifier::Model::train(&corpus),
                // Only after a training that panicked: nothing left to learn from.
                None => crate::classifier::Model::train(std::iter::empty()),
            })
        })
    }

    /// Whether the model has been trained already.
    pub fn is_trained(&self) -> bool {
        self.0.model.get().is_some()
    }
}

impl std::fmt::Debug for Starter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.model.get() {
            Some(m) => f.debug_tuple("Starter").field(m).finish(),
            None => f.write_str("Starter(not trained yet)"),
        }
    }
}

/// `archive.threshold` when it is not set; how it was chosen is told at
/// [`crate::archive::DEFAULT_THRESHOLD`], which names the same value for the archive's
/// readers. It lives here so that the configuration needs nothing of the archive.
pub const DEFAULT_ARCHIVE_THRESHOLD: f64 = 0.2;

/// The `[archive]` section, every key defaulted.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveConfig {
    /// `archive.threshold`: the similarity (0 to 1) an earlier post must reach for its
    /// answer to be shown with a new case; default [`DEFAULT_ARCHIVE_THRESHOLD`].
    pub threshold: f64,
}

impl Default for ArchiveConfig {
    fn default() -> ArchiveConfig {
        ArchiveConfig {
            threshold: DEFAULT_ARCHIVE_THRESHOLD,
        }
    }
}

/// The language of every mail the service writes (`service.language`); keywords are
/// understood in both whatever it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Russian (`ru`, the default).
    Ru,
    /// English (`en`).
    En,
}

/// The `[service]` section, every key defaulted.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Folder of the store, the signing key and the control socket (`service.state_dir`,
    /// default `/var/lib/otklik`, resolved against the config file's folder).
    pub state_dir: PathBuf,
    /// The case tag's letters in subjects, such as `OTK` in `[OTK-42]`: a capital Latin
    /// letter and 1 to 9 capital letters or digits (`service.case_prefix`, default `OTK`).
    pub case_prefix: String,
    /// The language mails are written in (`service.language`, default Russian).
    pub language: Language,
    /// Local time of the daily digest on working days (`service.digest_at`); `None`: no digest.
    pub digest_at: Option<NaiveTime>,
    /// The month's report to the supervisor on its first working day (default true).
    pub monthly_report: bool,
    /// The longest absence an executor may announce by mail (calendar days; default 90).
    pub max_absence: chrono::Duration,
    /// How long bookkeeping is kept (the inbound ledger, the sent-marks of the outbox);
    /// cases are kept for ever. Whole days; by default 400.
    pub retention: chrono::Duration,
}

/// How a mail server connection is encrypted (`imap.tls`, `smtp.tls`; default implicit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS on 993, SMTPS on 465).
    Implicit,
    /// A plain connection upgraded with STARTTLS (IMAP 143, SMTP 587).
    Starttls,
    /// Plain text, accepted only to a loopback host.
    None,
}

/// A password, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(
    /// The secret itself, read from `password_file` or `password_env`.
    pub String,
);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// `imap.max_message_size` when not given: 25 MB (26214400 bytes), what common mail
/// providers accept.
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 25 * 1024 * 1024;

/// The `[imap]` section: the intake mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapConfig {
    /// The IMAP server's host name or address.
    pub host: String,
    /// TCP port; by default 993 with implicit TLS, else 143.
    pub port: u16,
    /// Encryption of the connection.
    pub tls: TlsMode,
    /// The login name, often the full address.
    pub username: String,
    /// The login password, from `imap.password_file` or `imap.password_env`.
    pub password: Password,
    /// The folder watched for new mail (`imap.mailbox`, default `INBOX`).
    pub mailbox: String,
    /// Where handled messages are moved (default `otklik/processed`), with `/` as the
    /// hierarchy separator; the mailbox module maps it to the server's.
    pub processed_mailbox: String,
    /// Where messages not taken in are moved (default `otklik/rejected`), `/`-separated too.
    pub rejected_mailbox: String,
    /// Seconds between checks of the folder, used only where the server lacks IDLE
    /// (at least 1; default 60).
    pub poll_seconds: u64,
    /// Bytes (the server's RFC822.SIZE). A larger message is never fetched whole: it goes to
    /// the rejected mailbox and the handler is told (`mailbox::MessageSink::oversized`).
    pub max_message_size: u64,
    /// Extra trusted CA certificates (PEM), e.g. a municipal CA or a test server's.
    pub ca_file: Option<PathBuf>,
}

/// The `[smtp]` section: how the service sends mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// The SMTP server or relay.
    pub host: String,
    /// TCP port; by default 465 (implicit), 587 (starttls) or 25 (none).
    pub port: u16,
    /// Encryption of the connection.
    pub tls: TlsMode,
    /// None: no SMTP AUTH (loopback relays).
    pub username: Option<String>,
    /// The SMTP AUTH password; present exactly when `username` is.
    pub password: Option<Password>,
    /// The sender of every mail; its domain is the right side of the service's Message-IDs.
    pub from: Address,
    /// Extra trusted CA certificates (PEM).
    pub ca_file: Option<PathBuf>,
    /// SMTP connections kept open and in flight at once (`smtp.connections`, 1 to
    /// [`MAX_SMTP_CONNECTIONS`], default [`DEFAULT_SMTP_CONNECTIONS`]).
    pub connections: usize,
}

/// `smtp.connections` when not set: what a district's mail server takes from one client
/// without complaint (Postfix allows 50 a client, Exchange 20 a source by default).
pub const DEFAULT_SMTP_CONNECTIONS: usize = 4;

/// The most `smtp.connections` may ask for.
pub const MAX_SMTP_CONNECTIONS: usize = 32;

/// The four deadlines' parameters for one category (or the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineSet {
    /// From detection to the published answer (clause 6; default 9 working hours).
    pub answer: WorkDuration,
    /// How long before the answer deadline the draft is due (clause 7; default 4 working
    /// hours); always working time, never days, and shorter than an `answer` in hours.
    pub draft_before_answer: WorkDuration,
    /// From a return for rework to the reworked draft (clause 8; default 1 working hour).
    pub rework: WorkDuration,
    /// From the approval of an interim answer to the final draft (clause 9; default 7
    /// working days).
    pub final_after_interim: WorkDuration,
}

/// The `[deadlines]` section with its `[deadlines.categories."NAME"]` overrides.
#[derive(Debug, Clone)]
pub struct Deadlines {
    /// The set for notifications whose category has no entry of its own.
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

/// A named official with an address (`people.coordinator`, `people.supervisor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Full name, trimmed and non-empty: surname, first name and patronymic ("Шишова Татьяна
    /// Михайловна"), or as written.
    pub name: String,
    /// Lower-cased.
    pub email: String,
    /// The official's position, empty when not given.
    pub position: String,
    /// Coordinator: a short notice per new case as it opens (default true).
    pub new_cases: bool,
    /// Coordinator: who acts with her rights while she is away
    /// (`people.coordinator.deputy`): an executor id or a lower-cased address.
    pub deputy: Option<String>,
    /// Coordinator: the periods she is away (`people.coordinator.absent`), inclusive.
    pub absent: Vec<(NaiveDate, NaiveDate)>,
}

/// The `[people]` section: who distributes, controls and publishes.
#[derive(Debug, Clone)]
pub struct People {
    /// The official who distributes, approves and returns drafts, and gets unassigned cases.
    pub coordinator: Person,
    /// The official in control, who gets the escalations naming `supervisor`; optional.
    pub supervisor: Option<Person>,
    /// Lower-cased address of whoever posts answers, sent every approved text; optional.
    pub publisher: Option<String>,
}

/// One `[[executors]]` table: an official who answers the cases routed to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executor {
    /// The unique name used in rules, `НАЗНАЧИТЬ` and reports: lower-case Latin letters,
    /// digits, `-` and `_`, starting with a letter or digit.
    pub id: String,
    /// Full name, shown to the coordinator.
    pub name: String,
    /// Job title shown next to the name; empty when not given.
    pub position: String,
    /// Lower-cased, unique among executors; replies are recognised by it.
    pub email: String,
    /// Id of another executor who takes this one's new cases while they are away.
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
    /// The glob as given to [`Pattern::new`], before lower-casing.
    pub source: String,
    /// The compiled glob over the lower-cased source.
    pub matcher: globset::GlobMatcher,
}

impl Pattern {
    /// Compiles a glob in which `*` also crosses `/`; an invalid glob is an error.
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

    /// Whether the whole value, trimmed and lower-cased, matches.
    pub fn is_match(&self, value: &str) -> bool {
        self.matcher.is_match(value.trim().to_lowercase())
    }
}

/// One `[[rules]]` entry routing matching notifications to an executor (clause 5); it
/// matches when each non-empty list has an element that matches.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Shown in the case history and by `otklik route`; `rule N` (1-based) when not given.
    pub name: String,
    /// Globs over the notification's topic. Empty: any.
    pub topic: Vec<Pattern>,
    /// Globs over the notification's location; empty: any.
    pub location: Vec<Pattern>,
    /// Globs over the notification's importance category; empty: any.
    pub category: Vec<Pattern>,
    /// Regular expressions over the post's text; empty: any.
    pub text: Vec<regex::Regex>,
    /// Words matched by stem in the topic and the text (any form of `газ`: газа, газом).
    /// With `phrases` one condition: the post says one of them. Both empty: any.
    pub words: Vec<Stemmed>,
    /// Phrases matched by stem, word after word, in the topic or in the text.
    pub phrases: Vec<Stemmed>,
    /// Id of the executor the case goes to; always an existing executor's.
    pub executor: String,
}

/// A word or phrase of a rule, as written and as stems.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stemmed {
    /// As written in the config.
    pub source: String,
    /// Its words' stems, in order (one for a word).
    pub stems: Vec<String>,
}

/// Which of a case's four deadlines is meant (`escalations.deadline`, stored in snake case).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// The draft must reach the coordinator: the answer deadline minus `draft_before_answer`.
    Draft,
    /// The answer must be published: detection plus `answer`.
    Answer,
    /// A draft returned for rework must come back: the return plus `rework`.
    Rework,
    /// The final draft after an approved interim answer: that approval plus
    /// `final_after_interim`.
    Final,
}

/// One recipient of an escalation step (an entry of `escalations.notify`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyTarget {
    /// The executor the case is assigned to.
    Executor,
    /// `people.coordinator`.
    Coordinator,
    /// `people.supervisor`, which validation requires to be set.
    Supervisor,
    /// Lower-cased.
    Email(String),
}

/// One `[[escalations]]` step: when, relative to which deadline, whom to mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    /// The deadline the step is about.
    pub deadline: DeadlineKind,
    /// Working-time offset from that deadline; negative offsets are never in days.
    pub at: Offset,
    /// Who is mailed, without duplicates and never empty.
    pub notify: Vec<NotifyTarget>,
}

/// The `[intake]` section: what may open a case and how notifications are read.
#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// Who may open cases (globs over the lower-cased sender address).
    pub senders: Vec<Pattern>,
    /// The clause 12 exclusion word list from `intake.exclude_words_file`; empty when none.
    pub lexicon: Lexicon,
    /// Calendar days.
    pub repeat_window: chrono::Duration,
    /// Zone of detection times that carry none (`intake.source_timezone`, default the
    /// calendar's zone).
    pub source_timezone: Tz,
    /// The built-in field labels plus those of `[intake.labels]`.
    pub labels: Labels,
    /// `intake.trusted_authserv_id`: the id under which the receiving mail server writes
    /// its `Authentication-Results`; `None`: no header proves a sender.
    pub trusted_authserv_id: Option<String>,
    /// `intake.link_hosts`: the hosts (lower-case; their subdomains too) a notification's
    /// links may point to and still be links in our mail.
    pub link_hosts: Vec<String>,
}

/// The default `intake.link_hosts`: the social networks and sites the monitoring platform
/// reports on.
pub const DEFAULT_LINK_HOSTS: &[&str] = &[
    "vk.com",
    "vk.ru",
    "vkvideo.ru",
    "ok.ru",
    "t.me",
    "telegram.me",
    "instagram.com",
    "facebook.com",
    "youtube.com",
    "youtu.be",
    "dzen.ru",
    "rutube.ru",
    "max.ru",
    "x.com",
    "twitter.com",
    "tiktok.com",
    "livejournal.com",
    "pikabu.ru",
    "yandex.ru",
    "2gis.ru",
    "otzovik.com",
];

impl Config {
    /// The executor with this exact id.
    pub fn executor(&self, id: &str) -> Option<&Executor> {
        self.executors.iter().find(|e| e.id == id)
    }

    /// The address of the coordinator's deputy (`people.coordinator.deputy`): the executor's
    /// address for an executor id, else the address given.
    pub fn coordinator_deputy(&self) -> Option<String> {
        let d = self.people.coordinator.deputy.as_deref()?;
        match self.executor(d) {
            Some(e) => Some(e.email.clone()),
            None => d.contains('@').then(|| d.to_string()),
        }
    }

    /// The executor with this address, compared trimmed and case-insensitively.
    pub fn executor_by_email(&self, email: &str) -> Option<&Executor> {
        let email = email.trim().to_lowercase();
        self.executors.iter().find(|e| e.email == email)
    }
}

/// One problem in a config file, printed as `PATH:LINE:COL: key: what is wrong`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The config file the problem is in.
    pub path: PathBuf,
    /// 1-based; 0 when the problem has no place in the file (missing file).
    pub line: usize,
    /// 1-based column in characters, not bytes; 0 with a `line` of 0.
    pub col: usize,
    /// Dotted key path, e.g. `rules[2].executor`; empty for file-level problems.
    pub key: String,
    /// What is wrong, for the admin.
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
    /// Every problem found, sorted by position in the file.
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
