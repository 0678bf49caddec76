//! Intake of a monitoring notification (docs/notifications.md): labelled fields read from
//! the text, wherever and however they appear. Pure.
//!
//! ## How fields are read
//!
//! The body text (plain, or HTML already turned into `Label: value` lines by
//! [`crate::text::html_to_text`]) is read line by line. A *label line* starts (after
//! leading spaces, `>` quote marks and bullets) with a known label, compared
//! case-insensitively with `ё` = `е` and any run of spaces equal to one, followed by `:`,
//! `-`, `–` or `—` and the value, or by nothing at all (a label alone on its line). Labels
//! ending in `№` or `#` (`Инцидент №`) may be followed by the value directly. A line that
//! merely starts with a label word (`Территория у школы не убрана`) is *not* a label line:
//! that would cut post texts short.
//!
//! The first occurrence of a field wins. `text` runs from its label (the value may start on
//! the label's line or on the next) to the next label line or the end of the body;
//! surrounding blank lines are trimmed, inner ones kept. Lines that look like labels but
//! are not known labels (`Срок отработки: 9 рабочих часов.` in sample A) stay in the text:
//! intake cannot tell the platform's boilerplate from the author's words, and losing the
//! author's words would be worse (the executor sees the whole text anyway).
//!
//! Anything that cannot be understood (an unreadable detection time, an unknown repeat
//! value) falls back like a missing value and is recorded in [`Notification::warnings`].

use std::sync::LazyLock;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use regex::Regex;

use crate::config::labels::{Field, Labels, normalise};
use crate::inbound::{Attachment, Inbound};

/// A notification as read from the monitoring platform's mail.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notification {
    /// The platform's incident number: the first word of the field without `№`/`#`, else
    /// digits found in the subject.
    pub source_id: Option<String>,
    /// The topic, trimmed; rules match it.
    pub topic: Option<String>,
    /// The location, trimmed; rules match it.
    pub location: Option<String>,
    /// The importance category as written; it selects the deadlines and rules match it.
    pub category: Option<String>,
    /// The social network or site of the post.
    pub source: Option<String>,
    /// The post's URL: the link field's address, else the first `http(s)` URL in the body.
    pub link: Option<String>,
    /// The post's author, without link targets added by HTML conversion.
    pub author: Option<String>,
    /// From the label, else the Date header, else arrival.
    pub detected_at: DateTime<Utc>,
    /// The post's text, never empty, without surrounding blank lines and unquoted.
    pub text: String,
    /// "Повторное: да", or `Повторн` in the subject.
    pub repeat: bool,
    /// The mail's attachments (screenshots, photos), all of them, passed on to the executor.
    pub attachments: Vec<Attachment>,
    /// What intake could not understand and how it fell back (an unreadable detection
    /// time, an unknown repeat value), for the case history. Empty when all was clear.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Why a mail from an intake sender is not a notification: a required field is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    /// No text field, or an empty one.
    #[error("the notification has no post text")]
    NoText,
    /// Neither a topic nor any link, so it can be neither routed nor found.
    #[error("the notification has neither a topic nor a link")]
    NoTopicOrLink,
}

#[derive(Default)]
struct Found {
    source_id: Option<String>,
    topic: Option<String>,
    location: Option<String>,
    category: Option<String>,
    source: Option<String>,
    link: Option<String>,
    author: Option<String>,
    detected_at: Option<String>,
    text: Option<String>,
    repeat: Option<String>,
}

impl Found {
    fn slot(&mut self, field: Field) -> &mut Option<String> {
        match field {
            Field::SourceId => &mut self.source_id,
            Field::Topic => &mut self.topic,
            Field::Location => &mut self.location,
            Field::Category => &mut self.category,
            Field::Source => &mut self.source,
            Field::Link => &mut self.link,
            Field::Author => &mut self.author,
            Field::DetectedAt => &mut self.detected_at,
            Field::Text => &mut self.text,
            Field::Repeat => &mut self.repeat,
        }
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// How many `>` quote marks start the line.
fn quote_depth(line: &str) -> usize {
    line.chars()
        .take_while(|c| *c == '>' || c.is_whitespace())
        .filter(|c| *c == '>')
        .count()
}

/// `line` without its first `depth` quote marks (and the space after each).
fn unquote(line: &str, depth: usize) -> &str {
    let mut rest = line;
    for _ in 0..depth {
        let trimmed = rest.trim_start();
        match trimmed.strip_prefix('>') {
            Some(r) => rest = r.strip_prefix(' ').unwrap_or(r),
            None => break,
        }
    }
    rest
}

/// Drops the ` <https://…>` that [`crate::text::html_to_text`] adds after a link's text
/// (an author's name linked to the profile), for fields that are not links.
fn without_link_targets(value: String) -> String {
    if !value.contains("<http") {
        return value;
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value.as_str();
    while let Some(pos) = rest.find("<http") {
        out.push_str(&rest[..pos]);
        rest = match rest[pos..].find('>') {
            Some(end) => &rest[pos + end + 1..],
            None => {
                out.push_str(&rest[pos..]);
                ""
            }
        };
    }
    out.push_str(rest);
    out.trim().to_string()
}

/// The identifier itself: `№48213` → `48213`, `48213 — ЖКХ` → `48213`.
fn clean_id(value: &str) -> Option<String> {
    let v = value.trim().trim_start_matches(['№', '#']).trim_start();
    let token = v
        .split_whitespace()
        .next()?
        .trim_end_matches([',', '.', ';', ':', ')']);
    (!token.is_empty()).then(|| token.to_string())
}

/// Reads all label lines of `body`.
fn scan(body: &str, labels: &Labels) -> Found {
    let mut found = Found::default();
    let lines: Vec<&str> = body.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let Some((field, value)) = labels.match_line(lines[i]) else {
            i += 1;
            continue;
        };
        if field == Field::Text {
            let mut text_lines: Vec<&str> = Vec::new();
            if !value.is_empty() {
                text_lines.push(value);
            }
            // A quoted notification (`> Текст:`) has its text quoted as deeply: unquote it.
            let depth = quote_depth(lines[i]);
            let mut j = i + 1;
            while j < lines.len() && labels.match_line(lines[j]).is_none() {
                text_lines.push(unquote(lines[j], depth).trim_end());
                j += 1;
            }
            // Blank lines off both ends, found once each way (never removed one by one
            // from the front: a post can start with a million blank lines).
            let first = text_lines.iter().position(|l| !l.trim().is_empty());
            let last = text_lines.iter().rposition(|l| !l.trim().is_empty());
            let text = match (first, last) {
                (Some(a), Some(b)) => text_lines[a..=b].join("\n"),
                _ => String::new(),
            };
            if found.text.is_none() && !text.trim().is_empty() {
                found.text = Some(text);
            }
            i = j;
            continue;
        }
        let slot = found.slot(field);
        if slot.is_none() {
            if !value.is_empty() {
                *slot = Some(value.to_string());
            } else if field == Field::Repeat {
                // "Повторное обращение" alone on its line says it all.
                *slot = Some("да".to_string());
            }
        }
        i += 1;
    }
    found
}

static URL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)https?://[^\s<>"'«»\[\]{}|\\^`]+"#).expect("URL regex is valid")
});

/// The first http(s) URL in `s`, without trailing punctuation.
pub fn first_url(s: &str) -> Option<String> {
    URL_RE.find_iter(s).find_map(|m| {
        let mut url = m.as_str();
        // Trimming only ever takes punctuation and `)` off the end, never a `(`: whether the
        // URL has one is known once (checking it on every round made a URL followed by
        // many `)` quadratic).
        let has_open_paren = url.contains('(');
        loop {
            let trimmed = url.trim_end_matches(['.', ',', ';', ':', '!', '?']);
            let trimmed = if trimmed.ends_with(')') && !has_open_paren {
                &trimmed[..trimmed.len() - 1]
            } else {
                trimmed
            };
            if trimmed.len() == url.len() {
                break;
            }
            url = trimmed;
        }
        let host = url.split("://").nth(1).unwrap_or_default();
        (!host.is_empty()).then(|| url.to_string())
    })
}

static SUBJECT_ID_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:№|#|\bN[o°º]\.?)\s*(\d{2,})|\b(?:инцидент|incident|обращени[еяю])\s+(\d{2,})",
    )
    .expect("subject id regex is valid")
});

fn source_id_from_subject(subject: &str) -> Option<String> {
    let caps = SUBJECT_ID_RE.captures(subject)?;
    caps.get(1)
        .or_else(|| caps.get(2))
        .map(|m| m.as_str().to_string())
}

static REPEAT_SUBJECT_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^\p{L}])(?:повторн|repeat)").expect("repeat regex is valid")
});

/// `Some(true/false)` for a recognised repeat value, `None` otherwise.
fn parse_yes_no(value: &str) -> Option<bool> {
    let v = normalise(value);
    let first = v
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| !w.is_empty())
        .unwrap_or_default();
    match first {
        "да" | "yes" | "true" | "y" | "1" | "д" | "повторное" | "повторный" => {
            Some(true)
        }
        "нет" | "no" | "false" | "n" | "0" | "н" | "первичное" | "первичный" => {
            Some(false)
        }
        _ => None,
    }
}

/// `26.06.2020 10:15`, `26.06.20 10:15:42`, `26.06.2020 г. в 10:15`, `26.06.2020, 10:15`.
static DMY_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})(?:\s*г(?:ода|\.)?)?\s*,?\s*(?:(?:в|at)\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?",
    )
    .expect("date regex is valid")
});
/// `1 декабря 2026 г. в 10:15`.
static D_MONTH_Y_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(\d{1,2})\s+(январ|феврал|март|апрел|ма[яй]|июн|июл|август|сентябр|октябр|ноябр|декабр)\p{L}*\s+(\d{4})(?:\s*г(?:ода|\.)?)?\s*,?\s*(?:(?:в|at)\s+)?(\d{1,2}):(\d{2})(?::(\d{2}))?",
    )
    .expect("date regex is valid")
});
/// `2020-06-26 10:15`, `2020-06-26T10:15:42` (RFC 3339 with a zone is read before).
static YMD_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(\d{4})-(\d{1,2})-(\d{1,2})(?:T|\s+|\s*,\s*)(?:(?:в|at)\s+)?(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?")
        .expect("date regex is valid")
});

fn month_number(name: &str) -> Option<u32> {
    let name = name.to_lowercase();
    const MONTHS: [&str; 12] = [
        "январ",
        "феврал",
        "март",
        "апрел",
        "ма",
        "июн",
        "июл",
        "август",
        "сентябр",
        "октябр",
        "ноябр",
        "декабр",
    ];
    MONTHS
        .iter()
        .position(|m| name.starts_with(m))
        .and_then(|i| u32::try_from(i + 1).ok())
}

static ZONE_MSK_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\(?\s*(?:по\s+)?(?:мск|msk)\s*(?:([+-])\s*(\d{1,2}))?\s*\)?(?:$|[^\p{L}])")
        .expect("zone regex is valid")
});
static ZONE_UTC_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\(?\s*(?:utc|gmt|z\b)\s*(?:([+-])\s*(\d{1,2})(?::?(\d{2}))?)?\s*\)?")
        .expect("zone regex is valid")
});
static ZONE_OFFSET_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\(?\s*([+-])(\d{2}):?(\d{2})\s*\)?").expect("zone regex is valid")
});

fn offset(sign: &str, hours: &str, minutes: Option<&str>) -> Option<FixedOffset> {
    let h: i32 = hours.parse().ok()?;
    let m: i32 = minutes.map_or(Some(0), |m| m.parse().ok())?;
    if h > 14 || m > 59 {
        return None;
    }
    let secs = h * 3600 + m * 60;
    FixedOffset::east_opt(if sign == "-" { -secs } else { secs })
}

/// The zone written after a time, if any: `(МСК)`, `MSK`, `МСК+4`, `+03:00`, `UTC+7`,
/// `GMT+3`, `(UTC+07:00)`, `Z`.
fn parse_zone(rest: &str) -> Option<FixedOffset> {
    let rest = rest.trim_start();
    if let Some(c) = ZONE_MSK_RE.captures(rest) {
        let msk = offset("+", "3", None)?;
        return match (c.get(1), c.get(2)) {
            (Some(sign), Some(h)) => {
                let delta = offset(sign.as_str(), h.as_str(), None)?;
                FixedOffset::east_opt(msk.local_minus_utc() + delta.local_minus_utc())
            }
            _ => Some(msk),
        };
    }
    if let Some(c) = ZONE_UTC_RE.captures(rest) {
        return match (c.get(1), c.get(2)) {
            (Some(sign), Some(h)) => {
                offset(sign.as_str(), h.as_str(), c.get(3).map(|m| m.as_str()))
            }
            _ => FixedOffset::east_opt(0),
        };
    }
    if let Some(c) = ZONE_OFFSET_RE.captures(rest) {
        return offset(&c[1], &c[2], Some(&c[3]));
    }
    None
}

/// Parses a detection time as the monitoring platforms write it. Without a zone the time is
/// in `source_tz`. `None` when it cannot be read.
pub fn parse_time(value: &str, source_tz: Tz) -> Option<DateTime<Utc>> {
    let value = value.trim();
    let first = value.split_whitespace().next().unwrap_or_default();
    if let Ok(t) = DateTime::parse_from_rfc3339(first) {
        return Some(t.with_timezone(&Utc));
    }
    let num = |m: Option<regex::Match<'_>>| -> Option<u32> {
        m.map_or(Some(0), |m| m.as_str().parse().ok())
    };
    let (y, mo, d, caps) = if let Some(c) = DMY_RE.captures(value) {
        let y = num(c.get(3))?;
        // Two-digit years are this century's.
        let y = if y < 100 { 2000 + y } else { y };
        (y, num(c.get(2))?, num(c.get(1))?, c)
    } else if let Some(c) = D_MONTH_Y_RE.captures(value) {
        let mo = month_number(c.get(2)?.as_str())?;
        (num(c.get(3))?, mo, num(c.get(1))?, c)
    } else {
        let c = YMD_RE.captures(value)?;
        (num(c.get(1))?, num(c.get(2))?, num(c.get(3))?, c)
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, mo, d)?;
    let time = NaiveTime::from_hms_opt(num(caps.get(4))?, num(caps.get(5))?, num(caps.get(6))?)?;
    let naive = NaiveDateTime::new(date, time);
    let rest = &value[caps.get(0)?.end()..];
    match parse_zone(rest) {
        Some(off) => off
            .from_local_datetime(&naive)
            .single()
            .map(|t| t.with_timezone(&Utc)),
        None => source_tz
            .from_local_datetime(&naive)
            .earliest()
            .or_else(|| {
                // A local time skipped by a DST change: read it an hour later.
                let later = naive.checked_add_signed(chrono::Duration::hours(1))?;
                source_tz.from_local_datetime(&later).earliest()
            })
            .map(|t| t.with_timezone(&Utc)),
    }
}

/// Read a notification out of a parsed message.
///
/// When the message itself is not a notification but carries one as an attached message
/// (`message/rfc822`: Outlook's "forward as attachment"), the first attached message that
/// is a notification is read instead, with its own Date, subject and attachments.
pub fn parse_notification(
    mail: &Inbound,
    labels: &Labels,
    source_tz: Tz,
    arrival: DateTime<Utc>,
) -> Result<Notification, IntakeError> {
    let outer = parse_direct(mail, labels, source_tz, arrival);
    if outer.is_ok() {
        return outer;
    }
    mail.attachments
        .iter()
        .filter(|a| a.content_type == "message/rfc822")
        .filter_map(|a| Inbound::parse(&a.data).ok())
        .find_map(|inner| parse_direct(&inner, labels, source_tz, arrival).ok())
        .map_or(outer, Ok)
}

fn parse_direct(
    mail: &Inbound,
    labels: &Labels,
    source_tz: Tz,
    arrival: DateTime<Utc>,
) -> Result<Notification, IntakeError> {
    let found = scan(&mail.text, labels);
    let mut warnings = Vec::new();

    let text = non_empty(found.text).ok_or(IntakeError::NoText)?;

    let source_id = non_empty(found.source_id)
        .and_then(|s| clean_id(&s))
        .or_else(|| source_id_from_subject(&mail.subject));

    let link = non_empty(found.link)
        .map(|l| first_url(&l).unwrap_or(l))
        .or_else(|| first_url(&mail.text));
    let topic = non_empty(found.topic.map(without_link_targets));
    if topic.is_none() && link.is_none() {
        return Err(IntakeError::NoTopicOrLink);
    }

    let mut repeat = REPEAT_SUBJECT_RE.is_match(&mail.subject);
    if let Some(v) = non_empty(found.repeat) {
        match parse_yes_no(&v) {
            Some(b) => repeat |= b,
            None => warnings.push(format!(
                "repeat flag «{v}» not understood (expected да/нет, yes/no, true/false); ignored"
            )),
        }
    }

    let detected_at = match non_empty(found.detected_at) {
        Some(v) => match parse_time(&v, source_tz) {
            Some(t) => t,
            None => {
                let (t, from) = match mail.date {
                    Some(d) => (d, "the Date header"),
                    None => (arrival, "the arrival time"),
                };
                warnings.push(format!(
                    "detection time «{v}» not understood; using {from} ({})",
                    t.to_rfc3339()
                ));
                t
            }
        },
        None => mail.date.unwrap_or(arrival),
    };

    Ok(Notification {
        source_id,
        topic,
        location: non_empty(found.location.map(without_link_targets)),
        category: non_empty(found.category.map(without_link_targets)),
        source: non_empty(found.source.map(without_link_targets)),
        link,
        author: non_empty(found.author.map(without_link_targets)),
        detected_at,
        text,
        repeat,
        attachments: mail.attachments.clone(),
        warnings,
    })
}
