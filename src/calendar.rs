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
        let _ = s;
        todo!("calendar helper")
    }
}

impl FromStr for Offset {
    type Err = DurationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let _ = s;
        todo!("calendar helper")
    }
}

impl fmt::Display for WorkDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
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
        let _ = s;
        todo!("calendar helper")
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
