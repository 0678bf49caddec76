//! Deadlines in the official's calendar (docs/keywords.md): an iCalendar part (`text/calendar;
//! method=PUBLISH`, RFC 5545) with one event per deadline of a case and a reminder 30 minutes
//! before. Each event's UID is stable per case and deadline, so a changed deadline replaces
//! the event and a deadline that is no longer open is sent again as `STATUS:CANCELLED`.
//! Pure: the time is passed in. Written by hand (a few lines of a tiny format), with CRLF
//! line ends, UTC times and folding at 75 octets, as Outlook and Thunderbird expect.

use chrono::{DateTime, Utc};

use crate::config::{Config, DeadlineKind};
use crate::templates::deadline_name;
use crate::workflow::{self, Case};

const KINDS: [DeadlineKind; 4] = [
    DeadlineKind::Draft,
    DeadlineKind::Answer,
    DeadlineKind::Rework,
    DeadlineKind::Final,
];

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// RFC 5545 §3.3.11 TEXT escaping.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// RFC 5545 §3.1: lines of at most 75 octets, continued with CRLF + space, never splitting
/// a UTF-8 character.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

/// The UID of a case's deadline event.
pub fn uid(case: &Case, kind: DeadlineKind, domain: &str) -> String {
    format!("otklik-{}-{kind:?}@{domain}", case.number).to_lowercase()
}

/// The calendar of a case: every deadline it has, open ones confirmed, the others cancelled
/// (all of them with `cancel_all`, for an executor the case was taken from).
/// `None` when the case has no deadline at all.
pub fn calendar(
    config: &Config,
    case: &Case,
    now: DateTime<Utc>,
    domain: &str,
    cancel_all: bool,
) -> Option<String> {
    let lang = config.service.language;
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "VERSION:2.0".into(),
        "PRODID:-//otklik//deadlines//RU".into(),
        "METHOD:PUBLISH".into(),
        "CALSCALE:GREGORIAN".into(),
    ];
    let topic = case.notification.topic.clone().unwrap_or_default();
    let mut any = false;
    for kind in KINDS {
        let Some(at) = case.deadlines.get(kind) else {
            continue;
        };
        any = true;
        let open = !cancel_all && workflow::open_deadline(case, kind).is_some();
        let summary = format!("[{}] {}: {topic}", case.id, deadline_name(lang, kind));
        let mut description = format!(
            "{} {}",
            case.id,
            case.notification.location.as_deref().unwrap_or("")
        );
        if let Some(link) = &case.notification.link {
            description.push_str(&format!("\n{link}"));
        }
        lines.extend([
            "BEGIN:VEVENT".to_string(),
            format!("UID:{}", uid(case, kind, domain)),
            format!("DTSTAMP:{}", utc(now)),
            // A later message about the same deadline must win: the sequence grows with time.
            format!("SEQUENCE:{}", now.timestamp().max(0) / 60 % 2_000_000_000),
            format!("DTSTART:{}", utc(at - chrono::Duration::minutes(15))),
            format!("DTEND:{}", utc(at)),
            format!("SUMMARY:{}", escape(&summary)),
            format!("DESCRIPTION:{}", escape(&description)),
            format!("STATUS:{}", if open { "CONFIRMED" } else { "CANCELLED" }),
            "TRANSP:TRANSPARENT".to_string(),
        ]);
        if open {
            lines.extend([
                "BEGIN:VALARM".to_string(),
                "ACTION:DISPLAY".to_string(),
                format!("DESCRIPTION:{}", escape(&summary)),
                "TRIGGER:-PT30M".to_string(),
                "END:VALARM".to_string(),
            ]);
        }
        lines.push("END:VEVENT".into());
    }
    if !any {
        return None;
    }
    lines.push("END:VCALENDAR".into());
    let mut out = String::new();
    for l in &lines {
        fold(l, &mut out);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_lines_within_75_octets_and_characters_whole() {
        let mut out = String::new();
        fold(
            &format!("SUMMARY:{}", "Водоснабжение ".repeat(20)),
            &mut out,
        );
        for line in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{} octets: {line}", line.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(
            unfolded,
            format!("SUMMARY:{}\r\n", "Водоснабжение ".repeat(20))
        );
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a;b,c\\d\ne"), "a\\;b\\,c\\\\d\\ne");
    }
}
