//! Working-time arithmetic (docs/states.md). Pure: time is always passed in.
//!
//! A working day is a `workdays` weekday that is not a holiday, or any date in
//! `working_days`; its working time is the `hours` intervals in the calendar's zone, the
//! last one ending an hour earlier on a shortened (pre-holiday) day. The `ru` preset (crate
//! `holidays-ru`; sources and decrees cited in `calendar/ru.rs`) supplies the official
//! Russian calendar; with a six-day week its holidays still apply to Saturdays. The
//! config's `holidays`, `working_days` and `shortened_days` apply on top of it, and a date in
//! both `holidays` and `working_days` is worked.
//!
//! Wall-clock intervals are mapped to UTC day by day: in a DST gap a wall time means the
//! first instant after the gap, in a fold the earlier of its two instants.
//!
//! Searches are bounded: [`MAX_IDLE_DAYS`] days in a row without working time, or
//! [`MAX_SPAN_DAYS`] days in all, end a search at the edge of the searched window.

mod duration;
mod ru;
mod zone;

use std::collections::HashMap;
use std::fmt;
use std::ops::ControlFlow;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc, Weekday};
use chrono_tz::Tz;

pub use duration::{DurationError, Offset, WorkDuration};

/// Which official calendar to build in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// The Russian production calendar (crate `holidays-ru`).
    Ru,
}

/// A working interval of a day in minutes since midnight, `end` may be 1440 (`24:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayInterval {
    /// Start, in minutes since local midnight (0..1440).
    pub start_min: u32,
    /// End, in minutes since local midnight, after `start_min` and at most 1440.
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
    /// The zone of the working hours and of every time shown (`calendar.timezone`).
    pub timezone: Tz,
    /// The official calendar built in (`calendar.preset`); `None`: no holidays but the config's.
    pub preset: Option<Preset>,
    /// The weekdays that are worked unless a holiday (`calendar.workdays`, default Monday to
    /// Friday); never empty.
    pub workdays: Vec<Weekday>,
    /// Sorted, non-overlapping (validated by [`Calendar::new`]).
    pub hours: Vec<DayInterval>,
    /// Extra days off on top of the preset (`calendar.holidays`).
    pub holidays: Vec<NaiveDate>,
    /// Extra working days, such as a transferred Saturday; they win over `holidays`
    /// (`calendar.working_days`).
    pub working_days: Vec<NaiveDate>,
    /// Extra pre-holiday days whose working time ends an hour earlier
    /// (`calendar.shortened_days`).
    pub shortened_days: Vec<NaiveDate>,
}

/// Why a [`CalendarSpec`] or one of its `hours` ranges was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// A range that is not `HH:MM-HH:MM`, starts no earlier than it ends, or ends after
    /// `24:00` (the range, as text).
    #[error(
        "invalid time range {0:?}: expected HH:MM-HH:MM with start before end, end at most 24:00"
    )]
    InvalidRange(String),
    /// Two consecutive `hours` intervals overlap or are out of order (both, as text).
    #[error("working hours overlap or are out of order: {0}")]
    Overlap(String),
    /// `workdays` or `hours` is empty.
    #[error("no working time at all: no workdays or no hours")]
    NoWorkingTime,
}

/// How far a search for working time may run through days that have none before it gives
/// up (about ten years). [`Calendar::new`] rejects calendars without any working weekday,
/// so only a config that lists a decade of holidays in a row can reach it; the answer then
/// saturates at the end of the searched window instead of looping forever.
pub const MAX_IDLE_DAYS: u32 = 3660;

/// How far any one search may run in total (about a hundred years): a duration so large
/// that it would need more saturates at the end of the searched window.
pub const MAX_SPAN_DAYS: u32 = 36_600;

/// Config overrides for one date.
#[derive(Debug, Clone, Copy, Default)]
struct Special {
    holiday: bool,
    working: bool,
    short: bool,
}

/// Whether a date is worked, and shortened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DayKind {
    working: bool,
    short: bool,
}

/// The working-time calendar. Build once, share by reference or `Arc`.
///
/// Every operation costs O(days spanned): a day's working intervals are found from its
/// kind (an O(1) lookup in the preset and in a map of the config's special dates) and
/// mapped to UTC with a handful of time-zone lookups.
#[derive(Debug, Clone)]
pub struct Calendar {
    spec: CalendarSpec,
    /// Indexed by `Weekday::num_days_from_monday`.
    workdays: [bool; 7],
    /// The config's `holidays`, `working_days` and `shortened_days`.
    special: HashMap<NaiveDate, Special>,
    /// On a shortened day: how many of `hours` remain and where the last one ends
    /// (`None`: the shortening leaves nothing).
    short_cut: Option<(usize, u32)>,
    /// The zone's offset changes, shared by all calendars of that zone.
    zone: Arc<zone::ZoneTable>,
}

impl Calendar {
    /// Validates the spec: hours sorted, non-overlapping, non-empty, each a valid range;
    /// at least one workday.
    pub fn new(spec: CalendarSpec) -> Result<Calendar, CalendarError> {
        if spec.hours.is_empty() || spec.workdays.is_empty() {
            return Err(CalendarError::NoWorkingTime);
        }
        for iv in &spec.hours {
            if iv.start_min >= iv.end_min || iv.end_min > 24 * 60 {
                return Err(CalendarError::InvalidRange(iv.to_string()));
            }
        }
        for pair in spec.hours.windows(2) {
            if pair[1].start_min < pair[0].end_min {
                return Err(CalendarError::Overlap(format!(
                    "{} and {}",
                    pair[0], pair[1]
                )));
            }
        }
        Ok(Calendar::from_valid(spec))
    }

    /// Builds the lookup tables of a spec already known to be valid.
    fn from_valid(spec: CalendarSpec) -> Calendar {
        let mut workdays = [false; 7];
        for wd in &spec.workdays {
            workdays[wd.num_days_from_monday() as usize] = true;
        }
        let mut special: HashMap<NaiveDate, Special> = HashMap::new();
        for d in &spec.holidays {
            special.entry(*d).or_default().holiday = true;
        }
        for d in &spec.working_days {
            special.entry(*d).or_default().working = true;
        }
        for d in &spec.shortened_days {
            special.entry(*d).or_default().short = true;
        }
        let short_cut = shorten(&spec.hours, 60);
        let zone = zone::table(spec.timezone);
        Calendar {
            spec,
            workdays,
            special,
            short_cut,
            zone,
        }
    }

    /// A 24/7 calendar in UTC: `00:00-24:00` on all seven days, no preset.
    pub fn always() -> Calendar {
        Calendar::from_valid(CalendarSpec {
            timezone: Tz::UTC,
            preset: None,
            workdays: ALL_WEEKDAYS.to_vec(),
            hours: vec![DayInterval {
                start_min: 0,
                end_min: 24 * 60,
            }],
            holidays: Vec::new(),
            working_days: Vec::new(),
            shortened_days: Vec::new(),
        })
    }

    /// The usual Russian office: preset `ru`, Monday to Friday, 08:00-12:00 and 13:00-17:00.
    pub fn ru_default(timezone: Tz) -> Calendar {
        Calendar::from_valid(CalendarSpec {
            timezone,
            preset: Some(Preset::Ru),
            workdays: ALL_WEEKDAYS[..5].to_vec(),
            hours: vec![
                DayInterval {
                    start_min: 8 * 60,
                    end_min: 12 * 60,
                },
                DayInterval {
                    start_min: 13 * 60,
                    end_min: 17 * 60,
                },
            ],
            holidays: Vec::new(),
            working_days: Vec::new(),
            shortened_days: Vec::new(),
        })
    }

    /// The zone working hours are reckoned in.
    pub fn timezone(&self) -> Tz {
        self.spec.timezone
    }

    /// The spec this calendar was built from.
    pub fn spec(&self) -> &CalendarSpec {
        &self.spec
    }

    /// The instant at which `d` of working time has elapsed after `start` (docs/states.md).
    ///
    /// `Seconds(n)`: counted from `start` if it is inside working time, else from the next
    /// start of working time; the earliest instant at which `n` seconds have elapsed
    /// (`add(t, Seconds(0)) == t`). `Days(n)`: the end of working time on the `n`-th working
    /// day after `start`'s local date (Civil Code arts. 191, 194); `Days(0)`: the end of
    /// working time on `start`'s own date if it is a working day, else on the next one.
    pub fn add(&self, start: DateTime<Utc>, d: WorkDuration) -> DateTime<Utc> {
        match d {
            WorkDuration::Seconds(0) => start,
            WorkDuration::Seconds(n) => {
                let mut remaining = seconds(n);
                let found = self.walk_forward(start, |s, e| {
                    let len = e - s;
                    if len >= remaining {
                        return ControlFlow::Break(s + remaining);
                    }
                    remaining -= len;
                    ControlFlow::Continue(())
                });
                found.unwrap_or_else(|window_end| window_end)
            }
            WorkDuration::Days(n) => {
                let date = self.local_date(start);
                let first = if n == 0 { Some(date) } else { date.succ_opt() };
                let Some(first) = first else { return start };
                self.nth_working_day_end(first, n, true)
                    .unwrap_or_else(|window_end| window_end)
            }
        }
    }

    /// The latest instant `s` with `add(s, d) == deadline` for hour-based `d`
    /// (the draft deadline is `sub(answer, 4h)`).
    ///
    /// `Seconds(n)`: the latest `s` with `working_time_between(s, deadline) == n`
    /// (`sub(t, Seconds(0)) == t`). `Days(n)`: the end of working time on the `n`-th working
    /// day before `deadline`'s local date; `Days(0)`: on that date if it is a working day,
    /// else on the working day before it.
    pub fn sub(&self, deadline: DateTime<Utc>, d: WorkDuration) -> DateTime<Utc> {
        match d {
            WorkDuration::Seconds(0) => deadline,
            WorkDuration::Seconds(n) => {
                let mut remaining = seconds(n);
                let found = self.walk_backward(deadline, |s, e| {
                    let len = e - s;
                    if len >= remaining {
                        return ControlFlow::Break(e - remaining);
                    }
                    remaining -= len;
                    ControlFlow::Continue(())
                });
                found.unwrap_or_else(|window_start| window_start)
            }
            WorkDuration::Days(n) => {
                let date = self.local_date(deadline);
                let first = if n == 0 { Some(date) } else { date.pred_opt() };
                let Some(first) = first else { return deadline };
                self.nth_working_day_end(first, n, false)
                    .unwrap_or_else(|window_start| window_start)
            }
        }
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
        let mut partial = TimeDelta::zero();
        if b <= a {
            return partial;
        }
        // Interval bounds are whole seconds: compare them with (seconds, nanoseconds).
        let at_or_after_a = |x: i64| (x, 0) >= (a.timestamp(), a.timestamp_subsec_nanos());
        let at_or_before_b = |x: i64| (x, 0) <= (b.timestamp(), b.timestamp_subsec_nanos());
        let mut whole: i64 = 0;
        let last = self.local_date(b);
        let mut date = self.local_date(a);
        loop {
            for (s, e) in self.day_intervals_ts(date) {
                if at_or_after_a(s) && at_or_before_b(e) {
                    whole += e - s;
                } else if let (Some(s), Some(e)) = (
                    DateTime::from_timestamp(s, 0),
                    DateTime::from_timestamp(e, 0),
                ) {
                    let (s, e) = (s.max(a), e.min(b));
                    if s < e {
                        partial += e - s;
                    }
                }
            }
            match date.succ_opt() {
                Some(next) if date < last => date = next,
                _ => return partial + TimeDelta::seconds(whole),
            }
        }
    }

    /// Is `date` (local to the calendar's zone) a working day?
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.day_kind(date).working
    }

    /// Is `date` a working day shortened by one hour (a pre-holiday day)?
    pub fn is_shortened_day(&self, date: NaiveDate) -> bool {
        self.day_kind(date).short
    }

    /// `t` itself if it is inside working time, else the next start of working time.
    /// An instant exactly at an interval's end is not inside it.
    pub fn next_working_instant(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        self.walk_forward(t, |s, _| ControlFlow::Break(s))
            .unwrap_or_else(|window_end| window_end)
    }

    /// True when the preset's data for `date`'s year is only a forecast (not yet decreed).
    /// Always false without a preset.
    pub fn is_predicted(&self, date: NaiveDate) -> bool {
        match self.spec.preset {
            Some(Preset::Ru) => ru::is_predicted(date),
            None => false,
        }
    }

    /// The calendar-zone date of the instant `t`.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        let ts = t.timestamp();
        ts.checked_add(self.zone.offset_at(ts))
            .and_then(|local| DateTime::from_timestamp(local, 0))
            .map_or_else(
                || t.with_timezone(&self.spec.timezone).date_naive(),
                |local| local.date_naive(),
            )
    }

    /// The end of working time on `date`, `None` if it has none.
    pub fn working_day_end(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        self.working_day_end_ts(date)
            .and_then(|e| DateTime::from_timestamp(e, 0))
    }

    fn working_day_end_ts(&self, date: NaiveDate) -> Option<i64> {
        self.day_intervals_ts(date).next_back().map(|(_, e)| e)
    }

    /// The working intervals `[start, end)` of `date`, in UTC, in order; empty on a day off.
    pub fn intervals_on(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.day_intervals(date).collect()
    }

    /// Preset, then the config's overrides (docs/states.md).
    fn day_kind(&self, date: NaiveDate) -> DayKind {
        let weekday = self.workdays[date.weekday().num_days_from_monday() as usize];
        let (mut working, mut short) = (weekday, false);
        if let Some(Preset::Ru) = self.spec.preset
            && let Some(p) = ru::day(date)
        {
            working = (weekday && !p.off) || p.extra_working;
            short = p.short;
        }
        if !self.special.is_empty()
            && let Some(s) = self.special.get(&date)
        {
            if s.holiday {
                working = false;
            }
            if s.working {
                working = true;
            }
            short |= s.short;
        }
        DayKind {
            working,
            short: working && short,
        }
    }

    /// The non-empty working intervals of `date` in UTC, in order.
    fn day_intervals(
        &self,
        date: NaiveDate,
    ) -> impl DoubleEndedIterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        self.day_intervals_ts(date).filter_map(|(s, e)| {
            Some((
                DateTime::from_timestamp(s, 0)?,
                DateTime::from_timestamp(e, 0)?,
            ))
        })
    }

    /// [`Self::day_intervals`] in UTC seconds, without building `DateTime`s.
    fn day_intervals_ts(
        &self,
        date: NaiveDate,
    ) -> impl DoubleEndedIterator<Item = (i64, i64)> + '_ {
        let kind = self.day_kind(date);
        let (count, last_end) = match (kind.working, kind.short, self.spec.hours.last()) {
            (true, false, Some(last)) => (self.spec.hours.len(), last.end_min),
            (true, true, _) => self.short_cut.map_or((0, 0), |(n, end)| (n, end)),
            _ => (0, 0),
        };
        /// Days from 0001-01-01 to 1970-01-01.
        const EPOCH_DAYS_FROM_CE: i64 = 719_163;
        let midnight = (i64::from(date.num_days_from_ce()) - EPOCH_DAYS_FROM_CE) * 86_400;
        // One lookup for the whole day unless its offset changes.
        let fixed = if count == 0 {
            None
        } else {
            self.zone.uniform_offset(midnight)
        };
        let to_utc = move |minute: u32| {
            let local = midnight + i64::from(minute) * 60;
            match fixed {
                Some(off) => Some(local - off),
                None => self.zone.local_to_utc(local),
            }
        };
        self.spec.hours[..count]
            .iter()
            .enumerate()
            .filter_map(move |(i, iv)| {
                let end = if i + 1 == count { last_end } else { iv.end_min };
                let (s, e) = (to_utc(iv.start_min)?, to_utc(end)?);
                (s < e).then_some((s, e))
            })
    }

    /// The instant of wall-clock `minute` (0..=1440) on `date`: in a DST gap the earliest
    /// valid instant after it (the end of the gap), in a fold the earlier one.
    fn local_to_utc(&self, date: NaiveDate, minute: u32) -> Option<DateTime<Utc>> {
        /// Days from 0001-01-01 to 1970-01-01.
        const EPOCH_DAYS_FROM_CE: i64 = 719_163;
        let days = i64::from(date.num_days_from_ce()) - EPOCH_DAYS_FROM_CE;
        let local = days * 86_400 + i64::from(minute) * 60;
        DateTime::from_timestamp(self.zone.local_to_utc(local)?, 0)
    }

    /// Local midnight starting `date`, in UTC.
    fn midnight(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        self.local_to_utc(date, 0)
    }

    /// Calls `f(s, e)` on each working interval from `from` on, clipped to start no earlier
    /// than `from`, until it breaks. `Err` carries the end of the searched window when the
    /// search bounds ([`MAX_IDLE_DAYS`], [`MAX_SPAN_DAYS`]) run out first.
    fn walk_forward<B>(
        &self,
        from: DateTime<Utc>,
        mut f: impl FnMut(DateTime<Utc>, DateTime<Utc>) -> ControlFlow<B>,
    ) -> Result<B, DateTime<Utc>> {
        let mut date = self.local_date(from);
        let (mut idle, mut span) = (0u32, 0u32);
        loop {
            let mut any = false;
            for (s, e) in self.day_intervals(date) {
                if e <= from {
                    continue;
                }
                any = true;
                if let ControlFlow::Break(b) = f(s.max(from), e) {
                    return Ok(b);
                }
            }
            idle = if any { 0 } else { idle + 1 };
            span += 1;
            let next = date.succ_opt();
            match next {
                Some(n) if idle < MAX_IDLE_DAYS && span < MAX_SPAN_DAYS => date = n,
                _ => {
                    let window_end = next.and_then(|n| self.midnight(n)).unwrap_or(from);
                    return Err(window_end.max(from));
                }
            }
        }
    }

    /// Like [`Self::walk_forward`] but backwards from `to`, intervals clipped to end no
    /// later than `to`, latest first. `Err` carries the start of the searched window.
    fn walk_backward<B>(
        &self,
        to: DateTime<Utc>,
        mut f: impl FnMut(DateTime<Utc>, DateTime<Utc>) -> ControlFlow<B>,
    ) -> Result<B, DateTime<Utc>> {
        let mut date = self.local_date(to);
        let (mut idle, mut span) = (0u32, 0u32);
        loop {
            let mut any = false;
            for (s, e) in self.day_intervals(date).rev() {
                if s >= to {
                    continue;
                }
                any = true;
                if let ControlFlow::Break(b) = f(s, e.min(to)) {
                    return Ok(b);
                }
            }
            idle = if any { 0 } else { idle + 1 };
            span += 1;
            match date.pred_opt() {
                Some(p) if idle < MAX_IDLE_DAYS && span < MAX_SPAN_DAYS => date = p,
                _ => return Err(self.midnight(date).unwrap_or(to).min(to)),
            }
        }
    }

    /// Walks the days with working time from `first` on (forward) or back (backward),
    /// counting them down from `n` (at least 1); the end of working time on the day that
    /// reaches zero. Bounded like [`Self::walk_forward`]; `Err` carries the window's edge.
    fn nth_working_day_end(
        &self,
        first: NaiveDate,
        n: u32,
        forward: bool,
    ) -> Result<DateTime<Utc>, DateTime<Utc>> {
        let mut date = first;
        let mut left = n.max(1);
        let (mut idle, mut span) = (0u32, 0u32);
        let mut last_seen = None;
        loop {
            if let Some(end) = self.working_day_end_ts(date) {
                idle = 0;
                last_seen = Some(end);
                left -= 1;
                if left == 0 {
                    return DateTime::from_timestamp(end, 0).ok_or(DateTime::<Utc>::MAX_UTC);
                }
            } else {
                idle += 1;
            }
            span += 1;
            let next = if forward {
                date.succ_opt()
            } else {
                date.pred_opt()
            };
            match next {
                Some(n) if idle < MAX_IDLE_DAYS && span < MAX_SPAN_DAYS => date = n,
                _ => {
                    let edge = if forward { next.unwrap_or(date) } else { date };
                    let fallback = last_seen
                        .and_then(|e| DateTime::from_timestamp(e, 0))
                        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
                    return Err(self.midnight(edge).unwrap_or(fallback));
                }
            }
        }
    }
}

const ALL_WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// `n` seconds as a `TimeDelta`, saturating far beyond any search window.
fn seconds(n: u64) -> TimeDelta {
    // 100 years of seconds fit easily; larger values saturate at the span bound anyway.
    let capped = n.min(i64::MAX as u64 / 1_000_000);
    TimeDelta::seconds(capped as i64)
}

/// Takes `cut` minutes off the end of `hours`: how many intervals remain and where the last
/// of them ends; `None` when nothing remains.
fn shorten(hours: &[DayInterval], mut cut: u32) -> Option<(usize, u32)> {
    for (i, iv) in hours.iter().enumerate().rev() {
        let len = iv.end_min - iv.start_min;
        if len > cut {
            return Some((i + 1, iv.end_min - cut));
        }
        cut -= len;
        if cut == 0 {
            return (i > 0).then(|| (i, hours[i - 1].end_min));
        }
    }
    None
}

impl fmt::Display for DayInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start_min / 60,
            self.start_min % 60,
            self.end_min / 60,
            self.end_min % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(s: &str) -> DayInterval {
        s.parse().unwrap()
    }

    #[test]
    fn shortening_takes_an_hour_off_the_end() {
        let lunch = [iv("08:00-12:00"), iv("13:00-17:00")];
        assert_eq!(shorten(&lunch, 60), Some((2, 16 * 60)));
        let tiny_last = [iv("08:00-12:00"), iv("16:30-17:00")];
        assert_eq!(shorten(&tiny_last, 60), Some((1, 11 * 60 + 30)));
        let exact_last = [iv("08:00-12:00"), iv("16:00-17:00")];
        assert_eq!(shorten(&exact_last, 60), Some((1, 12 * 60)));
        assert_eq!(shorten(&[iv("08:00-09:00")], 60), None);
        assert_eq!(shorten(&[iv("08:00-08:30")], 60), None);
    }

    #[test]
    fn interval_display_round_trips() {
        for s in ["08:00-12:00", "13:30-24:00", "00:00-00:01"] {
            assert_eq!(iv(s).to_string(), s);
        }
    }
}
