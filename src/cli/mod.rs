//! The command line (README, "Commands"): raw arguments here, validated config from `config`.
//! Exit status: 0 success, 1 user error (one line on stderr saying what and where),
//! 2 usage error (clap).

mod archive;
mod cases;
mod report;
mod route;
mod status;
mod tools;

pub use cases::{CaseJson, DeadlinesJson, HistoryJson, MailJson, case_line, case_text, mail_line};
pub use status::{ImapJson, STATUS_TIMEOUT, StatusJson, status};

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use clap::{Parser, Subcommand, ValueEnum};

use otklik_core::config::{Config, SecretCheck};
use otklik_core::workflow::Case;

use crate::config;
use crate::control::{self, Request, Response};
use crate::store::Store;
use crate::term::{Mode, TermSafe};

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
#[allow(missing_docs)] // clap: doc comments here would become --help text
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
#[allow(missing_docs)] // clap: doc comments here would become --help text
pub enum LogFormat {
    /// journald fields under systemd, human-readable otherwise.
    Auto,
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(missing_docs)] // clap: doc comments here would become --help text
pub enum ReportFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
#[allow(missing_docs)] // clap: doc comments here would become --help text
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
#[allow(missing_docs)] // clap: doc comments here would become --help text
pub enum ArchiveCommand {
    /// Import earlier posts and their approved answers: JSON Lines (`.jsonl`, `.json`) or
    /// `;`-separated CSV as Excel saves it (`.csv`), else told by content. Columns: id,
    /// topic, location, text, answer, optional date and executor. All rows or none.
    Import { file: PathBuf },
}

/// What `otklik generate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(missing_docs)] // clap: doc comments here would become --help text
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

/// Reads and validates the configuration at `path`; any problem is a user error.
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
    match &cli.command {
        Command::Run { .. } => Err(user("`run` is started by main")),
        Command::Status { .. } => Err(user("`status` is answered by main")),
        Command::Generate { what, dir } => tools::generate_cmd(*what, dir.as_deref(), out),
        Command::CheckConfig => tools::check_config(cli, out),
        Command::Deadline { from, add } => tools::deadline(cli, from, add, out),
        Command::Route { file, json } => route::route(cli, file, *json, out),
        Command::CheckStore => tools::check_store(cli, out),
        Command::Archive {
            command: ArchiveCommand::Import { file },
        } => archive::archive_import(cli, file, out),
        Command::Similar { file, json } => archive::similar(cli, file, *json, out),
        Command::Cases { all, json } => cases::cases(cli, *all, *json, out),
        Command::Show { case, json } => cases::show(cli, case, *json, out),
        Command::Report { from, to, format } => report::report(cli, from, to, *format, out),
        Command::RoutingReport { from, to, json } => {
            report::routing_report(cli, from.as_deref(), to.as_deref(), *json, out)
        }
        Command::Outbox { dead, resend, json } => cases::outbox(cli, *dead, *resend, *json, out),
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
