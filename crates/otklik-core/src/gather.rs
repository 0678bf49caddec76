//! New-case notices to the coordinator during a burst (`people.coordinator.new_cases`).
//!
//! A case that opens on a quiet minute is told to the coordinator at once, in its own
//! mail. When notices come faster than one a minute, the ones behind the first wait and
//! leave together, one mail a minute at most, listing the new cases (each with its executor
//! and its one-click reassignment): a burst of a thousand notifications is a handful of
//! mails to her, not a thousand.
//!
//! Pure: the shell says when the last notice left and how many wait; the decision comes
//! back with the time to look again. The waiting notices themselves stay in the outbox, so
//! a crash loses none.

use chrono::{DateTime, Duration, Utc};

use crate::config::Config;
pub use crate::templates::Listed;
use crate::templates::{self, Rendered};

/// At most one new-case mail to a person in this many seconds.
pub const WINDOW_SECS: i64 = 60;

/// The most cases one gathered mail lists; more wait for the next minute's mail.
pub const MAX_LISTED: usize = 200;

/// The window after a notice left at `last`.
pub fn window() -> Duration {
    Duration::seconds(WINDOW_SECS)
}

/// Whether a person may get a new-case mail at `now`, the last having left at `last`. A
/// `last` in the future (the clock was set back) does not hold mail up.
pub fn open(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    match last {
        None => true,
        Some(l) => now < l || now >= l + window(),
    }
}

/// What to do with one new-case notice ready to leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Send it as it is, now.
    Now,
    /// Keep it with the others waiting; look again at `until`.
    Hold {
        /// When the window opens again.
        until: DateTime<Utc>,
    },
}

/// A new-case notice to a person is ready at `now`; `last`: when their last one left;
/// `waiting`: how many of theirs are already held. A single case on a quiet minute goes at
/// once; anything else waits for the window, behind the ones already waiting.
pub fn admit(last: Option<DateTime<Utc>>, waiting: usize, now: DateTime<Utc>) -> Admit {
    if waiting == 0 && open(last, now) {
        Admit::Now
    } else {
        Admit::Hold {
            until: reopens(last, now),
        }
    }
}

/// What to do with the notices held for one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Release {
    /// Nothing is held.
    Nothing,
    /// Not yet: look again at `until`.
    Wait {
        /// When the window opens again.
        until: DateTime<Utc>,
    },
    /// The one held notice goes as it is.
    One,
    /// The first `count` held notices (queue order) go as one mail listing them.
    Gathered {
        /// How many the mail lists (at most [`MAX_LISTED`]).
        count: usize,
    },
}

/// The notices held for a person (`waiting` of them), at `now`, the last having left at
/// `last`.
pub fn release(last: Option<DateTime<Utc>>, waiting: usize, now: DateTime<Utc>) -> Release {
    match waiting {
        0 => Release::Nothing,
        _ if !open(last, now) => Release::Wait {
            until: reopens(last, now),
        },
        1 => Release::One,
        n => Release::Gathered {
            count: n.min(MAX_LISTED),
        },
    }
}

fn reopens(last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
    match last {
        Some(l) if !open(last, now) => l + window(),
        _ => now,
    }
}

/// The header that marks a new-case notice to the coordinator in the outbox: the sender
/// gathers only mail that carries it.
pub const HEADER: &str = "X-Otklik-Notice";
const HEADER_LINE: &[u8] = b"X-Otklik-Notice: new-case\r\n";

/// Marks a built new-case notice (its first header line).
pub fn mark(raw: &mut Vec<u8>) {
    raw.splice(0..0, HEADER_LINE.iter().copied());
}

/// Whether a built mail is a new-case notice to gather: marked by [`mark`]. Only the start
/// of the header is looked at.
pub fn is_marked(raw: &[u8]) -> bool {
    raw.starts_with(HEADER_LINE)
}

/// The mail listing `cases` (at least one) to `recipient`.
pub fn render(
    config: &Config,
    recipient: &str,
    cases: &[Listed<'_>],
    now: DateTime<Utc>,
) -> Rendered {
    templates::new_cases(config, recipient, cases, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + Duration::seconds(s)
    }

    #[test]
    fn a_single_case_on_a_quiet_minute_goes_at_once() {
        assert_eq!(admit(None, 0, t(0)), Admit::Now);
        assert_eq!(admit(Some(t(0)), 0, t(60)), Admit::Now);
        assert_eq!(admit(Some(t(0)), 0, t(3600)), Admit::Now);
    }

    #[test]
    fn within_the_minute_notices_wait_for_the_window() {
        assert_eq!(admit(Some(t(0)), 0, t(1)), Admit::Hold { until: t(60) });
        assert_eq!(admit(Some(t(0)), 0, t(59)), Admit::Hold { until: t(60) });
        // Behind others already waiting, even when the window is open.
        assert_eq!(admit(Some(t(0)), 3, t(61)), Admit::Hold { until: t(61) });
        assert_eq!(admit(None, 1, t(0)), Admit::Hold { until: t(0) });
    }

    #[test]
    fn the_mark_is_the_first_header() {
        let mut raw = b"From: a@b\r\nSubject: x\r\n\r\nbody".to_vec();
        assert!(!is_marked(&raw));
        mark(&mut raw);
        assert!(is_marked(&raw));
        assert!(raw.ends_with(b"From: a@b\r\nSubject: x\r\n\r\nbody"));
    }

    #[test]
    fn a_clock_set_back_holds_nothing_up() {
        assert_eq!(admit(Some(t(600)), 0, t(0)), Admit::Now);
    }

    #[test]
    fn held_notices_leave_together_once_a_minute() {
        assert_eq!(release(Some(t(0)), 0, t(0)), Release::Nothing);
        assert_eq!(
            release(Some(t(0)), 5, t(30)),
            Release::Wait { until: t(60) }
        );
        assert_eq!(release(Some(t(0)), 1, t(60)), Release::One);
        assert_eq!(
            release(Some(t(0)), 5, t(60)),
            Release::Gathered { count: 5 }
        );
        assert_eq!(
            release(Some(t(0)), 1000, t(61)),
            Release::Gathered { count: MAX_LISTED }
        );
        assert_eq!(release(None, 2, t(0)), Release::Gathered { count: 2 });
    }
}
