//! `otklik status`: the running service's health for monitoring, one line or JSON, and the
//! Nagios exit status.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use otklik_core::config::SecretCheck;
use otklik_core::status::{Level, evaluate, not_running};

use super::{Cli, load_config};
use crate::control::{self, Request, Response};
use crate::term::{Mode, TermSafe};

/// How long `otklik status` waits for the service's answer: a check must say something
/// before the monitoring system's own timeout (10 s for Nagios and Zabbix).
pub const STATUS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(8);

/// The JSON of `otklik status --json`; times in the calendar's zone. The facts are null
/// when the service does not answer.
#[derive(Debug, Serialize)]
pub struct StatusJson {
    /// OK, WARNING, CRITICAL or UNKNOWN.
    pub status: Level,
    /// The Nagios exit status of that level.
    pub code: u8,
    /// The one line `otklik status` prints.
    pub line: String,
    /// Whether a service answered on the control socket.
    pub running: bool,
    /// What made the level worse than OK.
    pub problems: Vec<String>,
    /// When the service started.
    pub up_since: Option<String>,
    /// The IMAP watcher's state.
    pub imap: Option<ImapJson>,
    /// How many cases are open.
    pub open_cases: Option<usize>,
    /// The ids of the open cases past a deadline.
    pub overdue_cases: Vec<String>,
    /// How many mails wait in the outbox.
    pub outbox: Option<usize>,
    /// When the oldest of them was queued.
    pub outbox_oldest: Option<String>,
    /// How long the oldest of them has waited, in seconds.
    pub outbox_wait_seconds: Option<i64>,
    /// How many mails were refused for good.
    pub dead_letters: Option<usize>,
    /// When the last daily digest went out.
    pub last_digest: Option<String>,
}

/// The IMAP part of `otklik status --json`.
#[derive(Debug, Serialize)]
pub struct ImapJson {
    /// What the watcher is doing.
    pub state: String,
    /// Whether it is connected now.
    pub connected: bool,
    /// When it last heard from the server.
    pub last_contact: Option<String>,
    /// How long it has been without a connection, in seconds.
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
