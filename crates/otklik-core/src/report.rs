//! Per-executor record (clause 13; `otklik report`). Pure: cases in, rows out.
//!
//! CSV: UTF-8 with a BOM (without it Excel reads UTF-8 as the ANSI code page and the names
//! come out garbled), CRLF line ends, fields quoted when they hold the separator, a quote or
//! a line break. In Russian (`language = "ru"`): `;` as the separator and a decimal comma,
//! which is what Excel with Russian regional settings opens by double-click without an
//! import dialog (its list separator is `;` because the decimal separator is `,`). In
//! English: `,` and a decimal point, what Excel with English settings expects. LibreOffice
//! Calc detects both in its import dialog.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::config::{Config, Language};
use crate::workflow::{Case, HistoryEvent, State};

/// One executor's record over a period; each deadline counts toward whoever held the case
/// when it was met or fell due.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Row {
    /// The executor's id, or `-` for what no executor held: cases nobody held, and the
    /// steps after a final draft that came in time (the coordinator's approval and the
    /// posting, cl. 9), which are never counted against the executor.
    pub executor: String,
    /// The executor's name from the config; empty when unknown.
    pub name: String,
    /// Cases detected in the period that this executor holds now, excluded ones included.
    pub cases: u32,
    /// Answers approved by the answer deadline.
    pub answered_on_time: u32,
    /// Answers approved after the answer deadline.
    pub answered_late: u32,
    /// Not answered, and the answer deadline has not passed at the report time (or no
    /// report time was given): counted neither on time nor late.
    pub pending: u32,
    /// Open, not answered, and the answer deadline already passed at the report time:
    /// late in the making (not in the on-time rate until it is answered).
    pub overdue: u32,
    /// First drafts submitted by the draft deadline.
    pub draft_on_time: u32,
    /// Approved on time over approved, in per cent, one decimal; `None` when none was approved.
    pub on_time_rate: Option<f64>,
    /// Mean working hours from detection to the first draft, one decimal.
    pub avg_hours_to_draft: Option<f64>,
    /// Longest working hours from detection to the first draft, one decimal.
    pub worst_hours_to_draft: Option<f64>,
    /// Mean working hours from detection to the answer's approval, one decimal.
    pub avg_hours_to_approval: Option<f64>,
    /// Longest working hours from detection to the answer's approval, one decimal.
    pub worst_hours_to_approval: Option<f64>,
    /// Cases excluded under clause 12 (not to be answered).
    pub excluded: u32,
    /// Cases opened as a repeat of an earlier one by the same author on the same topic.
    pub repeats: u32,
    /// The answer (or interim answer) posted (`ОПУБЛИКОВАНО`) by the answer deadline, or
    /// after it; `answered_*` count approval, these count posting (cl. 6).
    pub posted_on_time: u32,
    /// Answers posted after the answer deadline.
    pub posted_late: u32,
    /// Reworked drafts back within the rework deadline (cl. 8), or after it (or still
    /// owed past it).
    pub rework_on_time: u32,
    /// Reworked drafts back after the rework deadline, or still owed past it.
    pub rework_late: u32,
    /// Final answers after an interim one posted within the final deadline (cl. 9), or after
    /// it (or still owed past it).
    pub final_on_time: u32,
    /// Final answers posted after the final deadline, or still owed past it.
    pub final_late: u32,
    /// Posted on time over posted, in per cent.
    pub posted_rate: Option<f64>,
    /// Cases taken in only after their first deadline had passed (the notification
    /// arrived late); their late deadlines count toward the executor first given the case,
    /// and this column says how many of them there were.
    pub arrived_late: u32,
    /// First drafts that reached the coordinator after the draft deadline (cl. 7), or are
    /// still owed past it.
    pub draft_late: u32,
    /// Final drafts after an interim answer that reached the coordinator by the final
    /// deadline (cl. 9: the executor's part; the approval and posting are not theirs).
    pub final_draft_on_time: u32,
    /// Final drafts that reached the coordinator after the final deadline, or are still
    /// owed past it.
    pub final_draft_late: u32,
    /// Cases closed by `ЗАКРЫТЬ` without an answer posted (or without the final answer
    /// after an interim one), counted toward whoever held the case when it was closed.
    pub closed_unanswered: u32,
    /// Those cases with the reasons given for closing them: `OTK-5: reason`.
    pub closed_reasons: Vec<String>,
}

/// Who held the case at `t`, by its history (`assigned` "to ID …" and `declined` entries);
/// a case without `assigned` entries counts toward its current executor. A deadline that
/// fell before the case's first assignment (the notification was taken in late: the
/// service was down, the mail was delayed, the coordinator assigned it later) counts
/// toward the executor the case was first given to.
pub fn holder_at(case: &Case, t: DateTime<Utc>) -> Option<String> {
    let assigned_to = |h: &crate::workflow::HistoryEntry| {
        h.detail
            .strip_prefix("to ")
            .and_then(|rest| rest.split([' ', ',']).next())
            .filter(|id| !id.is_empty())
            .map(str::to_string)
    };
    let Some(first) = case
        .history
        .iter()
        .find(|h| h.event == HistoryEvent::Assigned)
    else {
        return case.executor.clone();
    };
    if t < first.at {
        return assigned_to(first);
    }
    let mut holder = None;
    for h in case.history.iter().take_while(|h| h.at <= t) {
        match h.event {
            HistoryEvent::Assigned => holder = assigned_to(h),
            HistoryEvent::Declined => holder = None,
            _ => {}
        }
    }
    holder
}

/// Was the case taken in (its `created` entry) only after its first deadline (the draft
/// deadline, or the answer deadline where there is none) had already passed?
pub fn arrived_late(case: &Case) -> bool {
    let first_due = case.deadlines.draft.or(case.deadlines.answer);
    let taken_in = case
        .history
        .iter()
        .find(|h| h.event == HistoryEvent::Created)
        .map(|h| h.at);
    matches!((taken_in, first_due), (Some(t), Some(due)) if t > due)
}

/// A case closed by `ЗАКРЫТЬ` without an answer posted, or without the final answer an
/// interim one promised: when it was closed and the reason given. Excluded cases (cl. 12)
/// are not answered by rule and are not among them.
pub fn closed_unanswered(case: &Case) -> Option<(DateTime<Utc>, String)> {
    if case.state != State::Closed {
        return None;
    }
    let owed_final = case.deadlines.final_.is_some() && case.final_published_at.is_none();
    if case.published_at.is_some() && !owed_final {
        return None;
    }
    let closed = case
        .history
        .iter()
        .rev()
        .find(|h| h.event == HistoryEvent::Closed)?;
    Some((closed.at, closed.detail.clone()))
}

/// The longest reason a report line shows, in characters.
const REASON_CHARS: usize = 200;

/// The instant a deadline is judged at: when it was met, if by then; else the deadline.
fn judged_at(met: Option<DateTime<Utc>>, due: DateTime<Utc>) -> DateTime<Utc> {
    match met {
        Some(m) if m <= due => m,
        _ => due,
    }
}

fn round1(h: f64) -> f64 {
    (h * 10.0).round() / 10.0
}

/// One row per executor (and `-` for cases nobody held), over cases detected from `from`
/// to `to` inclusive (dates in the calendar's zone). Without a report time, open cases
/// past their answer deadline count as pending; see [`build_at`].
pub fn build(config: &Config, cases: &[Case], from: NaiveDate, to: NaiveDate) -> Vec<Row> {
    build_at(config, cases, from, to, None)
}

/// [`build`], with open unanswered cases whose answer deadline passed before `now` counted
/// as `overdue` instead of `pending`.
pub fn build_at(
    config: &Config,
    cases: &[Case],
    from: NaiveDate,
    to: NaiveDate,
    now: Option<DateTime<Utc>>,
) -> Vec<Row> {
    let tz = config.calendar.timezone();
    let mut rows: BTreeMap<String, Acc> = BTreeMap::new();
    for c in cases {
        let day = c.notification.detected_at.with_timezone(&tz).date_naive();
        if day < from || day > to {
            continue;
        }
        count_case(&mut rows, config, c, now);
    }
    rows.into_values().map(Acc::into_row).collect()
}

/// An executor's id as a row's key; `-` for no executor.
fn key_of(id: Option<String>) -> String {
    id.unwrap_or_else(|| "-".into())
}

/// One case's counts, each toward whoever held the case when it was met or fell due.
fn count_case(
    rows: &mut BTreeMap<String, Acc>,
    config: &Config,
    c: &Case,
    now: Option<DateTime<Utc>>,
) {
    let current = key_of(c.executor.clone());
    {
        let row = &mut slot(rows, config, &current).row;
        row.cases += 1;
        if c.state == State::Excluded {
            row.excluded += 1;
            return;
        }
        if c.repeat_of.is_some() {
            row.repeats += 1;
        }
    }
    if arrived_late(c) {
        let first = holder_at(c, c.notification.detected_at);
        slot(rows, config, &key_of(first)).row.arrived_late += 1;
    }
    count_answer(rows, config, c, &current, now);
    let closed = count_unanswered(rows, config, c);
    let owed = |due| owed_past(c, now, closed, due);
    count_draft(rows, config, c, &current, owed);
    count_reworks(rows, config, c, now);
    count_final(rows, config, c, now, owed);
}

/// The answer deadline: answered and posted on time or late, overdue or pending; the
/// working hours to approval.
fn count_answer(
    rows: &mut BTreeMap<String, Acc>,
    config: &Config,
    c: &Case,
    current: &str,
    now: Option<DateTime<Utc>>,
) {
    let cal = &config.calendar;
    let detected = c.notification.detected_at;
    let holder = |at: DateTime<Utc>| key_of(holder_at(c, at));
    match c.deadlines.answer {
        Some(due) => {
            let who = holder(judged_at(c.answered_at, due));
            let acc = slot(rows, config, &who);
            match c.answered_at {
                Some(a) if a <= due => acc.row.answered_on_time += 1,
                Some(_) => acc.row.answered_late += 1,
                None if c.state == State::Closed => {}
                None if now.is_some_and(|now| due < now) => acc.row.overdue += 1,
                None => acc.row.pending += 1,
            }
            if let Some(a) = c.answered_at {
                acc.to_approval
                    .push(cal.working_time_between(detected, a).num_seconds() as f64 / 3600.0);
            }
            let who = holder(judged_at(c.published_at, due));
            let acc = slot(rows, config, &who);
            match c.published_at {
                Some(p) if p <= due => acc.row.posted_on_time += 1,
                Some(_) => acc.row.posted_late += 1,
                None => {}
            }
        }
        None => {
            if c.state != State::Closed {
                slot(rows, config, current).row.pending += 1;
            }
        }
    }
}

/// Closed without an answer (ЗАКРЫТЬ with a reason): counted toward whoever held the case
/// at closing, with its reason on one line. Returns when it was closed.
fn count_unanswered(
    rows: &mut BTreeMap<String, Acc>,
    config: &Config,
    c: &Case,
) -> Option<DateTime<Utc>> {
    let (at, reason) = closed_unanswered(c)?;
    let acc = slot(rows, config, &key_of(holder_at(c, at)));
    acc.row.closed_unanswered += 1;
    let one_line: String = reason
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(REASON_CHARS)
        .collect();
    acc.row.closed_reasons.push(format!("{}: {one_line}", c.id));
    Some(at)
}

/// Still owed past a deadline: an open case whose deadline passed by the report time, or a
/// case closed unanswered after it passed.
fn owed_past(
    c: &Case,
    now: Option<DateTime<Utc>>,
    closed_unanswered: Option<DateTime<Utc>>,
    due: DateTime<Utc>,
) -> bool {
    (c.state.is_open() && now.is_some_and(|now| due < now))
        || closed_unanswered.is_some_and(|at| due < at)
}

/// The draft deadline: drafts on time or late; the working hours to the first draft.
fn count_draft(
    rows: &mut BTreeMap<String, Acc>,
    config: &Config,
    c: &Case,
    current: &str,
    owed: impl Fn(DateTime<Utc>) -> bool,
) {
    let cal = &config.calendar;
    let detected = c.notification.detected_at;
    let holder = |at: DateTime<Utc>| key_of(holder_at(c, at));
    if let Some(due) = c.deadlines.draft {
        let who = holder(judged_at(c.first_draft_at, due));
        let acc = slot(rows, config, &who);
        match c.first_draft_at {
            Some(d) if d <= due => acc.row.draft_on_time += 1,
            Some(_) => acc.row.draft_late += 1,
            None if owed(due) => acc.row.draft_late += 1,
            None => {}
        }
        if let Some(d) = c.first_draft_at {
            acc.to_draft
                .push(cal.working_time_between(detected, d).num_seconds() as f64 / 3600.0);
        }
    } else if let Some(d) = c.first_draft_at {
        slot(rows, config, current)
            .to_draft
            .push(cal.working_time_between(detected, d).num_seconds() as f64 / 3600.0);
    }
}

/// Cl. 8: every return for rework, against the reworked draft that followed it.
fn count_reworks(
    rows: &mut BTreeMap<String, Acc>,
    config: &Config,
    c: &Case,
    now: Option<DateTime<Utc>>,
) {
    let cal = &config.calendar;
    let holder = |at: DateTime<Utc>| key_of(holder_at(c, at));
    let set = config
        .deadlines
        .for_category(c.notification.category.as_deref());
    for (i, h) in c.history.iter().enumerate() {
        if h.event != HistoryEvent::Rework {
            continue;
        }
        let due = cal.add(h.at, set.rework);
        let back = c.history[i + 1..]
            .iter()
            .find(|e| {
                matches!(
                    e.event,
                    HistoryEvent::Draft | HistoryEvent::Interim | HistoryEvent::Clarification
                )
            })
            .map(|e| e.at);
        let late = match back {
            Some(b) => b > due,
            None => c.state == State::Rework && now.is_some_and(|now| due < now),
        };
        if back.is_none() && !late {
            continue;
        }
        let acc = slot(rows, config, &holder(judged_at(back, due)));
        if late {
            acc.row.rework_late += 1;
        } else {
            acc.row.rework_on_time += 1;
        }
    }
}

/// Cl. 9: the executor's part is the final draft, due by the final deadline; the final
/// answer as a whole is posted by it. After a final draft in time, a late approval or
/// posting is not the executor's: it counts in the `-` row.
fn count_final(
    rows: &mut BTreeMap<String, Acc>,
    config: &Config,
    c: &Case,
    now: Option<DateTime<Utc>>,
    owed: impl Fn(DateTime<Utc>) -> bool,
) {
    let holder = |at: DateTime<Utc>| key_of(holder_at(c, at));
    let Some(due) = c.deadlines.final_ else {
        return;
    };
    let draft_late = match c.final_draft_at {
        Some(d) => Some(d > due),
        None if owed(due) => Some(true),
        None => None,
    };
    if let Some(late) = draft_late {
        let acc = slot(rows, config, &holder(judged_at(c.final_draft_at, due)));
        if late {
            acc.row.final_draft_late += 1;
        } else {
            acc.row.final_draft_on_time += 1;
        }
    }
    let late = match c.final_published_at {
        Some(p) => Some(p > due),
        None if c.state.is_open() && now.is_some_and(|now| due < now) => Some(true),
        None => None,
    };
    if let Some(late) = late {
        let draft_in_time = c.final_draft_at.is_some_and(|d| d <= due);
        let who = if late && draft_in_time {
            "-".to_string()
        } else {
            holder(judged_at(c.final_published_at, due))
        };
        let acc = slot(rows, config, &who);
        if late {
            acc.row.final_late += 1;
        } else {
            acc.row.final_on_time += 1;
        }
    }
}

/// A row being counted, with the hours to average.
struct Acc {
    row: Row,
    to_draft: Vec<f64>,
    to_approval: Vec<f64>,
}

impl Acc {
    /// The row with its averages, worst times and rates worked out.
    fn into_row(self) -> Row {
        let Acc {
            mut row,
            to_draft,
            to_approval,
        } = self;
        let avg =
            |v: &[f64]| (!v.is_empty()).then(|| round1(v.iter().sum::<f64>() / v.len() as f64));
        let worst = |v: &[f64]| v.iter().cloned().reduce(f64::max).map(round1);
        row.avg_hours_to_draft = avg(&to_draft);
        row.worst_hours_to_draft = worst(&to_draft);
        row.avg_hours_to_approval = avg(&to_approval);
        row.worst_hours_to_approval = worst(&to_approval);
        let rate = |good: u32, bad: u32| {
            (good + bad > 0).then(|| round1(100.0 * good as f64 / (good + bad) as f64))
        };
        row.on_time_rate = rate(row.answered_on_time, row.answered_late);
        row.posted_rate = rate(row.posted_on_time, row.posted_late);
        row
    }
}

fn slot<'a>(rows: &'a mut BTreeMap<String, Acc>, config: &Config, key: &str) -> &'a mut Acc {
    rows.entry(key.to_string()).or_insert_with(|| Acc {
        row: Row {
            executor: key.to_string(),
            name: config
                .executor(key)
                .map(|e| e.name.clone())
                .unwrap_or_default(),
            ..Row::default()
        },
        to_draft: Vec::new(),
        to_approval: Vec::new(),
    })
}

/// Column headers: the JSON names (English), and as Russian officials read them in Excel.
const HEADERS: [(&str, &str); 27] = [
    ("executor", "Исполнитель"),
    ("name", "ФИО"),
    ("cases", "Дел"),
    ("answered_on_time", "Согласовано в срок"),
    ("answered_late", "Согласовано с опозданием"),
    ("pending", "В работе"),
    ("overdue", "Просрочено"),
    ("on_time_%", "Согласовано в срок, %"),
    ("draft_on_time", "Проект в срок"),
    ("avg_h_to_draft", "Среднее до проекта, ч"),
    ("worst_h_to_draft", "Наибольшее до проекта, ч"),
    ("avg_h_to_approval", "Среднее до согласования, ч"),
    ("worst_h_to_approval", "Наибольшее до согласования, ч"),
    ("excluded", "Исключено (п. 12)"),
    ("repeats", "Повторных"),
    ("posted_on_time", "Размещено в срок"),
    ("posted_late", "Размещено с опозданием"),
    ("posted_%", "Размещено в срок, %"),
    ("rework_on_time", "Доработка в срок (п. 8)"),
    ("rework_late", "Доработка с опозданием"),
    ("final_on_time", "Окончательный ответ в срок (п. 9)"),
    ("final_late", "Окончательный ответ с опозданием"),
    ("arrived_late", "Поступило после срока"),
    ("draft_late", "Проект с опозданием"),
    ("final_draft_on_time", "Окончательный проект в срок (п. 9)"),
    ("final_draft_late", "Окончательный проект с опозданием"),
    ("closed_unanswered", "Закрыто без ответа"),
];

/// The column headers in the config's language.
pub fn headers(config: &Config) -> Vec<&'static str> {
    HEADERS
        .iter()
        .map(|(en, ru)| match config.service.language {
            Language::Ru => *ru,
            Language::En => *en,
        })
        .collect()
}

/// One row's cells as printed (`-` for no value; a decimal comma when asked).
pub fn cells_for(row: &Row, decimal_comma: bool) -> Vec<String> {
    cells(row, decimal_comma)
}

fn cells(row: &Row, decimal_comma: bool) -> Vec<String> {
    let num = |v: Option<f64>| match v {
        Some(x) => {
            let s = format!("{x:.1}");
            if decimal_comma {
                s.replace('.', ",")
            } else {
                s
            }
        }
        None => "-".into(),
    };
    vec![
        row.executor.clone(),
        row.name.clone(),
        row.cases.to_string(),
        row.answered_on_time.to_string(),
        row.answered_late.to_string(),
        row.pending.to_string(),
        row.overdue.to_string(),
        num(row.on_time_rate),
        row.draft_on_time.to_string(),
        num(row.avg_hours_to_draft),
        num(row.worst_hours_to_draft),
        num(row.avg_hours_to_approval),
        num(row.worst_hours_to_approval),
        row.excluded.to_string(),
        row.repeats.to_string(),
        row.posted_on_time.to_string(),
        row.posted_late.to_string(),
        num(row.posted_rate),
        row.rework_on_time.to_string(),
        row.rework_late.to_string(),
        row.final_on_time.to_string(),
        row.final_late.to_string(),
        row.arrived_late.to_string(),
        row.draft_late.to_string(),
        row.final_draft_on_time.to_string(),
        row.final_draft_late.to_string(),
        row.closed_unanswered.to_string(),
    ]
}

/// The terminal table (`otklik report`): the column names of the JSON, for the admin.
pub fn table(config: &Config, rows: &[Row]) -> String {
    let mut all: Vec<Vec<String>> = vec![HEADERS.iter().map(|(en, _)| en.to_string()).collect()];
    for r in rows {
        all.push(cells(r, false));
    }
    let cols = all[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|i| all.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut s = String::new();
    for r in &all {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}", w = *w))
            .collect();
        s.push_str(line.join("  ").trim_end());
        s.push('\n');
    }
    for line in closed_lines(config, rows) {
        s.push_str(&line);
        s.push('\n');
    }
    s
}

/// The cases closed without an answer, one line each with its executor and reason, after
/// a heading; nothing when there are none (the table and the mail list them).
pub fn closed_lines(config: &Config, rows: &[Row]) -> Vec<String> {
    let mut out = Vec::new();
    for r in rows {
        for reason in &r.closed_reasons {
            out.push(format!("  {reason} ({})", r.executor));
        }
    }
    if !out.is_empty() {
        let head = match config.service.language {
            Language::Ru => "Закрыто без ответа (ЗАКРЫТЬ), с причинами:",
            Language::En => "Closed unanswered (CLOSE), with the reasons:",
        };
        out.insert(0, head.to_string());
    }
    out
}

/// The separator and the decimal comma of the CSV for the config's language.
pub fn csv_dialect(config: &Config) -> (char, bool) {
    match config.service.language {
        Language::Ru => (';', true),
        Language::En => (',', false),
    }
}

/// The rows as CSV for Excel: UTF-8 with a BOM, CRLF, with the header row and the
/// separator and decimal mark of `service.language`.
pub fn csv(config: &Config, rows: &[Row]) -> String {
    let (sep, comma) = csv_dialect(config);
    let sep_s = sep.to_string();
    let esc = |c: &str| {
        if c.contains([sep, '"', '\n', '\r']) {
            format!("\"{}\"", c.replace('"', "\"\""))
        } else {
            c.to_string()
        }
    };
    let mut s = String::from("\u{feff}");
    s.push_str(
        &headers(config)
            .iter()
            .map(|h| esc(h))
            .collect::<Vec<_>>()
            .join(&sep_s),
    );
    s.push_str("\r\n");
    for r in rows {
        let line: Vec<String> = cells(r, comma).iter().map(|x| esc(x)).collect();
        s.push_str(&line.join(&sep_s));
        s.push_str("\r\n");
    }
    s
}

/// The rows as pretty-printed JSON, one object per row, with a final newline.
pub fn json(rows: &[Row]) -> String {
    let mut s = serde_json::to_string_pretty(rows).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}
