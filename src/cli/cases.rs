//! The commands that show cases and mail: `cases`, `show`, `outbox`, and the lines and JSON
//! they print.

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;

use otklik_core::config::{Config, SecretCheck};
use otklik_core::templates::local_time;
use otklik_core::workflow::Case;

use super::{Cli, Source, UserError, load_config, user};
use crate::control::{Request, Response};
use crate::outbox::Listed;

/// `otklik cases [--all] [--json]`.
pub(super) fn cases(
    cli: &Cli,
    all: bool,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), UserError> {
    let config = load_config(&cli.config, SecretCheck::Lenient)?;
    let cases = Source::open(&config)?.cases(all)?;
    print_list(
        out,
        json,
        &cases,
        |c| CaseJson::new(&config, c),
        |c| case_line(&config, c),
    )
}

/// `otklik show CASE [--json]`.
pub(super) fn show(
    cli: &Cli,
    case: &str,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), UserError> {
    let io = |e: std::io::Error| user(format!("output: {e}"));
    let config = load_config(&cli.config, SecretCheck::Lenient)?;
    let number = case_number(&config, case)?;
    let source = Source::open(&config)?;
    let found = match source.ask(Request::Case { number })? {
        Response::Case(c) => c,
        _ => None,
    };
    let c = found.ok_or_else(|| user(format!("no case {case}")))?;
    if json {
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

/// `otklik outbox [--dead] [--resend ID] [--json]`.
pub(super) fn outbox(
    cli: &Cli,
    dead: bool,
    resend: Option<u64>,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), UserError> {
    let io = |e: std::io::Error| user(format!("output: {e}"));
    let config = load_config(&cli.config, SecretCheck::Lenient)?;
    let source = Source::open(&config)?;
    if let Some(seq) = resend {
        return match source.ask(Request::Resend { seq })? {
            Response::Resent { seq } => {
                writeln!(out, "mail {seq} queued again; it is sent shortly").map_err(io)
            }
            _ => Err(user("unexpected answer from the daemon")),
        };
    }
    let mails = match source.ask(Request::Outbox { dead_only: dead })? {
        Response::Outbox(m) => m,
        _ => return Err(user("unexpected answer from the daemon")),
    };
    print_list(
        out,
        json,
        &mails,
        |m| MailJson::new(&config, m),
        |m| mail_line(&config, m),
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
    /// Its number in the outbox.
    pub seq: u64,
    /// Queued or dead.
    pub state: &'static str,
    /// The recipients.
    pub to: Vec<String>,
    /// The case it is about (`OTK-42`), if any.
    pub case: Option<String>,
    /// The decoded subject.
    pub subject: String,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// The last delivery error, if any.
    pub last_error: Option<String>,
    /// When the next attempt is due, if it is queued.
    pub next_attempt: Option<String>,
}

impl MailJson {
    /// The JSON of outbox mail `m`.
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

/// One line of `otklik cases`: id, state, executor, next deadline, topic.
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

/// The text of `otklik show`: the case, its deadlines and its history.
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

/// The JSON of a case's deadlines; times in the calendar's zone.
#[derive(Debug, Serialize)]
pub struct DeadlinesJson {
    /// The draft deadline.
    pub draft: Option<String>,
    /// The answer deadline.
    pub answer: Option<String>,
    /// The rework deadline, while a draft is returned.
    pub rework: Option<String>,
    /// The final-answer deadline, after an interim answer.
    #[serde(rename = "final")]
    pub final_: Option<String>,
}

/// The JSON of one history entry.
#[derive(Debug, Serialize)]
pub struct HistoryJson {
    /// When it happened, in the calendar's zone.
    pub at: String,
    /// What happened (the history event's name).
    pub event: String,
    /// Who did it.
    pub by: String,
    /// The details.
    pub detail: String,
}

/// The JSON of a case (docs/states.md); times in the calendar's zone.
#[derive(Debug, Serialize)]
pub struct CaseJson {
    /// The case id (`OTK-42`).
    pub id: String,
    /// The state's name.
    pub state: String,
    /// The executor's id, if someone holds it.
    pub executor: Option<String>,
    /// The post's topic.
    pub topic: Option<String>,
    /// The post's location.
    pub location: Option<String>,
    /// The post's category.
    pub category: Option<String>,
    /// The platform's id of the post.
    pub source_id: Option<String>,
    /// The link to the post.
    pub link: Option<String>,
    /// The post's author.
    pub author: Option<String>,
    /// When the post was detected.
    pub detected_at: String,
    /// The earlier case it repeats, if any.
    pub repeat_of: Option<String>,
    /// The case's deadlines.
    pub deadlines: DeadlinesJson,
    /// When the answer (or interim answer) was posted (`ОПУБЛИКОВАНО`), else `null`.
    pub published_at: Option<String>,
    /// Cl. 9: when the final draft after an approved interim answer reached the coordinator
    /// (what the final deadline judges), else `null`.
    pub final_draft_at: Option<String>,
    /// How many drafts went to the coordinator for approval (the current approval round).
    pub approval_round: u64,
    /// The case's history, oldest first.
    pub history: Vec<HistoryJson>,
    /// Where the post was published (the platform's source).
    pub source: Option<String>,
    /// The post's text.
    pub text: String,
    /// The names of the post's attachments.
    pub attachments: Vec<String>,
}

impl CaseJson {
    /// The JSON of case `c`.
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
            final_draft_at: c.final_draft_at.map(t),
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

/// A list as one pretty JSON array, or a line an item.
fn print_list<T, J: serde::Serialize>(
    out: &mut dyn Write,
    json: bool,
    items: &[T],
    to_json: impl Fn(&T) -> J,
    line: impl Fn(&T) -> String,
) -> Result<(), UserError> {
    let io = |e: std::io::Error| user(format!("output: {e}"));
    if json {
        let views: Vec<J> = items.iter().map(to_json).collect();
        let text = serde_json::to_string_pretty(&views).map_err(|e| user(e.to_string()))?;
        return writeln!(out, "{text}").map_err(io);
    }
    for item in items {
        writeln!(out, "{}", line(item)).map_err(io)?;
    }
    Ok(())
}
