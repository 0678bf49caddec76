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
use crate::workflow::{Case, State};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Row {
    pub executor: String,
    pub name: String,
    pub cases: u32,
    pub answered_on_time: u32,
    pub answered_late: u32,
    /// Not answered, and the answer deadline has not passed at the report time (or no
    /// report time was given): counted neither on time nor late.
    pub pending: u32,
    /// Open, not answered, and the answer deadline already passed at the report time:
    /// late in the making (not in the on-time rate until it is answered).
    pub overdue: u32,
    pub draft_on_time: u32,
    pub on_time_rate: Option<f64>,
    /// Working hours, one decimal.
    pub avg_hours_to_draft: Option<f64>,
    pub worst_hours_to_draft: Option<f64>,
    pub avg_hours_to_approval: Option<f64>,
    pub worst_hours_to_approval: Option<f64>,
    pub excluded: u32,
    pub repeats: u32,
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
    let cal = &config.calendar;
    let tz = cal.timezone();
    let mut rows: BTreeMap<String, (Row, Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for c in cases {
        let day = c.notification.detected_at.with_timezone(&tz).date_naive();
        if day < from || day > to {
            continue;
        }
        let key = c.executor.clone().unwrap_or_else(|| "-".into());
        let entry = rows.entry(key.clone()).or_insert_with(|| {
            let name = config
                .executor(&key)
                .map(|e| e.name.clone())
                .unwrap_or_default();
            (
                Row {
                    executor: key.clone(),
                    name,
                    ..Row::default()
                },
                Vec::new(),
                Vec::new(),
            )
        });
        let (row, to_draft, to_approval) = entry;
        row.cases += 1;
        if c.state == State::Excluded {
            row.excluded += 1;
            continue;
        }
        if c.repeat_of.is_some() {
            row.repeats += 1;
        }
        let detected = c.notification.detected_at;
        match (c.answered_at, c.deadlines.answer) {
            (Some(a), Some(due)) if a <= due => row.answered_on_time += 1,
            (Some(_), Some(_)) => row.answered_late += 1,
            (_, due) => {
                if c.state == State::Closed {
                    // Closed without an answer: not counted either way.
                } else if let (Some(now), Some(due)) = (now, due)
                    && due < now
                {
                    row.overdue += 1;
                } else {
                    row.pending += 1;
                }
            }
        }
        if let (Some(d), Some(due)) = (c.first_draft_at, c.deadlines.draft)
            && d <= due
        {
            row.draft_on_time += 1;
        }
        if let Some(d) = c.first_draft_at {
            to_draft.push(cal.working_time_between(detected, d).num_seconds() as f64 / 3600.0);
        }
        if let Some(a) = c.answered_at {
            to_approval.push(cal.working_time_between(detected, a).num_seconds() as f64 / 3600.0);
        }
    }
    rows.into_values()
        .map(|(mut row, to_draft, to_approval)| {
            let avg =
                |v: &[f64]| (!v.is_empty()).then(|| round1(v.iter().sum::<f64>() / v.len() as f64));
            let worst = |v: &[f64]| v.iter().cloned().reduce(f64::max).map(round1);
            row.avg_hours_to_draft = avg(&to_draft);
            row.worst_hours_to_draft = worst(&to_draft);
            row.avg_hours_to_approval = avg(&to_approval);
            row.worst_hours_to_approval = worst(&to_approval);
            let decided = row.answered_on_time + row.answered_late;
            row.on_time_rate =
                (decided > 0).then(|| round1(100.0 * row.answered_on_time as f64 / decided as f64));
            row
        })
        .collect()
}

const HEADERS: [&str; 15] = [
    "executor",
    "name",
    "cases",
    "answered_on_time",
    "answered_late",
    "pending",
    "overdue",
    "on_time_%",
    "draft_on_time",
    "avg_h_to_draft",
    "worst_h_to_draft",
    "avg_h_to_approval",
    "worst_h_to_approval",
    "excluded",
    "repeats",
];

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
    ]
}

pub fn table(_config: &Config, rows: &[Row]) -> String {
    let mut all: Vec<Vec<String>> = vec![HEADERS.iter().map(|h| h.to_string()).collect()];
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
    s
}

/// The separator and the decimal comma of the CSV for the config's language.
pub fn csv_dialect(config: &Config) -> (char, bool) {
    match config.service.language {
        Language::Ru => (';', true),
        Language::En => (',', false),
    }
}

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
    s.push_str(&HEADERS.join(&sep_s));
    s.push_str("\r\n");
    for r in rows {
        let line: Vec<String> = cells(r, comma).iter().map(|x| esc(x)).collect();
        s.push_str(&line.join(&sep_s));
        s.push_str("\r\n");
    }
    s
}

pub fn json(rows: &[Row]) -> String {
    let mut s = serde_json::to_string_pretty(rows).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}
