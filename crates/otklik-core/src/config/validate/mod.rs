//! From the raw TOML to the runtime [`Config`], collecting every problem of the file.

mod calendar;
mod ctx;
mod deadlines;
mod intake;
mod people;
mod routing;
mod servers;
mod service;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::config::raw::{
    RawArchive, RawCalendar, RawDeadlines, RawEscalation, RawExecutor, RawImap, RawIntake,
    RawPeople, RawRouting, RawRule, RawService, RawSmtp,
};
use crate::config::{Config, ConfigError, Environment, Problem, SecretCheck};
use calendar::calendar;
pub use ctx::line_col;
use ctx::{Ctx, key_path};
use deadlines::{deadlines, escalations};
use intake::intake;
use people::{executors, people};
use routing::{routing, rules};
use servers::{imap, smtp};
use service::service;

const SECTIONS: &str = "service, imap, smtp, calendar, deadlines, people, executors, rules, \
                        escalations, intake, routing, archive";

/// The sections as deserialized.
#[derive(Default)]
struct Raw {
    service: Option<Spanned<RawService>>,
    imap: Option<Spanned<RawImap>>,
    smtp: Option<Spanned<RawSmtp>>,
    calendar: Option<Spanned<RawCalendar>>,
    deadlines: Option<Spanned<RawDeadlines>>,
    people: Option<Spanned<RawPeople>>,
    executors: Vec<(usize, Spanned<RawExecutor>)>,
    rules: Vec<(usize, Spanned<RawRule>)>,
    escalations: Vec<(usize, Spanned<RawEscalation>)>,
    intake: Option<Spanned<RawIntake>>,
    routing: Option<Spanned<RawRouting>>,
    archive: Option<Spanned<RawArchive>>,
    /// Ids of `[[executors]]` entries that failed to deserialize (so rules naming them are
    /// not reported as undefined on top).
    broken_executor_ids: HashSet<String>,
    /// Sections present in the file (a present section that failed to deserialize has
    /// already been reported and is not "missing").
    present: HashSet<String>,
}

pub(super) fn validate(
    text: &str,
    path: &Path,
    secrets: SecretCheck,
    env: &dyn Environment,
) -> Result<Config, ConfigError> {
    // A byte order mark (Windows editors) is neither TOML nor a column.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut cx = Ctx {
        text,
        path,
        dir,
        secrets,
        env,
        problems: Vec::new(),
        dropped: HashSet::new(),
    };
    let (doc, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            let mut key = String::new();
            key_path(&DeValue::Table(doc.get_ref().clone()), span.start, &mut key);
            cx.at(span, &key, format!("TOML syntax: {}", e.message().trim()));
        }
        return Err(finish(cx.problems));
    }
    let mut raw = Raw::default();
    for (k, v) in doc.get_ref().iter() {
        let name: &str = k.get_ref();
        raw.present.insert(name.to_string());
        match name {
            "service" => raw.service = cx.section(v, name),
            "imap" => raw.imap = cx.section(v, name),
            "smtp" => raw.smtp = cx.section(v, name),
            "calendar" => raw.calendar = cx.section(v, name),
            "deadlines" => raw.deadlines = cx.section(v, name),
            "people" => raw.people = cx.section(v, name),
            "intake" => raw.intake = cx.section(v, name),
            "routing" => raw.routing = cx.section(v, name),
            "archive" => raw.archive = cx.section(v, name),
            "executors" => {
                raw.executors = cx.array(v, name);
                if let Some(items) = v.get_ref().as_array() {
                    let ok: HashSet<usize> = raw.executors.iter().map(|(i, _)| *i).collect();
                    for (i, item) in items.iter().enumerate() {
                        if ok.contains(&i) {
                            continue;
                        }
                        if let Some(id) = item
                            .get_ref()
                            .as_table()
                            .and_then(|t| t.get("id"))
                            .and_then(|id| id.get_ref().as_str())
                        {
                            raw.broken_executor_ids.insert(id.trim().to_string());
                        }
                    }
                }
            }
            "rules" => raw.rules = cx.array(v, name),
            "escalations" => raw.escalations = cx.array(v, name),
            other => cx.at(
                k.span(),
                other,
                format!("unknown section {other:?}; expected one of {SECTIONS}"),
            ),
        }
    }
    let config = build(&mut cx, raw);
    match config {
        Some(c) if cx.problems.is_empty() => Ok(c),
        _ => {
            if cx.problems.is_empty() {
                cx.at(0..0, "", "invalid configuration");
            }
            Err(finish(cx.problems))
        }
    }
}

fn finish(mut problems: Vec<Problem>) -> ConfigError {
    problems.sort_by_key(|p| (p.line, p.col));
    ConfigError { problems }
}

fn missing_section(cx: &mut Ctx<'_>, present: &HashSet<String>, name: &str) {
    if present.contains(name) {
        return;
    }
    cx.at(0..0, name, format!("missing required section [{name}]"));
}

fn build(cx: &mut Ctx<'_>, raw: Raw) -> Option<Config> {
    let service = service(cx, raw.service);
    let imap = match &raw.imap {
        Some(s) => imap(cx, s),
        None => {
            missing_section(cx, &raw.present, "imap");
            None
        }
    };
    let smtp = match &raw.smtp {
        Some(s) => smtp(cx, s),
        None => {
            missing_section(cx, &raw.present, "smtp");
            None
        }
    };
    let calendar = match &raw.calendar {
        Some(c) => calendar(cx, c),
        None => {
            missing_section(cx, &raw.present, "calendar");
            None
        }
    };
    let deadlines = deadlines(cx, raw.deadlines.as_ref());
    let people = match &raw.people {
        Some(p) => people(cx, p),
        None => {
            missing_section(cx, &raw.present, "people");
            None
        }
    };
    let executors = executors(cx, &raw.executors, &raw.broken_executor_ids);
    let mut known: HashSet<String> = executors.iter().map(|e| e.id.clone()).collect();
    known.extend(raw.broken_executor_ids.iter().cloned());
    // The coordinator's deputy named by an executor id: that executor must exist.
    if let Some(d) = raw
        .people
        .as_ref()
        .and_then(|p| p.get_ref().coordinator.as_ref())
        .and_then(|c| c.get_ref().deputy.as_ref())
    {
        let id = d.get_ref().trim();
        if !id.contains('@') && people::valid_id(id) && !known.contains(id) {
            cx.at(
                d.span(),
                "people.coordinator.deputy",
                format!("no executor has id {id:?} (give an executor id or an email address)"),
            );
        }
    }
    let rules = rules(cx, &raw.rules, &known);
    let routing = routing(cx, raw.routing.as_ref(), &known);
    // A [people] that failed to deserialize is already reported: do not guess at it.
    let has_supervisor = match &raw.people {
        Some(p) => p.get_ref().supervisor.is_some() || cx.was_dropped("people.supervisor"),
        None => raw.present.contains("people"),
    };
    let escalations = escalations(cx, &raw.escalations, has_supervisor);
    let zone = calendar.as_ref().map(|c| c.timezone());
    let intake = match &raw.intake {
        Some(i) => intake(cx, i, zone),
        None => {
            missing_section(cx, &raw.present, "intake");
            None
        }
    };
    let archive = archive(cx, raw.archive.as_ref());
    Some(Config {
        path: cx.path.to_path_buf(),
        service: service?,
        imap: imap?,
        smtp: smtp?,
        calendar: calendar?,
        deadlines: deadlines?,
        people: people?,
        executors,
        rules,
        escalations,
        intake: intake?,
        routing: routing?,
        archive,
    })
}

/// `[archive]`: the threshold is a similarity, above 0 and at most 1.
fn archive(cx: &mut Ctx<'_>, s: Option<&Spanned<RawArchive>>) -> crate::config::ArchiveConfig {
    let mut a = crate::config::ArchiveConfig::default();
    if let Some(t) = s.and_then(|s| s.get_ref().threshold.as_ref()) {
        let v = *t.get_ref();
        if v > 0.0 && v <= 1.0 {
            a.threshold = v;
        } else {
            cx.at(
                t.span(),
                "archive.threshold",
                format!("{v} is no similarity: give a number above 0 and at most 1, such as 0.2"),
            );
        }
    }
    a
}
