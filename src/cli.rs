//! The command line (README, "Commands"): raw arguments here, validated config from `config`.
//! Exit status: 0 success, 1 user error (one line on stderr saying what and where),
//! 2 usage error (clap).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use serde::Serialize;

use crate::auth::Secret;
use crate::calendar::WorkDuration;
use crate::config::{self, Config, SecretCheck};
use crate::control::{self, Request, Response};
use crate::decide::{self, Decision, Disposition, Facts};
use crate::inbound::Inbound;
use crate::intake;
use crate::outbox::Listed;
use crate::report;
use crate::status::{Level, evaluate, not_running};
use crate::store::Store;
use crate::templates::local_time;
use crate::term::{Mode, TermSafe};
use crate::workflow::{self, Case, Classification};

#[derive(Debug, Parser)]
#[command(
    name = "otklik",
    version,
    about = "Answers critical social-media posts on time, by email",
    long_about = "Answers critical social-media posts on time, by email. A monitoring \
platform mails a notification about a post; otklik opens a case, routes it to the \
competent official, takes the draft answer and the coordinator's approval by reply, and \
sends reminders and escalations as working-hour deadlines near. `otklik run` is the \
service (systemd: otklik.service); the other commands ask it over its control socket, or \
read its store when it does not run.",
    after_long_help = "Files:\n  /etc/otklik/otklik.toml        the configuration (--config, $OTKLIK_CONFIG)\n  \
/etc/otklik/exclude-words.txt  the clause 12 word list\n  /var/lib/otklik/               \
the state: the store, the reply secret, the control socket\n\nExit status: 0 success, \
1 a user error (one line on stderr), 2 a usage error; `otklik status`: 0 OK, 1 WARNING, \
2 CRITICAL, 3 UNKNOWN.\n\nSee /usr/share/doc/otklik/operations.md."
)]
pub struct Cli {
    /// The configuration file.
    #[arg(
        long,
        global = true,
        env = "OTKLIK_CONFIG",
        default_value = "/etc/otklik/otklik.toml"
    )]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// journald fields under systemd, human-readable otherwise.
    Auto,
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service in the foreground (systemd Type=notify).
    Run {
        #[arg(long, value_enum, default_value = "auto")]
        log_format: LogFormat,
    },
    /// Validate the configuration file.
    CheckConfig,
    /// Print the working-time deadline `--add` after `--from`.
    Deadline {
        /// RFC 3339, or `YYYY-MM-DD HH:MM` in the calendar's zone.
        #[arg(long)]
        from: String,
        /// A sum of Nd, Nh, Nm, Ns (`9h`, `1h30m`, `7d`).
        #[arg(long)]
        add: String,
    },
    /// Read every record of the store and list the damaged ones (exit status 1 if any).
    /// The service must be stopped.
    CheckStore,
    /// Dry run of intake on one message: nothing is sent or stored.
    Route {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Open cases, one line each.
    Cases {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// One case with its full history.
    Show {
        case: String,
        #[arg(long)]
        json: bool,
    },
    /// Per-executor counts and on-time rates over cases detected in a date range.
    Report {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
    },
    /// How well routing did over cases detected in a date range (all cases by default):
    /// first-choice accuracy by rule and by the model, cases left to the coordinator,
    /// reassignments, the words behind them, and suggested rules.
    RoutingReport {
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Queued mail and dead letters (refused for good), one line each.
    Outbox {
        /// Only the dead letters.
        #[arg(long)]
        dead: bool,
        /// Put dead letter ID back in the queue: tried again now, attempts from zero.
        #[arg(long, value_name = "ID", conflicts_with = "dead")]
        resend: Option<u64>,
        #[arg(long)]
        json: bool,
    },
    /// The archive of earlier approved answers offered with new cases.
    Archive {
        #[command(subcommand)]
        command: ArchiveCommand,
    },
    /// Dry run: the earlier approved answers a notification would be shown with, best
    /// first (only those above `archive.threshold`, at most three).
    Similar {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The running service's health, for monitoring: one line and the Nagios exit status
    /// (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Writes the man page (roff) or a shell's completion script to stdout; `man DIR`
    /// writes the pages of every subcommand too, as DIR/otklik*.1.
    #[command(hide = true)]
    Generate {
        #[arg(value_enum)]
        what: Generated,
        dir: Option<PathBuf>,
    },
}

/// `otklik archive …`
#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Import earlier posts and their approved answers: JSON Lines (`.jsonl`, `.json`) or
    /// `;`-separated CSV as Excel saves it (`.csv`), else told by content. Columns: id,
    /// topic, location, text, answer, optional date and executor. All rows or none.
    Import { file: PathBuf },
}

/// What `otklik generate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generated {
    Man,
    Bash,
    Zsh,
    Fish,
}

/// A user error: printed as one line, exit status 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

fn user(msg: impl Into<String>) -> UserError {
    UserError(msg.into())
}

pub fn load_config(path: &Path, secrets: SecretCheck) -> Result<Config, UserError> {
    config::load(path, secrets).map_err(|e| user(e.to_string()))
}

/// Parses `TIME` (README, "Commands"): RFC 3339, or local `YYYY-MM-DD HH:MM` in `tz`.
pub fn parse_time(s: &str, tz: chrono_tz::Tz) -> Result<DateTime<Utc>, UserError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    let naive = NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M").map_err(|_| {
        user(format!(
            "invalid time {s:?}: expected RFC 3339 or YYYY-MM-DD HH:MM"
        ))
    })?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| user(format!("time {s:?} does not exist in {tz}")))
}

fn parse_date(s: &str) -> Result<NaiveDate, UserError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| user(format!("invalid date {s:?}: expected YYYY-MM-DD")))
}

/// Where case data comes from: the running daemon, or the store itself.
enum Source {
    Daemon(PathBuf),
    Store(Store),
}

impl Source {
    fn open(config: &Config) -> Result<Source, UserError> {
        let dir = &config.service.state_dir;
        if control::ask(dir, &Request::Status).is_some() {
            return Ok(Source::Daemon(dir.clone()));
        }
        if !dir.join("store").exists() {
            return Err(user(format!(
                "{}: no store yet (the service has not run)",
                dir.display()
            )));
        }
        Store::open(dir).map(Source::Store).map_err(|e| {
            user(format!(
                "{e}; if the daemon runs, its control socket did not answer"
            ))
        })
    }

    fn ask(&self, req: Request) -> Result<Response, UserError> {
        let resp = match self {
            Source::Daemon(dir) => {
                control::ask(dir, &req).ok_or_else(|| user("the daemon stopped answering"))?
            }
            Source::Store(store) => control::answer(store, &req),
        };
        match resp {
            Response::Error(e) => Err(user(e)),
            other => Ok(other),
        }
    }

    /// All cases, or only the open ones: the daemon sends only what is asked for.
    fn cases(&self, all: bool) -> Result<Vec<Case>, UserError> {
        let req = if all {
            Request::Cases
        } else {
            Request::OpenCases
        };
        match self.ask(req)? {
            Response::Cases(c) => Ok(c),
            _ => Err(user("unexpected answer from the daemon")),
        }
    }
}

/// Runs a command other than `run` (which needs the async runtime; see `main`).
/// Runs a subcommand. Everything it prints passes through [`TermSafe`]: text from mail (a
/// post, a subject, a draft) never reaches the terminal with its control characters.
pub fn execute(cli: &Cli, out: &mut dyn Write) -> Result<(), UserError> {
    let mode = match &cli.command {
        Command::Generate { .. } => Mode::Raw,
        Command::Route { json: true, .. }
        | Command::Cases { json: true, .. }
        | Command::Show { json: true, .. }
        | Command::Outbox { json: true, .. }
        | Command::Report {
            format: ReportFormat::Json,
            ..
        } => Mode::Json,
        _ => Mode::Text,
    };
    let mut safe = TermSafe::new(out, mode);
    let result = execute_unescaped(cli, &mut safe);
    let flushed = safe.finish().map_err(|e| user(format!("output: {e}")));
    result.and(flushed)
}

fn execute_unescaped(cli: &Cli, out: &mut dyn Write) -> Result<(), UserError> {
    let io = |e: std::io::Error| user(format!("output: {e}"));
    match &cli.command {
        Command::Run { .. } => Err(user("`run` is started by main")),
        Command::Status { .. } => Err(user("`status` is answered by main")),
        Command::Generate { what, dir } => match (what, dir) {
            (Generated::Man, Some(dir)) => {
                use clap::CommandFactory;
                clap_mangen::generate_to(Cli::command(), dir)
                    .map_err(|e| user(format!("{}: {e}", dir.display())))
            }
            _ => generate(*what, out).map_err(io),
        },
        Command::CheckConfig => {
            load_config(&cli.config, SecretCheck::Lenient)?;
            writeln!(out, "ok").map_err(io)
        }
        Command::Deadline { from, add } => {
            let config = load_config(&cli.config, SecretCheck::Lenient)?;
            let tz = config.calendar.timezone();
            let start = parse_time(from, tz)?;
            let d: WorkDuration = add.parse().map_err(|e| user(format!("--add: {e}")))?;
            let end = config.calendar.add(start, d);
            if config
                .calendar
                .is_predicted(end.with_timezone(&tz).date_naive())
            {
                tracing::warn!(
                    "the deadline falls in a year whose production calendar is only predicted"
                );
            }
            writeln!(out, "{}", end.with_timezone(&tz).to_rfc3339()).map_err(io)
        }
        Command::Route { file, json } => route(cli, file, *json, out),
        Command::CheckStore => check_store(cli, out),
        Command::Archive {
            command: ArchiveCommand::Import { file },
        } => archive_import(cli, file, out),
        Command::Similar { file, json } => similar(cli, file, *json, out),
        Command::Cases { all, json } => {
            let config = load_config(&cli.config, SecretCheck::Lenient)?;
            let cases = Source::open(&config)?.cases(*all)?;
            if *json {
                let views: Vec<CaseJson> =
                    cases.iter().map(|c| CaseJson::new(&config, c)).collect();
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&views).map_err(|e| user(e.to_string()))?
                )
                .map_err(io)
            } else {
                for c in &cases {
                    writeln!(out, "{}", case_line(&config, c)).map_err(io)?;
                }
                Ok(())
            }
        }
        Command::Show { case, json } => {
            let config = load_config(&cli.config, SecretCheck::Lenient)?;
            let number = case_number(&config, case)?;
            let source = Source::open(&config)?;
            let found = match source.ask(Request::Case { number })? {
                Response::Case(c) => c,
                _ => None,
            };
            let c = found.ok_or_else(|| user(format!("no case {case}")))?;
            if *json {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&CaseJson::new(&config, &c))
                        .map_err(|e| user(e.to_string()))?
                )
                .map_err(io)
            } else {
                write!(out, "{}", case_text(&config, &c)).map_err(io)
            }
        }
        Command::Report { from, to, format } => {
            let config = load_config(&cli.config, SecretCheck::Lenient)?;
            let (from, to) = (parse_date(from)?, parse_date(to)?);
            if to < from {
                return Err(user("--to is before --from"));
            }
            let cases = Source::open(&config)?.cases(true)?;
            let rows = report::build_at(&config, &cases, from, to, Some(Utc::now()));
            let text = match format {
                ReportFormat::Table => report::table(&config, &rows),
                ReportFormat::Csv => report::csv(&config, &rows),
                ReportFormat::Json => report::json(&rows),
            };
            out.write_all(text.as_bytes()).map_err(io)
        }
        Command::RoutingReport { from, to, json } => {
            let config = load_config(&cli.config, SecretCheck::Lenient)?;
            let cases = Source::open(&config)?.cases(true)?;
            let today = workflow::local_date(&config, Utc::now());
            let from = match from {
                Some(d) => parse_date(d)?,
                None => cases
                    .iter()
                    .map(|c| workflow::local_date(&config, c.notification.detected_at))
                    .min()
                    .unwrap_or(today),
            };
            let to = match to {
                Some(d) => parse_date(d)?,
                None => today.max(from),
            };
            if to < from {
                return Err(user("--to is before --from"));
            }
            let r = otklik_core::routing::report::build(&config, &cases, from, to);
            if *json {
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&r).map_err(|e| user(e.to_string()))?
                )
                .map_err(io)
            } else {
                out.write_all(otklik_core::routing::report::text(&r).as_bytes())
                    .map_err(io)
            }
        }
        Command::Outbox { dead, resend, json } => {
            let config = load_config(&cli.config, SecretCheck::Lenient)?;
            let source = Source::open(&config)?;
            if let Some(seq) = resend {
                return match source.ask(Request::Resend { seq: *seq })? {
                    Response::Resent { seq } => {
                        writeln!(out, "mail {seq} queued again; it is sent shortly").map_err(io)
                    }
                    _ => Err(user("unexpected answer from the daemon")),
                };
            }
            let mails = match source.ask(Request::Outbox { dead_only: *dead })? {
                Response::Outbox(m) => m,
                _ => return Err(user("unexpected answer from the daemon")),
            };
            if *json {
                let views: Vec<MailJson> =
                    mails.iter().map(|m| MailJson::new(&config, m)).collect();
                writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&views).map_err(|e| user(e.to_string()))?
                )
                .map_err(io)
            } else {
                for m in &mails {
                    writeln!(out, "{}", mail_line(&config, m)).map_err(io)?;
                }
                Ok(())
            }
        }
    }
}

/// The man page or a completion script, from this command line's own definition.
pub fn generate(what: Generated, out: &mut dyn Write) -> std::io::Result<()> {
    use clap::CommandFactory;
    use clap_complete::Shell;
    let mut cmd = Cli::command();
    let shell = match what {
        Generated::Man => return clap_mangen::Man::new(cmd).render(out),
        Generated::Bash => Shell::Bash,
        Generated::Zsh => Shell::Zsh,
        Generated::Fish => Shell::Fish,
    };
    clap_complete::generate(shell, &mut cmd, "otklik", out);
    Ok(())
}

/// How long `otklik status` waits for the service's answer: a check must say something
/// before the monitoring system's own timeout (10 s for Nagios and Zabbix).
pub const STATUS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(8);

/// The JSON of `otklik status --json`; times in the calendar's zone. The facts are null
/// when the service does not answer.
#[derive(Debug, Serialize)]
pub struct StatusJson {
    pub status: Level,
    pub code: u8,
    pub line: String,
    pub running: bool,
    pub problems: Vec<String>,
    pub up_since: Option<String>,
    pub imap: Option<ImapJson>,
    pub open_cases: Option<usize>,
    pub overdue_cases: Vec<String>,
    pub outbox: Option<usize>,
    pub outbox_oldest: Option<String>,
    pub outbox_wait_seconds: Option<i64>,
    pub dead_letters: Option<usize>,
    pub last_digest: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ImapJson {
    pub state: String,
    pub connected: bool,
    pub last_contact: Option<String>,
    pub down_seconds: i64,
}

impl StatusJson {
    fn down(level: Level, line: String, problem: String) -> StatusJson {
        StatusJson {
            status: level,
            code: level.code(),
            line,
            running: false,
            problems: vec![problem],
            up_since: None,
            imap: None,
            open_cases: None,
            overdue_cases: vec![],
            outbox: None,
            outbox_oldest: None,
            outbox_wait_seconds: None,
            dead_letters: None,
            last_digest: None,
        }
    }
}

/// `otklik status [--json]`: asks the running service, prints one line (or the JSON) and
/// returns the Nagios exit status.
pub fn status(cli: &Cli, json: bool, out: &mut dyn Write) -> u8 {
    let (report, level) = status_report(cli, Utc::now());
    let text = if json {
        serde_json::to_string_pretty(&report).unwrap_or_else(|_| report.line.clone())
    } else {
        report.line.clone()
    };
    let mut safe = TermSafe::new(out, if json { Mode::Json } else { Mode::Text });
    match writeln!(safe, "{text}").and_then(|()| safe.finish()) {
        Ok(()) => level.code(),
        Err(_) => Level::Unknown.code(),
    }
}

fn status_report(cli: &Cli, now: DateTime<Utc>) -> (StatusJson, Level) {
    let config = match load_config(&cli.config, SecretCheck::Lenient) {
        Ok(c) => c,
        Err(e) => {
            let line = format!("OTKLIK UNKNOWN - {e}");
            return (
                StatusJson::down(Level::Unknown, line, e.to_string()),
                Level::Unknown,
            );
        }
    };
    let facts = match control::ask_within(
        &config.service.state_dir,
        &Request::Health,
        Some(STATUS_TIMEOUT),
    ) {
        Ok(Response::Health(f)) => *f,
        Ok(Response::Error(e)) => {
            let why = format!("the service answered: {e}");
            return (
                StatusJson::down(Level::Unknown, format!("OTKLIK UNKNOWN - {why}"), why),
                Level::Unknown,
            );
        }
        Ok(_) => {
            let why = "unexpected answer from the service".to_string();
            return (
                StatusJson::down(Level::Unknown, format!("OTKLIK UNKNOWN - {why}"), why),
                Level::Unknown,
            );
        }
        Err(e) => {
            let why = e.to_string();
            return (
                StatusJson::down(
                    Level::Critical,
                    not_running(&why),
                    format!("not running: {why}"),
                ),
                Level::Critical,
            );
        }
    };
    let v = evaluate(&facts, now);
    let tz = config.calendar.timezone();
    let t = |t: DateTime<Utc>| t.with_timezone(&tz).to_rfc3339();
    (
        StatusJson {
            status: v.level,
            code: v.level.code(),
            line: v.line.clone(),
            running: true,
            problems: v.problems.clone(),
            up_since: Some(t(facts.up_since)),
            imap: Some(ImapJson {
                state: facts.imap.state.clone(),
                connected: facts.imap.connected,
                last_contact: facts.imap.last_contact.map(t),
                down_seconds: v.imap_down_seconds,
            }),
            open_cases: Some(facts.open_cases),
            overdue_cases: v.overdue.clone(),
            outbox: Some(facts.outbox),
            outbox_oldest: facts.oldest_queued.map(t),
            outbox_wait_seconds: Some(v.outbox_wait_seconds),
            dead_letters: Some(facts.dead_letters),
            last_digest: facts.last_digest.map(|d| d.format("%Y-%m-%d").to_string()),
        },
        v.level,
    )
}

fn case_label(config: &Config, case: Option<u64>) -> Option<String> {
    case.map(|n| format!("{}-{n}", config.service.case_prefix))
}

/// One outbox mail: seq, state, to, case, subject, attempts, last error, next attempt.
pub fn mail_line(config: &Config, m: &Listed) -> String {
    format!(
        "{:<6} {:<6} {:<28} {:<9} {:?} attempts {} error {} next {}",
        m.seq,
        m.state.as_str(),
        m.to.join(","),
        case_label(config, m.case).as_deref().unwrap_or("-"),
        m.subject,
        m.attempts,
        m.last_error
            .as_deref()
            .map(|e| format!("{e:?}"))
            .unwrap_or_else(|| "-".into()),
        opt_local(config, m.next_attempt),
    )
}

/// The JSON of an outbox mail; times in the calendar's zone.
#[derive(Debug, Serialize)]
pub struct MailJson {
    pub seq: u64,
    pub state: &'static str,
    pub to: Vec<String>,
    pub case: Option<String>,
    pub subject: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub next_attempt: Option<String>,
}

impl MailJson {
    pub fn new(config: &Config, m: &Listed) -> MailJson {
        let tz = config.calendar.timezone();
        MailJson {
            seq: m.seq,
            state: m.state.as_str(),
            to: m.to.clone(),
            case: case_label(config, m.case),
            subject: m.subject.clone(),
            attempts: m.attempts,
            last_error: m.last_error.clone(),
            next_attempt: m.next_attempt.map(|t| t.with_timezone(&tz).to_rfc3339()),
        }
    }
}

fn case_number(config: &Config, s: &str) -> Result<u64, UserError> {
    let t = s.trim().trim_start_matches('[').trim_end_matches(']');
    let digits = match t.rsplit_once('-') {
        Some((prefix, n)) if prefix.eq_ignore_ascii_case(&config.service.case_prefix) => n,
        Some(_) => {
            return Err(user(format!(
                "{s:?} is not a case of this service ({}-N)",
                config.service.case_prefix
            )));
        }
        None => t,
    };
    digits.parse().map_err(|_| {
        user(format!(
            "invalid case {s:?}: expected {}-N or N",
            config.service.case_prefix
        ))
    })
}

fn opt_local(config: &Config, t: Option<DateTime<Utc>>) -> String {
    t.map(|t| local_time(config, t))
        .unwrap_or_else(|| "-".into())
}

pub fn case_line(config: &Config, c: &Case) -> String {
    let n = &c.notification;
    format!(
        "{:<9} {:<16} {:<12} draft {:<20} answer {:<20} {} — {}",
        c.id,
        c.state.as_str(),
        c.executor.as_deref().unwrap_or("-"),
        opt_local(config, c.deadlines.draft),
        opt_local(config, c.deadlines.answer),
        n.topic.as_deref().unwrap_or("-"),
        n.location.as_deref().unwrap_or("-"),
    )
}

pub fn case_text(config: &Config, c: &Case) -> String {
    let n = &c.notification;
    let mut s = String::new();
    s.push_str(&format!("{}  {}\n", c.id, c.state.as_str()));
    let mut field = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            s.push_str(&format!("  {k:<12} {v}\n"));
        }
    };
    field("executor", c.executor.as_deref());
    field("topic", n.topic.as_deref());
    field("location", n.location.as_deref());
    field("category", n.category.as_deref());
    field("source_id", n.source_id.as_deref());
    field("link", n.link.as_deref());
    field("author", n.author.as_deref());
    field("repeat_of", c.repeat_of.as_deref());
    s.push_str(&format!(
        "  {:<12} {}\n",
        "detected",
        local_time(config, n.detected_at)
    ));
    for (k, v) in [
        ("draft", c.deadlines.draft),
        ("answer", c.deadlines.answer),
        ("rework", c.deadlines.rework),
        ("final", c.deadlines.final_),
    ] {
        if v.is_some() {
            s.push_str(&format!(
                "  {:<12} {}\n",
                format!("{k} due"),
                opt_local(config, v)
            ));
        }
    }
    s.push_str("\ntext:\n");
    for l in n.text.lines() {
        s.push_str(&format!("  {l}\n"));
    }
    s.push_str("\nhistory:\n");
    for h in &c.history {
        s.push_str(&format!(
            "  {}  {:<15} {}\n",
            local_time(config, h.at),
            h.event,
            h.by
        ));
        for l in h.detail.lines() {
            s.push_str(&format!("      {l}\n"));
        }
    }
    s
}

#[derive(Debug, Serialize)]
pub struct DeadlinesJson {
    pub draft: Option<String>,
    pub answer: Option<String>,
    pub rework: Option<String>,
    #[serde(rename = "final")]
    pub final_: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct HistoryJson {
    pub at: String,
    pub event: String,
    pub by: String,
    pub detail: String,
}

/// The JSON of a case (docs/states.md); times in the calendar's zone.
#[derive(Debug, Serialize)]
pub struct CaseJson {
    pub id: String,
    pub state: String,
    pub executor: Option<String>,
    pub topic: Option<String>,
    pub location: Option<String>,
    pub category: Option<String>,
    pub source_id: Option<String>,
    pub link: Option<String>,
    pub author: Option<String>,
    pub detected_at: String,
    pub repeat_of: Option<String>,
    pub deadlines: DeadlinesJson,
    /// When the answer (or interim answer) was posted (`ОПУБЛИКОВАНО`), else `null`.
    pub published_at: Option<String>,
    /// How many drafts went to the coordinator for approval (the current approval round).
    pub approval_round: u64,
    pub history: Vec<HistoryJson>,
    pub source: Option<String>,
    pub text: String,
    pub attachments: Vec<String>,
}

impl CaseJson {
    pub fn new(config: &Config, c: &Case) -> CaseJson {
        let tz = config.calendar.timezone();
        let t = |t: DateTime<Utc>| t.with_timezone(&tz).to_rfc3339();
        let n = &c.notification;
        CaseJson {
            id: c.id.clone(),
            state: c.state.as_str().to_string(),
            executor: c.executor.clone(),
            topic: n.topic.clone(),
            location: n.location.clone(),
            category: n.category.clone(),
            source_id: n.source_id.clone(),
            link: n.link.clone(),
            author: n.author.clone(),
            detected_at: t(n.detected_at),
            repeat_of: c.repeat_of.clone(),
            deadlines: DeadlinesJson {
                draft: c.deadlines.draft.map(t),
                answer: c.deadlines.answer.map(t),
                rework: c.deadlines.rework.map(t),
                final_: c.deadlines.final_.map(t),
            },
            published_at: c.published_at.map(t),
            approval_round: c.approval_round,
            history: c
                .history
                .iter()
                .map(|h| HistoryJson {
                    at: t(h.at),
                    event: h.event.to_string(),
                    by: h.by.clone(),
                    detail: h.detail.clone(),
                })
                .collect(),
            source: n.source.clone(),
            text: n.text.clone(),
            attachments: n.attachments.iter().map(|a| a.filename.clone()).collect(),
        }
    }
}

#[derive(Debug, Serialize)]
struct RouteJson {
    subject: String,
    from: Option<String>,
    verdict: String,
    notification: Option<intake::Notification>,
    duplicate_of: Option<String>,
    repeat_of: Option<String>,
    excluded_by: Option<String>,
    rule: Option<String>,
    executor: Option<String>,
    deadlines: Option<DeadlinesJson>,
    /// How a new post was routed: `rule`, `model` or `coordinator`.
    routed_by: Option<&'static str>,
    /// The routing model's confidence when it routed the post.
    confidence: Option<f64>,
    /// The post's words behind the model's choice.
    top_words: Vec<String>,
    /// The model's suggestions to the coordinator when it left the post to her.
    suggestions: Vec<otklik_core::routing::Suggestion>,
    /// An earlier case by another author about the same problem at the same place, flagged
    /// to the coordinator (`ПОВТОР` links it).
    #[serde(skip_serializing_if = "Option::is_none")]
    possible_repeat: Option<otklik_core::repeat::PossibleRepeat>,
}

fn disposition_word(d: Disposition) -> &'static str {
    match d {
        Disposition::Processed => "processed",
        Disposition::Rejected => "rejected",
    }
}

fn route(cli: &Cli, file: &Path, json: bool, out: &mut dyn Write) -> Result<(), UserError> {
    let config = Arc::new(load_config(&cli.config, SecretCheck::Lenient)?);
    let raw = std::fs::read(file).map_err(|e| user(format!("{}: {e}", file.display())))?;
    let mail = Inbound::parse(&raw).map_err(|e| user(format!("{}: {e}", file.display())))?;
    let mut r = RouteJson {
        subject: mail.subject.clone(),
        from: mail.from.as_ref().map(|a| a.email.clone()),
        verdict: String::new(),
        notification: None,
        duplicate_of: None,
        repeat_of: None,
        excluded_by: None,
        rule: None,
        executor: None,
        deadlines: None,
        routed_by: None,
        confidence: None,
        top_words: Vec::new(),
        suggestions: Vec::new(),
        possible_repeat: None,
    };
    // The service's own decision on this message at this moment: the same questions, the
    // facts from the running daemon or its store, the same `decide`.
    let now = Utc::now();
    let arrival = mail.date.unwrap_or(now);
    let questions = decide::questions(&mail, &config, arrival);
    let source = Source::open(&config).ok();
    let facts = match source
        .as_ref()
        .map(|s| s.ask(Request::Facts(Box::new(questions))))
    {
        Some(Ok(Response::Facts(f))) => *f,
        Some(Ok(_)) => return Err(user("unexpected answer from the daemon")),
        Some(Err(e)) => return Err(e),
        None => Facts::default(),
    };
    // The same model as the service: the starter model and the examples cases confirmed.
    let taught = match source.as_ref().map(|s| s.ask(Request::Training)) {
        Some(Ok(Response::Training(t))) => t,
        Some(Ok(_)) => return Err(user("unexpected answer from the daemon")),
        Some(Err(e)) => return Err(e),
        None => Vec::new(),
    };
    let model = otklik_core::routing::signals::trained(&config.routing.starter, &taught);
    // The proofs in replies need the service's key; without it (not readable here) a reply
    // shows as unproven.
    let secret = std::fs::read_to_string(config.service.state_dir.join("secret"))
        .map(|t| Secret::new(t.trim().as_bytes().to_vec()))
        .unwrap_or_else(|_| Secret::new(Vec::new()));
    let cx = decide::Context {
        config: &config,
        secret: &secret,
        now,
        arrival,
        model: Some(&model),
    };
    let decision = decide::decide(&mail, &facts, &cx);
    r.verdict = match &decision {
        Decision::Case {
            new: true,
            class: Some(class),
            ..
        } => {
            let n = intake::parse_notification(
                &mail,
                &config.intake.labels,
                config.intake.source_timezone,
                arrival,
            )
            .ok();
            if let Some(n) = &n {
                let d = workflow::initial_deadlines(&config, n);
                let tz = config.calendar.timezone();
                r.deadlines = Some(DeadlinesJson {
                    draft: d.draft.map(|t| t.with_timezone(&tz).to_rfc3339()),
                    answer: d.answer.map(|t| t.with_timezone(&tz).to_rfc3339()),
                    rework: None,
                    final_: None,
                });
            }
            r.notification = n;
            match class.clone() {
                Classification::Excluded { matched } => {
                    r.excluded_by = Some(matched);
                    "excluded (clause 12)".into()
                }
                Classification::Repeat { of, executor, .. } => {
                    r.executor = executor;
                    r.repeat_of = Some(of.clone());
                    format!("repeat of {of}")
                }
                Classification::Routed {
                    rule,
                    executor,
                    repeat_unmatched,
                } => {
                    r.rule = Some(rule);
                    r.executor = Some(executor);
                    r.routed_by = Some("rule");
                    if repeat_unmatched {
                        "routed (flagged as a repeat, no earlier case)".into()
                    } else {
                        "routed".into()
                    }
                }
                Classification::Modelled {
                    executor,
                    confidence,
                    top_words,
                    repeat_unmatched,
                } => {
                    r.executor = Some(executor);
                    r.routed_by = Some("model");
                    r.confidence = Some(confidence.get());
                    r.top_words = top_words;
                    if repeat_unmatched {
                        "routed by the model (flagged as a repeat, no earlier case)".into()
                    } else {
                        "routed by the model".into()
                    }
                }
                Classification::Unmatched { suggestions, .. } => {
                    r.routed_by = Some("coordinator");
                    r.suggestions = suggestions;
                    if r.suggestions.is_empty() {
                        "unassigned: no rule matched; the coordinator decides".into()
                    } else {
                        "unassigned: no rule matched and the model is not sure enough; the coordinator decides".into()
                    }
                }
            }
        }
        Decision::Case { outcome, note, .. }
            if facts.same_post.is_some() && facts.case.is_none() =>
        {
            r.duplicate_of = Some(outcome.case.id.clone());
            note.clone()
        }
        Decision::Case {
            outcome,
            disposition,
            note,
            ..
        } => format!(
            "{}: reply to {}: {note}",
            disposition_word(*disposition),
            outcome.case.id
        ),
        Decision::Service { note, .. }
        | Decision::Report { note, .. }
        | Decision::Confirm { note, .. }
        | Decision::Confirmed { note, .. } => {
            format!("processed: {note}")
        }
        Decision::Drop { disposition, note } => {
            format!("{}: {note}", disposition_word(*disposition))
        }
    };
    // Who the service actually gives the case to: the rule's (or the earlier case's)
    // executor, or their deputy while they are away, or nobody.
    if let Decision::Case {
        new: true, outcome, ..
    } = &decision
        && let Some(wanted) = r.executor.clone()
        && outcome.case.executor.as_deref() != Some(wanted.as_str())
    {
        r.verdict = match &outcome.case.executor {
            Some(deputy) => format!("{} (to {deputy}, deputy of absent {wanted})", r.verdict),
            None => format!("{} ({wanted} is absent, no deputy: unassigned)", r.verdict),
        };
        r.executor = outcome.case.executor.clone();
    }
    if let Decision::Case {
        new: true, outcome, ..
    } = &decision
        && let Some(p) = &outcome.case.possible_repeat
    {
        r.verdict = format!(
            "{}; possible repeat of {} by another author ({} % alike: {}), flagged to the coordinator",
            r.verdict,
            p.of,
            p.percent,
            p.shared.join(", ")
        );
        r.possible_repeat = Some(p.clone());
    }
    let io = |e: std::io::Error| user(format!("output: {e}"));
    if json {
        return writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&r).map_err(|e| user(e.to_string()))?
        )
        .map_err(io);
    }
    writeln!(out, "verdict:   {}", r.verdict).map_err(io)?;
    if let Some(n) = &r.notification {
        for (k, v) in [
            ("source_id", &n.source_id),
            ("topic", &n.topic),
            ("location", &n.location),
            ("category", &n.category),
            ("source", &n.source),
            ("link", &n.link),
            ("author", &n.author),
        ] {
            writeln!(out, "{k:<10} {}", v.as_deref().unwrap_or("-")).map_err(io)?;
        }
        writeln!(
            out,
            "{:<10} {}",
            "detected",
            local_time(&config, n.detected_at)
        )
        .map_err(io)?;
        writeln!(out, "{:<10} {}", "repeat", n.repeat).map_err(io)?;
        writeln!(
            out,
            "{:<10} {}",
            "attached",
            n.attachments
                .iter()
                .map(|a| a.filename.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
        .map_err(io)?;
    }
    for (k, v) in [
        ("rule", &r.rule),
        ("executor", &r.executor),
        ("repeat_of", &r.repeat_of),
        ("excluded", &r.excluded_by),
    ] {
        if let Some(v) = v {
            writeln!(out, "{k:<10} {v}").map_err(io)?;
        }
    }
    if let Some(c) = r.confidence {
        writeln!(
            out,
            "{:<10} routing model, {:.0} % sure; by the words: {}",
            "model",
            c * 100.0,
            r.top_words.join(", ")
        )
        .map_err(io)?;
    }
    for s in &r.suggestions {
        writeln!(
            out,
            "{:<10} {} {} %; by the words: {}",
            "suggested",
            s.executor,
            s.probability.percent(),
            s.words.join(", ")
        )
        .map_err(io)?;
    }
    if let Some(d) = &r.deadlines {
        writeln!(
            out,
            "{:<10} {}",
            "draft due",
            d.draft.as_deref().unwrap_or("-")
        )
        .map_err(io)?;
        writeln!(
            out,
            "{:<10} {}",
            "answer due",
            d.answer.as_deref().unwrap_or("-")
        )
        .map_err(io)?;
    }
    if let Some(n) = &r.notification {
        writeln!(out, "text:\n{}", n.text).map_err(io)?;
    }
    Ok(())
}

/// `otklik check-store`: every record read once; the damaged ones listed.
fn check_store(cli: &Cli, out: &mut dyn Write) -> Result<(), UserError> {
    let io = |e: std::io::Error| user(e.to_string());
    let config = load_config(&cli.config, SecretCheck::Lenient)?;
    let dir = &config.service.state_dir;
    if !dir.join("store").exists() {
        return Err(user(format!("{}: no store yet", dir.display())));
    }
    let store = Store::open(dir).map_err(|e| {
        user(format!(
            "{e}; stop the service first (systemctl stop otklik)"
        ))
    })?;
    let (records, problems) = store.check().map_err(|e| user(e.to_string()))?;
    for p in &problems {
        writeln!(out, "damaged: {p}").map_err(io)?;
    }
    writeln!(out, "{records} records read, {} damaged", problems.len()).map_err(io)?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(user(format!("{} damaged records", problems.len())))
    }
}

/// `otklik archive import FILE`: the file read whole first (a bad row: its line, nothing
/// imported); then written by the running service over its socket, or into the store.
fn archive_import(cli: &Cli, file: &Path, out: &mut dyn Write) -> Result<(), UserError> {
    use otklik_core::archive::import::{self, Format};
    let config = load_config(&cli.config, SecretCheck::Lenient)?;
    let bytes = std::fs::read(file).map_err(|e| user(format!("{}: {e}", file.display())))?;
    let format = Format::detect(&file.to_string_lossy(), &bytes);
    let rows = import::parse_rows(&bytes, format)
        .map_err(|e| user(format!("{}: {e}; nothing imported", file.display())))?;
    let dir = &config.service.state_dir;
    let req = Request::ArchiveImport { rows };
    let resp = if control::ask(dir, &Request::Status).is_some() {
        control::ask(dir, &req).ok_or_else(|| user("the daemon stopped answering"))?
    } else {
        let store = Store::open(dir).map_err(|e| {
            user(format!(
                "{e}; if the service runs, its control socket did not answer"
            ))
        })?;
        control::answer(&store, &req)
    };
    match resp {
        Response::Imported { count } => {
            writeln!(out, "{count} imported").map_err(|e| user(format!("output: {e}")))
        }
        Response::Error(e) => Err(user(format!("{}: {e}", file.display()))),
        _ => Err(user("unexpected answer from the daemon")),
    }
}

/// One earlier answer as `otklik similar --json` prints it.
#[derive(Debug, Serialize)]
struct SimilarJson<'a> {
    id: &'a str,
    score: f64,
    topic: &'a str,
    location: &'a str,
    text: &'a str,
    answer: &'a str,
}

/// `otklik similar [--json] FILE.eml`: the notification read as `route` reads it, the
/// archive asked (the running service's, else one built from the store), the threshold
/// applied as for a new case.
fn similar(cli: &Cli, file: &Path, json: bool, out: &mut dyn Write) -> Result<(), UserError> {
    let config = load_config(&cli.config, SecretCheck::Lenient)?;
    let raw = std::fs::read(file).map_err(|e| user(format!("{}: {e}", file.display())))?;
    let mail = Inbound::parse(&raw).map_err(|e| user(format!("{}: {e}", file.display())))?;
    let arrival = mail.date.unwrap_or_else(Utc::now);
    let questions = decide::questions(&mail, &config, arrival);
    let query = match questions.similar_to {
        Some(q) => q,
        None => {
            // Not from a monitoring sender: still read it as a notification if it is one.
            let n = intake::parse_notification(
                &mail,
                &config.intake.labels,
                config.intake.source_timezone,
                arrival,
            )
            .map_err(|e| user(format!("{}: not a notification: {e}", file.display())))?;
            otklik_core::archive::Query {
                text: n.text,
                topic: n.topic.unwrap_or_default(),
                location: n.location.unwrap_or_default(),
            }
        }
    };
    let found = match Source::open(&config) {
        Ok(source) => match source.ask(Request::Similar(Box::new(query)))? {
            Response::Similar(s) => s,
            _ => return Err(user("unexpected answer from the daemon")),
        },
        // No store yet: nothing archived.
        Err(_) => Vec::new(),
    };
    let offered = otklik_core::archive::offered(&found, config.archive.threshold, "");
    let io = |e: std::io::Error| user(format!("output: {e}"));
    if json {
        let views: Vec<SimilarJson> = offered
            .iter()
            .map(|s| SimilarJson {
                id: &s.id,
                score: (s.score * 1000.0).round() / 1000.0,
                topic: &s.topic,
                location: &s.location,
                text: &s.text,
                answer: &s.answer,
            })
            .collect();
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&views).map_err(|e| user(e.to_string()))?
        )
        .map_err(io)
    } else if offered.is_empty() {
        writeln!(
            out,
            "nothing above the threshold {}",
            config.archive.threshold
        )
        .map_err(io)
    } else {
        for s in &offered {
            writeln!(
                out,
                "{}  {:.2}  {} — {}\n  {}\n  > {}",
                s.id,
                s.score,
                s.topic,
                s.location,
                s.text.replace('\n', " "),
                s.answer.replace('\n', "\n  > ")
            )
            .map_err(io)?;
        }
        Ok(())
    }
}
