//! `otklik status`: the facts the running service reports about itself, and the verdict a
//! monitoring system reads from them, by the Nagios convention: 0 OK, 1 WARNING,
//! 2 CRITICAL (3 UNKNOWN is the command's own, when it cannot even ask).
//!
//! The shell records plain facts (when it started, the IMAP state and the last contact,
//! the outbox, the dead letters, the open cases' deadlines); [`evaluate`] compares them
//! with the time it is given.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::config::DeadlineKind;
use crate::workflow::{self, Case};

/// Mail waiting in the outbox longer than this is a WARNING (SMTP trouble).
pub const OUTBOX_WAIT_LIMIT: Duration = Duration::minutes(10);
/// IMAP out of contact this long or longer is CRITICAL (no mail comes in).
pub const IMAP_DOWN_LIMIT: Duration = Duration::minutes(10);
/// How many overdue cases the status line names (the JSON has them all).
const NAMED_CASES: usize = 5;

/// What the running service says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// When this process started serving.
    pub up_since: DateTime<Utc>,
    /// The IMAP session's state and last contact.
    pub imap: ImapHealth,
    /// How many cases are open (neither closed nor excluded).
    pub open_cases: usize,
    /// The earliest open deadline of each open case that has one.
    pub deadlines: Vec<CaseDue>,
    /// Mails waiting to be sent (or retried).
    pub outbox: usize,
    /// When the mail that has waited longest in the outbox was written.
    pub oldest_queued: Option<DateTime<Utc>>,
    /// Mails refused for good, kept until resent.
    pub dead_letters: usize,
    /// The date of the last daily digest.
    pub last_digest: Option<NaiveDate>,
}

/// The state of the connection to the intake mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImapHealth {
    /// `idle`, `polling`, `processing`, `connecting`, `reconnecting (attempt 3)`.
    pub state: String,
    /// A session is up (logged in, the intake mailbox selected).
    pub connected: bool,
    /// The last instant the service was in contact with the server: the time of the
    /// answer while connected, else when the session was lost; None when it never was.
    pub last_contact: Option<DateTime<Utc>>,
}

/// An open case and its earliest open deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDue {
    /// The case's tag, `OTK-42`.
    pub case: String,
    /// Which deadline: draft, answer, rework or final.
    pub kind: DeadlineKind,
    /// When it falls.
    pub due: DateTime<Utc>,
}

/// The earliest deadline a case still has to meet, if any.
pub fn earliest_deadline(case: &Case) -> Option<CaseDue> {
    [
        DeadlineKind::Draft,
        DeadlineKind::Answer,
        DeadlineKind::Rework,
        DeadlineKind::Final,
    ]
    .into_iter()
    .filter_map(|k| workflow::open_deadline(case, k).map(|t| (k, t)))
    .min_by_key(|(_, t)| *t)
    .map(|(kind, due)| CaseDue {
        case: case.id.clone(),
        kind,
        due,
    })
}

/// Nagios levels; the number is the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Everything as it should be.
    Ok = 0,
    /// Mail has waited in the outbox too long, or an open case is past a deadline.
    Warning = 1,
    /// Dead letters exist, or IMAP has been out of contact too long.
    Critical = 2,
    /// The command could not ask the service at all.
    Unknown = 3,
}

impl Level {
    /// The exit status of `otklik status`.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The level's name in the Nagios status line: `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
    pub fn word(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Warning => "WARNING",
            Level::Critical => "CRITICAL",
            Level::Unknown => "UNKNOWN",
        }
    }
}

/// What [`evaluate`] concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The worst level of the problems found; the command's exit status.
    pub level: Level,
    /// Why it is not OK, the worst first (empty when OK).
    pub problems: Vec<String>,
    /// The open cases past a deadline, by id.
    pub overdue: Vec<String>,
    /// How long the oldest queued mail has waited, in seconds.
    pub outbox_wait_seconds: i64,
    /// How long IMAP has been out of contact, in seconds (0 while connected).
    pub imap_down_seconds: i64,
    /// The one line for Nagios: `OTKLIK OK - …|perfdata`.
    pub line: String,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `1h05m`, `3d4h`, `42s`.
pub fn span(d: Duration) -> String {
    let s = d.num_seconds().max(0);
    let (days, hours, mins, secs) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if days > 0 {
        format!("{days}d{hours}h")
    } else if hours > 0 {
        format!("{hours}h{mins:02}m")
    } else if mins > 0 {
        format!("{mins}m{secs:02}s")
    } else {
        format!("{secs}s")
    }
}

/// The verdict on `facts` at `now`.
///
/// CRITICAL: dead letters exist, or IMAP has been out of contact for [`IMAP_DOWN_LIMIT`]
/// or longer. WARNING: a mail has waited in the outbox longer than [`OUTBOX_WAIT_LIMIT`],
/// or an open case is past a deadline. OK otherwise.
pub fn evaluate(facts: &Health, now: DateTime<Utc>) -> Verdict {
    let mut critical = Vec::new();
    let mut warning = Vec::new();

    if facts.dead_letters > 0 {
        critical.push(format!(
            "{} (refused for good; `otklik outbox --dead`)",
            plural(facts.dead_letters, "dead letter", "dead letters")
        ));
    }
    let imap_down = if facts.imap.connected {
        Duration::zero()
    } else {
        // Never in contact: out of contact since the start.
        (now - facts.imap.last_contact.unwrap_or(facts.up_since)).max(Duration::zero())
    };
    if imap_down >= IMAP_DOWN_LIMIT {
        critical.push(format!(
            "IMAP unreachable for {} ({})",
            span(imap_down),
            facts.imap.state
        ));
    }

    let outbox_wait = facts
        .oldest_queued
        .map(|t| (now - t).max(Duration::zero()))
        .unwrap_or_else(Duration::zero);
    if facts.outbox > 0 && outbox_wait > OUTBOX_WAIT_LIMIT {
        warning.push(format!(
            "mail waiting in the outbox for {} ({} queued)",
            span(outbox_wait),
            facts.outbox
        ));
    }
    let mut late: Vec<&CaseDue> = facts.deadlines.iter().filter(|d| d.due < now).collect();
    late.sort_by_key(|d| d.due);
    let overdue: Vec<String> = late.iter().map(|d| d.case.clone()).collect();
    if !overdue.is_empty() {
        let mut named = overdue
            .iter()
            .take(NAMED_CASES)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if overdue.len() > NAMED_CASES {
            named.push_str(", …");
        }
        warning.push(format!(
            "{} overdue ({named})",
            plural(overdue.len(), "case", "cases")
        ));
    }

    let level = if !critical.is_empty() {
        Level::Critical
    } else if !warning.is_empty() {
        Level::Warning
    } else {
        Level::Ok
    };
    let problems: Vec<String> = critical.into_iter().chain(warning).collect();
    let summary = format!(
        "{}, {} overdue, outbox {}, {}, imap {}, up {}",
        plural(facts.open_cases, "open case", "open cases"),
        overdue.len(),
        facts.outbox,
        plural(facts.dead_letters, "dead letter", "dead letters"),
        facts.imap.state,
        span(now - facts.up_since),
    );
    let text = if problems.is_empty() {
        summary
    } else {
        format!("{}; {summary}", problems.join("; "))
    };
    let perf = format!(
        "open_cases={} overdue_cases={};0 outbox={} outbox_wait={}s;{} dead_letters={};;0 imap_down={}s;;{}",
        facts.open_cases,
        overdue.len(),
        facts.outbox,
        outbox_wait.num_seconds(),
        OUTBOX_WAIT_LIMIT.num_seconds(),
        facts.dead_letters,
        imap_down.num_seconds(),
        IMAP_DOWN_LIMIT.num_seconds() - 1,
    );
    Verdict {
        level,
        line: format!("OTKLIK {} - {text}|{perf}", level.word()),
        problems,
        overdue,
        outbox_wait_seconds: outbox_wait.num_seconds(),
        imap_down_seconds: imap_down.num_seconds(),
    }
}

/// The line when the service does not answer: CRITICAL.
pub fn not_running(why: &str) -> String {
    format!("OTKLIK CRITICAL - not running: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap()
    }

    fn idle() -> Health {
        Health {
            up_since: t0(),
            imap: ImapHealth {
                state: "idle".into(),
                connected: true,
                last_contact: Some(t0()),
            },
            open_cases: 2,
            deadlines: vec![
                CaseDue {
                    case: "OTK-1".into(),
                    kind: DeadlineKind::Draft,
                    due: t0() + Duration::hours(5),
                },
                CaseDue {
                    case: "OTK-2".into(),
                    kind: DeadlineKind::Answer,
                    due: t0() + Duration::hours(9),
                },
            ],
            outbox: 0,
            oldest_queued: None,
            dead_letters: 0,
            last_digest: None,
        }
    }

    fn at(s: i64) -> DateTime<Utc> {
        t0() + Duration::seconds(s)
    }

    #[test]
    fn a_quiet_service_is_ok_and_says_so_in_one_nagios_line() {
        let v = evaluate(&idle(), at(3600));
        assert_eq!(v.level, Level::Ok);
        assert!(v.problems.is_empty());
        assert_eq!(
            v.line,
            "OTKLIK OK - 2 open cases, 0 overdue, outbox 0, 0 dead letters, imap idle, up 1h00m\
             |open_cases=2 overdue_cases=0;0 outbox=0 outbox_wait=0s;600 dead_letters=0;;0 imap_down=0s;;599"
        );
        assert!(!v.line.contains('\n'));
    }

    #[test]
    fn mail_waiting_more_than_ten_minutes_is_a_warning() {
        let mut f = idle();
        f.outbox = 1;
        f.oldest_queued = Some(t0());
        assert_eq!(evaluate(&f, at(599)).level, Level::Ok);
        assert_eq!(evaluate(&f, at(600)).level, Level::Ok, "exactly 10 minutes");
        let v = evaluate(&f, at(601));
        assert_eq!(v.level, Level::Warning);
        assert_eq!(v.outbox_wait_seconds, 601);
        assert!(
            v.line
                .starts_with("OTKLIK WARNING - mail waiting in the outbox for 10m01s (1 queued);"),
            "{}",
            v.line
        );
        // An empty outbox never waits, whatever an old timestamp says.
        f.outbox = 0;
        assert_eq!(evaluate(&f, at(10_000)).level, Level::Ok);
    }

    #[test]
    fn a_case_past_its_deadline_is_a_warning_naming_it() {
        let f = idle();
        let due = 5 * 3600;
        assert_eq!(evaluate(&f, at(due - 1)).level, Level::Ok);
        assert_eq!(evaluate(&f, at(due)).level, Level::Ok, "at the deadline");
        let v = evaluate(&f, at(due + 1));
        assert_eq!(v.level, Level::Warning);
        assert_eq!(v.overdue, ["OTK-1"]);
        assert!(
            v.line
                .starts_with("OTKLIK WARNING - 1 case overdue (OTK-1);"),
            "{}",
            v.line
        );
        let v = evaluate(&f, at(9 * 3600 + 1));
        assert_eq!(v.overdue, ["OTK-1", "OTK-2"]);
        assert!(
            v.line.contains("2 cases overdue (OTK-1, OTK-2)"),
            "{}",
            v.line
        );
    }

    #[test]
    fn many_overdue_cases_are_named_five_and_counted_all() {
        let mut f = idle();
        f.deadlines = (1..=7)
            .map(|n| CaseDue {
                case: format!("OTK-{n}"),
                kind: DeadlineKind::Answer,
                due: t0() + Duration::minutes(n),
            })
            .collect();
        let v = evaluate(&f, at(3600));
        assert_eq!(v.overdue.len(), 7);
        assert!(
            v.line
                .contains("7 cases overdue (OTK-1, OTK-2, OTK-3, OTK-4, OTK-5, …)"),
            "{}",
            v.line
        );
    }

    #[test]
    fn a_dead_letter_is_critical_at_once() {
        let mut f = idle();
        f.dead_letters = 1;
        let v = evaluate(&f, at(1));
        assert_eq!(v.level, Level::Critical);
        assert!(
            v.line.starts_with(
                "OTKLIK CRITICAL - 1 dead letter (refused for good; `otklik outbox --dead`);"
            ),
            "{}",
            v.line
        );
    }

    #[test]
    fn imap_out_of_contact_for_ten_minutes_is_critical() {
        let mut f = idle();
        f.imap = ImapHealth {
            state: "reconnecting (attempt 4)".into(),
            connected: false,
            last_contact: Some(at(100)),
        };
        assert_eq!(evaluate(&f, at(100 + 599)).level, Level::Ok);
        let v = evaluate(&f, at(100 + 600));
        assert_eq!(v.level, Level::Critical, "exactly 10 minutes");
        assert_eq!(v.imap_down_seconds, 600);
        assert!(
            v.line.starts_with(
                "OTKLIK CRITICAL - IMAP unreachable for 10m00s (reconnecting (attempt 4));"
            ),
            "{}",
            v.line
        );
        // Never connected since the start: counted from the start.
        f.imap.last_contact = None;
        assert_eq!(evaluate(&f, at(599)).level, Level::Ok);
        assert_eq!(evaluate(&f, at(600)).level, Level::Critical);
        // Connected again: fine, however old the last recorded loss.
        f.imap.connected = true;
        assert_eq!(
            evaluate(&f, at(100_000)).level,
            Level::Warning,
            "only the cases"
        );
    }

    #[test]
    fn critical_outranks_warning_and_both_are_said() {
        let mut f = idle();
        f.dead_letters = 2;
        f.outbox = 3;
        f.oldest_queued = Some(t0());
        let v = evaluate(&f, at(6 * 3600));
        assert_eq!(v.level, Level::Critical);
        assert_eq!(v.problems.len(), 3, "{:?}", v.problems);
        assert!(v.problems[0].starts_with("2 dead letters"));
        assert!(v.problems[1].starts_with("mail waiting"));
        assert!(v.problems[2].starts_with("1 case overdue"));
    }

    #[test]
    fn spans_read_like_durations() {
        assert_eq!(span(Duration::seconds(42)), "42s");
        assert_eq!(span(Duration::seconds(601)), "10m01s");
        assert_eq!(span(Duration::seconds(3900)), "1h05m");
        assert_eq!(span(Duration::hours(76)), "3d4h");
        assert_eq!(span(Duration::seconds(-5)), "0s");
    }

    #[test]
    fn the_facts_travel_as_json_and_back() {
        let f = idle();
        let text = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<Health>(&text).unwrap(), f);
    }
}
