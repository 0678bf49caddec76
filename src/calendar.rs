//! Working-time arithmetic (SPEC §4). Pure: time is always passed in.
//!
//! STUB: the public API is fixed here; the calendar helper fills it in.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;

/// A duration of working time as written in the config: `9h`, `1h30m`, `45s`, `7d`.
/// Days and time never mix (`1d4h` is an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkDuration {
    /// `Nd`: N working days, counted as Civil Code arts. 191/194 count periods.
    Days(u32),
    /// `Nh`, `Nm`, `Ns` and their sums: working time in whole seconds.
    Seconds(u64),
}

/// A signed working-time offset (escalations: `-2h`, `+1h`, `0h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Offset {
    pub negative: bool,
    pub amount: WorkDuration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error("invalid duration {0:?}: expected a sum of Nd, Nh, Nm, Ns such as 9h, 1h30m or 7d")]
    Invalid(String),
    #[error("invalid duration {0:?}: working days (d) do not mix with hours, minutes or seconds")]
    MixedDaysAndTime(String),
}

impl FromStr for WorkDuration {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        if text.is_empty() {
            return Err(DurationError::Empty);
        }
        let invalid = || DurationError::Invalid(s.to_string());
        let (mut days, mut secs, mut saw_days, mut saw_time) = (0u64, 0u64, false, false);
        let mut digits = String::new();
        for c in text.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            if digits.is_empty() {
                return Err(invalid());
            }
            let n: u64 = digits.parse().map_err(|_| invalid())?;
            digits.clear();
            let unit = match c.to_ascii_lowercase() {
                'd' => {
                    saw_days = true;
                    days = days.checked_add(n).ok_or_else(invalid)?;
                    continue;
                }
                'h' => 3600,
                'm' => 60,
                's' => 1,
                _ => return Err(invalid()),
            };
            saw_time = true;
            secs = n
                .checked_mul(unit)
                .and_then(|v| v.checked_add(secs))
                .ok_or_else(invalid)?;
        }
        if !digits.is_empty() {
            return Err(invalid());
        }
        match (saw_days, saw_time) {
            (true, true) => Err(DurationError::MixedDaysAndTime(s.to_string())),
            (true, false) => Ok(WorkDuration::Days(
                u32::try_from(days).map_err(|_| invalid())?,
            )),
            _ => Ok(WorkDuration::Seconds(secs)),
        }
    }
}

impl FromStr for Offset {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let amount = rest.parse::<WorkDuration>().map_err(|e| match e {
            DurationError::Empty => DurationError::Invalid(s.to_string()),
            other => other,
        })?;
        Ok(Offset { negative, amount })
    }
}

impl fmt::Display for WorkDuration {
    /// The canonical form, which parses back to the same value: `7d`, `1h30m`, `45s`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            WorkDuration::Days(n) => write!(f, "{n}d"),
            WorkDuration::Seconds(0) => f.write_str("0s"),
            WorkDuration::Seconds(n) => {
                let (h, m, s) = (n / 3600, n / 60 % 60, n % 60);
                if h > 0 {
                    write!(f, "{h}h")?;
                }
                if m > 0 {
                    write!(f, "{m}m")?;
                }
                if s > 0 {
                    write!(f, "{s}s")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        write!(f, "{}", self.amount)
    }
}

/// Which official calendar to build in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// The Russian production calendar (crate `holidays-ru`).
    Ru,
}

/// A working interval of a day in minutes since midnight, `end` may be 1440 (`24:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayInterval {
    pub start_min: u32,
    pub end_min: u32,
}

impl FromStr for DayInterval {
    type Err = CalendarError;
    /// `"08:00-12:00"`, `"13:00-24:00"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || CalendarError::InvalidRange(s.to_string());
        let minutes = |hm: &str| -> Option<u32> {
            let (h, m) = hm.trim().split_once(':')?;
            if h.is_empty() || h.len() > 2 || m.len() != 2 {
                return None;
            }
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
        };
        let (a, b) = s.split_once('-').ok_or_else(invalid)?;
        let (start_min, end_min) = (
            minutes(a).ok_or_else(invalid)?,
            minutes(b).ok_or_else(invalid)?,
        );
        if start_min >= end_min {
            return Err(invalid());
        }
        Ok(DayInterval { start_min, end_min })
    }
}

/// Everything needed to build a [`Calendar`]; the config module fills it.
#[derive(Debug, Clone)]
pub struct CalendarSpec {
    pub timezone: Tz,
    pub preset: Option<Preset>,
    pub workdays: Vec<Weekday>,
    /// Sorted, non-overlapping (validated by [`Calendar::new`]).
    pub hours: Vec<DayInterval>,
    pub holidays: Vec<NaiveDate>,
    pub working_days: Vec<NaiveDate>,
    pub shortened_days: Vec<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error(
        "invalid time range {0:?}: expected HH:MM-HH:MM with start before end, end at most 24:00"
    )]
    InvalidRange(String),
    #[error("working hours overlap or are out of order: {0}")]
    Overlap(String),
    #[error("no working time at all: no workdays or no hours")]
    NoWorkingTime,
}

/// The working-time calendar. Cheap to clone? No: build once, share by reference/Arc.
#[derive(Debug, Clone)]
pub struct Calendar {
    spec: CalendarSpec,
}

impl Calendar {
    pub fn new(spec: CalendarSpec) -> Result<Calendar, CalendarError> {
        Ok(Calendar { spec })
    }

    pub fn timezone(&self) -> Tz {
        self.spec.timezone
    }

    /// The instant at which `d` of working time has elapsed after `start` (SPEC §4).
    pub fn add(&self, start: DateTime<Utc>, d: WorkDuration) -> DateTime<Utc> {
        let _ = (start, d);
        todo!("calendar helper")
    }

    /// The latest instant `s` with `add(s, d) == deadline` for hour-based `d`
    /// (the draft deadline is `sub(answer, 4h)`).
    pub fn sub(&self, deadline: DateTime<Utc>, d: WorkDuration) -> DateTime<Utc> {
        let _ = (deadline, d);
        todo!("calendar helper")
    }

    /// `add` or `sub` by a signed offset (escalation times).
    pub fn offset(&self, t: DateTime<Utc>, off: Offset) -> DateTime<Utc> {
        if off.negative {
            self.sub(t, off.amount)
        } else {
            self.add(t, off.amount)
        }
    }

    /// Working time in `[a, b)`; zero when `b <= a`.
    pub fn working_time_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> chrono::Duration {
        let _ = (a, b);
        todo!("calendar helper")
    }

    /// Is `date` (local to the calendar's zone) a working day?
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        let _ = date;
        todo!("calendar helper")
    }

    /// `t` itself if it is inside working time, else the next start of working time.
    pub fn next_working_instant(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let _ = t;
        todo!("calendar helper")
    }

    /// True when the preset's data for `date`'s year is only a forecast (not yet decreed).
    pub fn is_predicted(&self, date: NaiveDate) -> bool {
        let _ = date;
        false
    }
}
