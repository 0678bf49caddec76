//! The daily digest: at `service.digest_at` on working days, one mail to the
//! coordinator and one to the supervisor with the open cases by state, those due today,
//! the overdue ones and per-executor counts; plain text plus the same as an HTML table
//! (`multipart/alternative`).
//!
//! [`build`], [`text`], [`html`], [`due`] are pure (the time is passed in); [`run_once`]
//! reads the store, commits the mails to the outbox and remembers the date in the store's
//! meta tree, so a restart on the same day sends nothing again.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::auth::Secret;
use crate::compose::{self, ComposeError, OutMail};
use crate::config::{Config, DeadlineKind, Language};
use crate::templates::doc::{Block, Doc, Lead, Tone};
use crate::templates::{self, Rendered, deadline_name, hours_minutes, local_time};
use crate::workflow::{self, Case, State};

/// The store meta key holding the local date of the last digest sent (`YYYY-MM-DD`).
pub const LAST_DIGEST_KEY: &str = "digest_last_date";

/// One open case in a list of the digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The case's tag, `OTK-42`.
    pub id: String,
    /// The case's current state.
    pub state: State,
    /// The id of the executor holding the case, if anyone does.
    pub executor: Option<String>,
    /// The open deadline this line is about (the earliest one for the overdue list).
    pub kind: DeadlineKind,
    /// When that deadline falls.
    pub deadline: DateTime<Utc>,
    /// The notification's topic and location (`topic — location`), else its link.
    pub headline: String,
}

/// Per-executor counts over the open cases (`-`: cases nobody holds).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutorCounts {
    /// The executor's id, or `-` for cases nobody holds.
    pub executor: String,
    /// The executor's name from the config; empty for `-` or an id no longer configured.
    pub name: String,
    /// Open cases they hold.
    pub open: u32,
    /// Of those, the cases with a deadline later today.
    pub due_today: u32,
    /// Of those, the cases with a deadline already passed.
    pub overdue: u32,
}

/// What a digest says, before any wording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// The local date (in the calendar's time zone) the digest is for.
    pub date: NaiveDate,
    /// The instant the digest was made; "overdue" and "today" are judged against it.
    pub now: DateTime<Utc>,
    /// How many cases are open (not closed, not excluded).
    pub open: u32,
    /// Open cases per state, in workflow order.
    pub by_state: Vec<(State, u32)>,
    /// Open deadlines that fall later today (local date), earliest first.
    pub due_today: Vec<Line>,
    /// Cases with an open deadline already passed, the most overdue first.
    pub overdue: Vec<Line>,
    /// Counts per executor, by executor id (`-` for the unassigned).
    pub executors: Vec<ExecutorCounts>,
}

const STATES: [State; 6] = [
    State::Unassigned,
    State::Assigned,
    State::DraftSubmitted,
    State::Rework,
    State::InterimApproved,
    State::Approved,
];

const KINDS: [DeadlineKind; 4] = [
    DeadlineKind::Draft,
    DeadlineKind::Answer,
    DeadlineKind::Rework,
    DeadlineKind::Final,
];

fn headline(case: &Case) -> String {
    let n = &case.notification;
    match (&n.topic, &n.location) {
        (Some(t), Some(l)) => format!("{t} — {l}"),
        (Some(t), None) => t.clone(),
        (None, Some(l)) => l.clone(),
        (None, None) => n.link.clone().unwrap_or_default(),
    }
}

/// The digest of `cases` (any; closed and excluded ones are skipped) at `now`.
pub fn build(config: &Config, cases: &[Case], now: DateTime<Utc>) -> Digest {
    let date = workflow::local_date(config, now);
    let mut by_state: BTreeMap<usize, u32> = BTreeMap::new();
    let mut due_today = Vec::new();
    let mut overdue = Vec::new();
    let mut executors: BTreeMap<String, ExecutorCounts> = BTreeMap::new();
    let mut open = 0;
    for case in cases.iter().filter(|c| c.state.is_open()) {
        open += 1;
        if let Some(i) = STATES.iter().position(|s| *s == case.state) {
            *by_state.entry(i).or_default() += 1;
        }
        let key = case.executor.clone().unwrap_or_else(|| "-".into());
        let counts = executors
            .entry(key.clone())
            .or_insert_with(|| ExecutorCounts {
                name: config
                    .executor(&key)
                    .map(|e| e.name.clone())
                    .unwrap_or_default(),
                executor: key,
                ..ExecutorCounts::default()
            });
        counts.open += 1;
        let line = |kind, deadline| Line {
            id: case.id.clone(),
            state: case.state,
            executor: case.executor.clone(),
            kind,
            deadline,
            headline: headline(case),
        };
        let open_deadlines: Vec<(DeadlineKind, DateTime<Utc>)> = KINDS
            .iter()
            .filter_map(|k| workflow::open_deadline(case, *k).map(|d| (*k, d)))
            .collect();
        // Overdue: the earliest passed deadline stands for the case (listed once).
        if let Some((kind, d)) = open_deadlines
            .iter()
            .filter(|(_, d)| *d <= now)
            .min_by_key(|(_, d)| *d)
        {
            overdue.push(line(*kind, *d));
            counts.overdue += 1;
        }
        let today: Vec<&(DeadlineKind, DateTime<Utc>)> = open_deadlines
            .iter()
            .filter(|(_, d)| *d > now && workflow::local_date(config, *d) == date)
            .collect();
        if !today.is_empty() {
            counts.due_today += 1;
        }
        for (kind, d) in today {
            due_today.push(line(*kind, *d));
        }
    }
    due_today.sort_by(|a, b| (a.deadline, &a.id).cmp(&(b.deadline, &b.id)));
    overdue.sort_by(|a, b| (a.deadline, &a.id).cmp(&(b.deadline, &b.id)));
    Digest {
        date,
        now,
        open,
        by_state: by_state.into_iter().map(|(i, n)| (STATES[i], n)).collect(),
        due_today,
        overdue,
        executors: executors.into_values().collect(),
    }
}

/// The subject: `[PREFIX] Сводка на пт 06.11.2026: 12 открытых, 3 просрочено`.
pub fn subject(config: &Config, d: &Digest) -> String {
    let lang = config.service.language;
    let day = local_time(config, d.now);
    let day = day.rsplit_once(' ').map(|(a, _)| a).unwrap_or(&day);
    format!(
        "[{}] {} {day}: {} {}, {} {}",
        config.service.case_prefix,
        templates::tr(lang, "Сводка на", "Digest for"),
        d.open,
        templates::tr(lang, "открытых", "open"),
        d.overdue.len(),
        templates::tr(lang, "просрочено", "overdue"),
    )
}

/// Why a line is listed, e.g. `срок ответа пт 06.11.2026 15:15, просрочено на 1 ч 05 мин`.
fn line_status(config: &Config, l: &Line, now: DateTime<Utc>) -> String {
    let lang = config.service.language;
    let cal = &config.calendar;
    let (word, span) = if l.deadline <= now {
        (
            templates::tr(lang, "просрочено на", "overdue by"),
            cal.working_time_between(l.deadline, now),
        )
    } else {
        (
            templates::tr(lang, "осталось", "left"),
            cal.working_time_between(now, l.deadline),
        )
    };
    format!(
        "{} {}, {word} {}",
        deadline_name(lang, l.kind),
        local_time(config, l.deadline),
        hours_minutes(lang, span)
    )
}

fn executor_label(config: &Config, id: Option<&str>) -> String {
    match id {
        None => "-".into(),
        Some(id) => config
            .executor(id)
            .map(|e| format!("{} ({id})", e.name))
            .unwrap_or_else(|| id.to_string()),
    }
}

/// The plain-text body.
pub fn text(config: &Config, d: &Digest) -> String {
    let lang = config.service.language;
    let mut s = format!(
        "{} {}\n\n",
        templates::tr(lang, "Сводка по обращениям на", "Digest of cases at"),
        local_time(config, d.now)
    );
    s.push_str(&format!(
        "{}: {}\n",
        templates::tr(lang, "Открытых дел", "Open cases"),
        d.open
    ));
    for (state, n) in &d.by_state {
        s.push_str(&format!(
            "  {}: {n}\n",
            templates::state_label(lang, *state)
        ));
    }
    let list = |s: &mut String, title: &str, lines: &[Line]| {
        s.push_str(&format!("\n{title}: {}\n", lines.len()));
        for l in lines {
            s.push_str(&format!(
                "  {} — {}; {}; {}\n",
                l.id,
                l.headline,
                executor_label(config, l.executor.as_deref()),
                line_status(config, l, d.now)
            ));
        }
    };
    list(
        &mut s,
        templates::tr(lang, "Срок сегодня", "Due today"),
        &d.due_today,
    );
    list(
        &mut s,
        templates::tr(lang, "Просрочено", "Overdue"),
        &d.overdue,
    );
    s.push_str(&format!(
        "\n{}:\n",
        templates::tr(lang, "По исполнителям", "By executor")
    ));
    for e in &d.executors {
        s.push_str(&format!(
            "  {}: {} {}, {} {}, {} {}\n",
            executor_label(config, (e.executor != "-").then_some(e.executor.as_str())),
            templates::tr(lang, "открыто", "open"),
            e.open,
            templates::tr(lang, "срок сегодня", "due today"),
            e.due_today,
            templates::tr(lang, "просрочено", "overdue"),
            e.overdue
        ));
    }
    s
}

/// The HTML body: the same content as [`text`], as tables in the layout of every mail.
pub fn html(config: &Config, d: &Digest) -> String {
    let lang = config.service.language;
    let tr = |ru: &'static str, en: &'static str| templates::tr(lang, ru, en).to_string();
    let title = format!(
        "{} {}",
        tr("Сводка по обращениям на", "Digest of cases at"),
        local_time(config, d.now)
    );
    let mut doc = Doc::new(
        lang == Language::Ru,
        title.clone(),
        tr(
            "otklik — работа с сообщениями из открытых источников.",
            "otklik — answering posts from open sources.",
        ),
    );
    doc.lead = Some(Lead {
        ask: format!(
            "{}: {}, {}: {}, {}: {}",
            tr("Открытых дел", "Open cases"),
            d.open,
            tr("срок сегодня", "due today"),
            d.due_today.len(),
            tr("просрочено", "overdue"),
            d.overdue.len()
        ),
        due: Some(title),
        tone: if d.overdue.is_empty() {
            Tone::Info
        } else {
            Tone::Late
        },
    });
    let mut states: Vec<Vec<String>> = d
        .by_state
        .iter()
        .map(|(st, n)| vec![templates::state_label(lang, *st).to_string(), n.to_string()])
        .collect();
    states.push(vec![tr("всего", "total"), d.open.to_string()]);
    doc.push(Block::Table {
        title: tr("Открытые дела", "Open cases"),
        head: vec![tr("Состояние", "State"), tr("Дел", "Cases")],
        rows: states,
    });
    let head = vec![
        tr("Дело", "Case"),
        tr("Сообщение", "Post"),
        tr("Исполнитель", "Executor"),
        tr("Срок", "Deadline"),
    ];
    for (title, lines) in [
        (tr("Срок сегодня", "Due today"), &d.due_today),
        (tr("Просрочено", "Overdue"), &d.overdue),
    ] {
        let rows: Vec<Vec<String>> = lines
            .iter()
            .map(|l| {
                vec![
                    l.id.clone(),
                    l.headline.clone(),
                    executor_label(config, l.executor.as_deref()),
                    line_status(config, l, d.now),
                ]
            })
            .collect();
        doc.push(Block::Table {
            title: format!("{title}: {}", lines.len()),
            head: head.clone(),
            rows,
        });
    }
    let rows: Vec<Vec<String>> = d
        .executors
        .iter()
        .map(|e| {
            vec![
                executor_label(config, (e.executor != "-").then_some(e.executor.as_str())),
                e.open.to_string(),
                e.due_today.to_string(),
                e.overdue.to_string(),
            ]
        })
        .collect();
    doc.push(Block::Table {
        title: tr("По исполнителям", "By executor"),
        head: vec![
            tr("Исполнитель", "Executor"),
            tr("Открыто", "Open"),
            tr("Срок сегодня", "Due today"),
            tr("Просрочено", "Overdue"),
        ],
        rows,
    });
    doc.html()
}

/// The local date a digest is due for at `now`, if one is: `digest_at` is set, today is a
/// working day, its local time is at or past `digest_at`, and none was sent today (`last`).
/// A service down at `digest_at` sends the day's digest when it comes back the same day.
pub fn due(config: &Config, last: Option<NaiveDate>, now: DateTime<Utc>) -> Option<NaiveDate> {
    let at = config.service.digest_at?;
    let local = now.with_timezone(&config.calendar.timezone());
    let date = local.date_naive();
    (config.calendar.is_working_day(date) && local.time() >= at && last != Some(date))
        .then_some(date)
}

/// The coordinator and the supervisor (once each, in that order).
pub fn recipients(config: &Config) -> Vec<String> {
    let mut to = vec![config.people.coordinator.email.clone()];
    if let Some(s) = &config.people.supervisor
        && !to.contains(&s.email)
    {
        to.push(s.email.clone());
    }
    to
}

/// The digest mail for one recipient: `multipart/alternative` (text, HTML), with the
/// headers of every service mail (compose) for mail about no case (case 0 in the
/// Message-ID, no thread, no `X-Otklik-Case`).
pub fn mail(
    config: &Config,
    secret: &Secret,
    d: &Digest,
    to: &str,
    nonce: u64,
) -> Result<OutMail, ComposeError> {
    let content = Rendered {
        subject: subject(config, d),
        text: text(config, d),
        html: Some(html(config, d)),
        attachments: Vec::new(),
        calendar: None,
    };
    let envelope = compose::Envelope {
        config,
        secret,
        case: 0,
        case_id: None,
        to,
        nonce,
        now: d.now,
    };
    compose::build(&envelope, &content)
}
