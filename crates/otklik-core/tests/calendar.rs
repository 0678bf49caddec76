//! Working-time calendar (docs/states.md): properties and table tests on real dates.

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use otklik_core::calendar::{
    Calendar, CalendarError, CalendarSpec, DayInterval, DurationError, Offset, Preset, WorkDuration,
};
use proptest::prelude::*;

const BARNAUL: Tz = chrono_tz::Asia::Barnaul;
const BERLIN: Tz = chrono_tz::Europe::Berlin;

fn ru() -> Calendar {
    Calendar::ru_default(BARNAUL)
}

/// Local wall-clock time in `tz` (unambiguous in these tests) as UTC.
fn at(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    tz.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .unwrap()
        .to_utc()
}

fn bar(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    at(BARNAUL, y, mo, d, h, mi)
}

fn date(y: i32, mo: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, mo, d).unwrap()
}

fn dur(s: &str) -> WorkDuration {
    s.parse().unwrap()
}

fn hours(list: &[&str]) -> Vec<DayInterval> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

const ALL_DAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

fn spec(tz: Tz, preset: Option<Preset>, workdays: &[Weekday], hrs: &[&str]) -> CalendarSpec {
    CalendarSpec {
        timezone: tz,
        preset,
        workdays: workdays.to_vec(),
        hours: hours(hrs),
        holidays: vec![],
        working_days: vec![],
        shortened_days: vec![],
    }
}

fn ru_spec() -> CalendarSpec {
    spec(
        BARNAUL,
        Some(Preset::Ru),
        &ALL_DAYS[..5],
        &["08:00-12:00", "13:00-17:00"],
    )
}

// ---------------------------------------------------------------- parsing

#[test]
fn durations_parse() {
    assert_eq!(dur("9h"), WorkDuration::Seconds(9 * 3600));
    assert_eq!(dur("1h30m"), WorkDuration::Seconds(5400));
    assert_eq!(dur("7d"), WorkDuration::Days(7));
    assert_eq!(dur("45s"), WorkDuration::Seconds(45));
    assert_eq!(dur("90m"), WorkDuration::Seconds(5400));
    assert_eq!(dur("0h"), WorkDuration::Seconds(0));
    assert_eq!(dur("1h1m1s"), WorkDuration::Seconds(3661));
}

#[test]
fn bad_durations_are_refused() {
    assert_eq!(
        "1d4h".parse::<WorkDuration>(),
        Err(DurationError::MixedDaysAndTime("1d4h".into()))
    );
    assert_eq!("".parse::<WorkDuration>(), Err(DurationError::Empty));
    for bad in [
        "9x",
        "h",
        "-1h",
        "1 h",
        " 9h",
        "9h ",
        "1h 30m",
        "9",
        "1.5h",
        "d",
        "99999999999999999999h",
    ] {
        assert!(
            matches!(bad.parse::<WorkDuration>(), Err(DurationError::Invalid(_))),
            "{bad:?} must be refused"
        );
    }
}

#[test]
fn offsets_parse() {
    let o = |s: &str| s.parse::<Offset>().unwrap();
    assert_eq!(
        o("-2h"),
        Offset {
            negative: true,
            amount: WorkDuration::Seconds(7200)
        }
    );
    assert_eq!(
        o("+1h"),
        Offset {
            negative: false,
            amount: WorkDuration::Seconds(3600)
        }
    );
    assert_eq!(o("0h").amount, WorkDuration::Seconds(0));
    assert_eq!(
        o("-1d"),
        Offset {
            negative: true,
            amount: WorkDuration::Days(1)
        }
    );
    for bad in ["", "-", "+", "--1h", "+-1h", "-1d4h", "-x", "- 2h", " -2h"] {
        assert!(bad.parse::<Offset>().is_err(), "{bad:?} must be refused");
    }
}

#[test]
fn durations_display_canonically() {
    assert_eq!(dur("90m").to_string(), "1h30m");
    assert_eq!(dur("7d").to_string(), "7d");
    assert_eq!(dur("45s").to_string(), "45s");
    assert_eq!(dur("0h").to_string(), "0s");
    assert_eq!("-2h".parse::<Offset>().unwrap().to_string(), "-2h");
}

#[test]
fn day_intervals_parse() {
    let i: DayInterval = "08:00-12:00".parse().unwrap();
    assert_eq!((i.start_min, i.end_min), (480, 720));
    let i: DayInterval = "13:00-24:00".parse().unwrap();
    assert_eq!((i.start_min, i.end_min), (780, 1440));
    for bad in [
        "12:00-08:00",
        "08:00-08:00",
        "08:00",
        "08:00-24:01",
        "24:00-24:00",
        "25:00-26:00",
        "08:60-09:00",
        "8h-9h",
        "",
    ] {
        assert!(
            matches!(
                bad.parse::<DayInterval>(),
                Err(CalendarError::InvalidRange(_))
            ),
            "{bad:?} must be refused"
        );
    }
}

#[test]
fn new_validates_hours_and_workdays() {
    let mut s = ru_spec();
    s.hours = hours(&["08:00-12:00", "11:00-17:00"]);
    assert!(matches!(Calendar::new(s), Err(CalendarError::Overlap(_))));
    let mut s = ru_spec();
    s.hours = hours(&["13:00-17:00", "08:00-12:00"]);
    assert!(matches!(Calendar::new(s), Err(CalendarError::Overlap(_))));
    let mut s = ru_spec();
    s.hours = vec![];
    assert_eq!(Calendar::new(s).unwrap_err(), CalendarError::NoWorkingTime);
    let mut s = ru_spec();
    s.workdays = vec![];
    assert_eq!(Calendar::new(s).unwrap_err(), CalendarError::NoWorkingTime);
    let mut s = ru_spec();
    s.hours = vec![DayInterval {
        start_min: 600,
        end_min: 500,
    }];
    assert!(matches!(
        Calendar::new(s),
        Err(CalendarError::InvalidRange(_))
    ));
    // Touching intervals are fine.
    let mut s = ru_spec();
    s.hours = hours(&["08:00-12:00", "12:00-17:00"]);
    assert!(Calendar::new(s).is_ok());
}

// ---------------------------------------------------------------- the ru preset

#[test]
fn ru_preset_days() {
    let c = ru();
    assert!(c.is_working_day(date(2026, 12, 1)));
    assert!(!c.is_working_day(date(2026, 12, 5))); // Saturday
    assert!(!c.is_working_day(date(2026, 12, 31))); // transferred day off (Thu)
    assert!(!c.is_working_day(date(2027, 1, 8)));
    assert!(c.is_working_day(date(2027, 1, 11)));
    assert!(c.is_shortened_day(date(2026, 11, 3)));
    assert!(!c.is_working_day(date(2026, 11, 4)));
    // Decree No. 1187 of 17.09.2026: Saturday 20 Feb 2027 is worked (and shortened), Monday
    // 22 Feb is off.
    assert!(c.is_working_day(date(2027, 2, 20)));
    assert!(c.is_shortened_day(date(2027, 2, 20)));
    assert!(!c.is_working_day(date(2027, 2, 22)));
    // 2024: Saturdays 27 Apr, 2 Nov and 28 Dec worked.
    assert!(c.is_working_day(date(2024, 11, 2)));
    assert!(!c.is_predicted(date(2026, 6, 1)));
    assert!(!c.is_predicted(date(2027, 6, 1)));
    assert!(c.is_predicted(date(2028, 6, 1)));
    assert!(!Calendar::always().is_predicted(date(2030, 1, 1)));
}

// ---------------------------------------------------------------- table tests (Barnaul, ru, lunch)

#[test]
fn friday_afternoon_plus_9h() {
    // Fri 2026-12-04 15:00: 15-17 gives 2h (7h left); Sat 5 and Sun 6 are off; Mon 7 Dec:
    // 08-12 gives 4h (3h left), 13:00 + 3h = 16:00. So Monday 16:00, not Tuesday.
    assert_eq!(
        ru().add(bar(2026, 12, 4, 15, 0), dur("9h")),
        bar(2026, 12, 7, 16, 0)
    );
}

#[test]
fn post_at_night() {
    // Tue 2026-12-01 02:00: the clock starts at 08:00; 08-12 and 13-17 give 8h; Wed 08-09.
    let c = ru();
    let t = bar(2026, 12, 1, 2, 0);
    assert_eq!(c.next_working_instant(t), bar(2026, 12, 1, 8, 0));
    assert_eq!(c.add(t, dur("9h")), bar(2026, 12, 2, 9, 0));
    // 4h from 08:00 ends at 12:00, not 13:00.
    assert_eq!(c.add(t, dur("4h")), bar(2026, 12, 1, 12, 0));
}

#[test]
fn post_at_lunch() {
    // 12:30 is outside working time: the clock starts at 13:00.
    let c = ru();
    let t = bar(2026, 12, 1, 12, 30);
    assert_eq!(c.next_working_instant(t), bar(2026, 12, 1, 13, 0));
    assert_eq!(c.add(t, dur("4h")), bar(2026, 12, 1, 17, 0));
    // 13-17 gives 4h, Wed 08-12 4h, 13-14 the last hour.
    assert_eq!(c.add(t, dur("9h")), bar(2026, 12, 2, 14, 0));
    // An instant at an interval's end is not inside it.
    assert_eq!(
        c.next_working_instant(bar(2026, 12, 1, 12, 0)),
        bar(2026, 12, 1, 13, 0)
    );
    assert_eq!(
        c.next_working_instant(bar(2026, 12, 1, 11, 59)),
        bar(2026, 12, 1, 11, 59)
    );
}

#[test]
fn shortened_pre_holiday_day() {
    // 2026-11-03 (Tue, before the 4 Nov holiday) works 08-12 and 13-16.
    let c = ru();
    assert_eq!(
        c.working_day_end(date(2026, 11, 3)),
        Some(bar(2026, 11, 3, 16, 0))
    );
    // Mon 2 Nov 15:00: 2h on Monday, 4h + 3h on Tuesday: exactly 9h at 16:00.
    assert_eq!(
        c.add(bar(2026, 11, 2, 15, 0), dur("9h")),
        bar(2026, 11, 3, 16, 0)
    );
    // One more hour: Wed 4 Nov is a holiday, so Thu 5 Nov 09:00.
    assert_eq!(
        c.add(bar(2026, 11, 2, 15, 0), dur("10h")),
        bar(2026, 11, 5, 9, 0)
    );
    assert_eq!(
        c.working_time_between(bar(2026, 11, 3, 0, 0), bar(2026, 11, 4, 0, 0)),
        TimeDelta::hours(7)
    );
}

#[test]
fn across_new_year_holidays() {
    let c = ru();
    // Wed 2026-12-30 15:00: 2h that day; 31 Dec (transferred day off), 1-8 Jan
    // (holidays), 9-10 Jan (weekend) are off; Mon 11 Jan 08-12 and 13-16.
    assert_eq!(
        c.add(bar(2026, 12, 30, 15, 0), dur("9h")),
        bar(2027, 1, 11, 16, 0)
    );
    // 7 working days from 30 Dec: 11, 12, 13, 14, 15, 18, 19 Jan.
    assert_eq!(
        c.add(bar(2026, 12, 30, 10, 0), dur("7d")),
        bar(2027, 1, 19, 17, 0)
    );
    // 200h = 25 full days from Fri 25 Dec 08:00: 25, 28, 29, 30 Dec (4), 11-15 Jan (9),
    // 18-22 (14), 25-29 (19), 1-5 Feb (24), Mon 8 Feb (25).
    let start = bar(2026, 12, 25, 8, 0);
    let end = c.add(start, dur("200h"));
    assert_eq!(end, bar(2027, 2, 8, 17, 0));
    assert_eq!(c.working_time_between(start, end), TimeDelta::hours(200));
    assert_eq!(c.sub(end, dur("200h")), start);
    // Nothing is worked between 30 Dec 17:00 and 11 Jan 08:00.
    assert_eq!(
        c.working_time_between(bar(2026, 12, 30, 17, 0), bar(2027, 1, 11, 8, 0)),
        TimeDelta::zero()
    );
}

#[test]
fn working_saturday_2027_02_20() {
    let c = ru();
    // Fri 19 Feb 16:00: 1h on Friday, then Saturday 20 Feb (worked, shortened: 08-12,
    // 13-16) gives the remaining 3h by 11:00.
    assert_eq!(
        c.add(bar(2027, 2, 19, 16, 0), dur("4h")),
        bar(2027, 2, 20, 11, 0)
    );
    // 9h: 1h Friday, 7h Saturday, then Sun 21, Mon 22 (off), Tue 23 (holiday): Wed 24 09:00.
    assert_eq!(
        c.add(bar(2027, 2, 19, 16, 0), dur("9h")),
        bar(2027, 2, 24, 9, 0)
    );
    // A post on the working Saturday itself counts from that morning.
    assert_eq!(
        c.next_working_instant(bar(2027, 2, 20, 6, 0)),
        bar(2027, 2, 20, 8, 0)
    );
}

#[test]
fn seven_days_from_tuesday_2026_12_01() {
    // Civil Code arts. 191, 194: the period starts on 2 Dec; working days 2, 3, 4, 7, 8, 9,
    // 10 Dec; it ends when work ends on Thursday 10 Dec.
    let c = ru();
    let end = bar(2026, 12, 10, 17, 0);
    for (h, m) in [(0, 0), (7, 59), (10, 15), (12, 30), (17, 0), (23, 59)] {
        assert_eq!(c.add(bar(2026, 12, 1, h, m), dur("7d")), end, "{h}:{m}");
    }
    // 1d from Friday ends Monday; 0d is today's end, or the next working day's.
    assert_eq!(
        c.add(bar(2026, 12, 4, 9, 0), dur("1d")),
        bar(2026, 12, 7, 17, 0)
    );
    assert_eq!(
        c.add(bar(2026, 12, 4, 9, 0), dur("0d")),
        bar(2026, 12, 4, 17, 0)
    );
    assert_eq!(
        c.add(bar(2026, 12, 5, 9, 0), dur("0d")),
        bar(2026, 12, 7, 17, 0)
    );
    // Back: the 7th working day before 10 Dec is 1 Dec.
    assert_eq!(c.sub(end, dur("7d")), bar(2026, 12, 1, 17, 0));
    assert_eq!(
        c.sub(bar(2026, 12, 6, 9, 0), dur("0d")),
        bar(2026, 12, 4, 17, 0)
    );
}

#[test]
fn draft_deadline_is_four_hours_before_the_answer() {
    let c = ru();
    // Answer Mon 7 Dec 16:00: 13-16 gives 3h, the last hour is 11-12.
    let answer = c.add(bar(2026, 12, 4, 15, 0), dur("9h"));
    assert_eq!(c.sub(answer, dur("4h")), bar(2026, 12, 7, 11, 0));
    // Tue 8 Dec 09:00: 08-09 gives 1h, Monday 14-17 the rest.
    assert_eq!(
        c.sub(bar(2026, 12, 8, 9, 0), dur("4h")),
        bar(2026, 12, 7, 14, 0)
    );
    // Landing on an interval start: that start, not the previous day's end.
    assert_eq!(
        c.sub(bar(2026, 12, 8, 12, 0), dur("4h")),
        bar(2026, 12, 8, 8, 0)
    );
    // Over the lunch break.
    assert_eq!(
        c.sub(bar(2026, 12, 8, 13, 30), dur("1h")),
        bar(2026, 12, 8, 11, 30)
    );
    // Offsets: escalation 2h before, 1h after.
    let before: Offset = "-2h".parse().unwrap();
    let after: Offset = "+1h".parse().unwrap();
    assert_eq!(c.offset(answer, before), bar(2026, 12, 7, 14, 0));
    assert_eq!(c.offset(answer, after), bar(2026, 12, 7, 17, 0));
    let t = bar(2026, 12, 5, 3, 0);
    assert_eq!(c.add(t, dur("0s")), t);
    assert_eq!(c.sub(t, dur("0s")), t);
}

// ---------------------------------------------------------------- 24:00 and 24/7

#[test]
fn intervals_ending_at_midnight() {
    let c = Calendar::new(spec(BARNAUL, None, &ALL_DAYS, &["20:00-24:00"])).unwrap();
    // Mon 22:00 + 3h: 2h to midnight, then 20:00-21:00 the next day.
    assert_eq!(
        c.add(bar(2026, 12, 7, 22, 0), dur("3h")),
        bar(2026, 12, 8, 21, 0)
    );
    assert_eq!(
        c.working_day_end(date(2026, 12, 7)),
        Some(bar(2026, 12, 8, 0, 0))
    );
    // Touching across midnight: 23:00 + 2h = 01:00.
    let c = Calendar::new(spec(
        BARNAUL,
        None,
        &ALL_DAYS,
        &["00:00-02:00", "22:00-24:00"],
    ))
    .unwrap();
    assert_eq!(
        c.add(bar(2026, 12, 7, 23, 0), dur("2h")),
        bar(2026, 12, 8, 1, 0)
    );
    let midnight = bar(2026, 12, 8, 0, 0);
    assert_eq!(c.next_working_instant(midnight), midnight);
    assert_eq!(
        c.sub(bar(2026, 12, 8, 1, 0), dur("2h")),
        bar(2026, 12, 7, 23, 0)
    );
}

#[test]
fn always_is_plain_time() {
    let c = Calendar::always();
    let t = Utc.with_ymd_and_hms(2026, 12, 31, 20, 15, 7).unwrap();
    assert_eq!(c.add(t, dur("9h")), t + TimeDelta::hours(9));
    assert_eq!(c.add(t, dur("500h")), t + TimeDelta::hours(500));
    assert_eq!(c.sub(t, dur("1h30m")), t - TimeDelta::minutes(90));
    assert_eq!(c.next_working_instant(t), t);
    assert_eq!(
        c.working_time_between(t, t + TimeDelta::days(31)),
        TimeDelta::days(31)
    );
    // 7d from 31 Dec: ends at 24:00 on 7 Jan, i.e. 8 Jan 00:00.
    assert_eq!(
        c.add(t, dur("7d")),
        Utc.with_ymd_and_hms(2027, 1, 8, 0, 0, 0).unwrap()
    );
    assert_eq!(c.timezone(), Tz::UTC);
}

// ---------------------------------------------------------------- DST (Europe/Berlin)

#[test]
fn berlin_office_hours_across_spring_forward() {
    // 2026-03-29 (Sunday) 02:00 CET -> 03:00 CEST.
    let c = Calendar::new(spec(BERLIN, None, &ALL_DAYS[..5], &["08:00-17:00"])).unwrap();
    // Fri 27 Mar 16:00 CET + 2h: 1h Friday, Mon 30 Mar 08:00-09:00 CEST.
    let end = c.add(at(BERLIN, 2026, 3, 27, 16, 0), dur("2h"));
    assert_eq!(end, at(BERLIN, 2026, 3, 30, 9, 0));
    assert_eq!(end, Utc.with_ymd_and_hms(2026, 3, 30, 7, 0, 0).unwrap());
}

#[test]
fn berlin_dst_days_have_23_and_25_hours() {
    let c = Calendar::new(spec(BERLIN, None, &ALL_DAYS, &["00:00-24:00"])).unwrap();
    let spring =
        c.working_time_between(at(BERLIN, 2026, 3, 29, 0, 0), at(BERLIN, 2026, 3, 30, 0, 0));
    assert_eq!(spring, TimeDelta::hours(23));
    let autumn = c.working_time_between(
        at(BERLIN, 2026, 10, 25, 0, 0),
        at(BERLIN, 2026, 10, 26, 0, 0),
    );
    assert_eq!(autumn, TimeDelta::hours(25));
    // Working time is elapsed time: 24h from Saturday noon ends Sunday 13:00 CEST.
    assert_eq!(
        c.add(at(BERLIN, 2026, 3, 28, 12, 0), dur("24h")),
        at(BERLIN, 2026, 3, 29, 13, 0)
    );
}

#[test]
fn berlin_gap_and_fold_boundaries() {
    // An interval starting inside the spring gap starts when the gap ends (03:00 CEST).
    let c = Calendar::new(spec(BERLIN, None, &ALL_DAYS, &["02:30-04:00"])).unwrap();
    let utc = |d, h, m| Utc.with_ymd_and_hms(2026, 3, d, h, m, 0).unwrap();
    assert_eq!(
        c.intervals_on(date(2026, 3, 29)),
        vec![(utc(29, 1, 0), utc(29, 2, 0))]
    );
    assert_eq!(c.next_working_instant(utc(29, 0, 0)), utc(29, 1, 0));
    // In the autumn fold 02:30 is the earlier (CEST) one: 00:30 UTC .. 04:00 CET = 03:00 UTC.
    let utc = |h, m| Utc.with_ymd_and_hms(2026, 10, 25, h, m, 0).unwrap();
    assert_eq!(
        c.intervals_on(date(2026, 10, 25)),
        vec![(utc(0, 30), utc(3, 0))]
    );
    assert_eq!(
        c.working_time_between(utc(0, 0), utc(12, 0)),
        TimeDelta::minutes(150)
    );
}

// ---------------------------------------------------------------- config overrides

#[test]
fn config_overrides_apply_on_top_of_the_preset() {
    let start = bar(2026, 12, 4, 15, 0); // Friday
    // Baseline: Monday 16:00 (see friday_afternoon_plus_9h).
    let mut s = ru_spec();
    s.holidays = vec![date(2026, 12, 7)];
    let c = Calendar::new(s).unwrap();
    assert!(!c.is_working_day(date(2026, 12, 7)));
    assert_eq!(c.add(start, dur("9h")), bar(2026, 12, 8, 16, 0));

    let mut s = ru_spec();
    s.working_days = vec![date(2026, 12, 5)];
    let c = Calendar::new(s).unwrap();
    assert!(c.is_working_day(date(2026, 12, 5)));
    assert_eq!(c.add(start, dur("9h")), bar(2026, 12, 5, 16, 0));

    // Shortened Monday: 2h Friday + 7h Monday, the tenth hour is Tue 08-09.
    let mut s = ru_spec();
    s.shortened_days = vec![date(2026, 12, 7)];
    let c = Calendar::new(s).unwrap();
    assert_eq!(c.add(start, dur("10h")), bar(2026, 12, 8, 9, 0));
    assert_eq!(ru().add(start, dur("10h")), bar(2026, 12, 7, 17, 0));

    // A config working day overrides a preset day off.
    let mut s = ru_spec();
    s.working_days = vec![date(2026, 12, 31)];
    let c = Calendar::new(s).unwrap();
    assert_eq!(
        c.add(bar(2026, 12, 30, 15, 0), dur("9h")),
        bar(2026, 12, 31, 16, 0)
    );
}

#[test]
fn shortening_that_empties_the_last_interval() {
    let mut s = ru_spec();
    s.hours = hours(&["08:00-12:00", "16:30-17:00"]);
    let c = Calendar::new(s).unwrap();
    // 2026-11-03 is shortened: the 30-minute interval goes, and 30 more minutes come off
    // the morning one.
    assert_eq!(
        c.intervals_on(date(2026, 11, 3)),
        vec![(bar(2026, 11, 3, 8, 0), bar(2026, 11, 3, 11, 30))]
    );
}

#[test]
fn saturates_instead_of_looping_forever() {
    // Work only on Sundays, but every Sunday for 20 years is a holiday.
    let mut s = spec(BARNAUL, None, &[Weekday::Sun], &["08:00-17:00"]);
    let mut d = date(2026, 12, 6);
    while d < date(2047, 1, 1) {
        s.holidays.push(d);
        d += TimeDelta::days(7);
    }
    let c = Calendar::new(s).unwrap();
    let t = bar(2026, 12, 1, 9, 0);
    for d in ["1h", "1d"] {
        let end = c.add(t, dur(d));
        assert!(end > t + TimeDelta::days(3650), "{d}: {end}");
        assert!(end < t + TimeDelta::days(3670), "{d}: {end}");
    }
    let back = c.sub(bar(2046, 12, 1, 9, 0), dur("1h"));
    assert!(
        back < bar(2046, 12, 1, 9, 0) - TimeDelta::days(3650),
        "{back}"
    );
}

// ---------------------------------------------------------------- properties

fn start_2024_2027() -> impl Strategy<Value = DateTime<Utc>> {
    let lo = Utc
        .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    let hi = Utc
        .with_ymd_and_hms(2028, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    (lo..hi).prop_map(|ts| DateTime::from_timestamp(ts, 0).unwrap())
}

fn hour_duration() -> impl Strategy<Value = u64> {
    1u64..=500 * 3600
}

fn berlin_office() -> Calendar {
    Calendar::new(spec(
        BERLIN,
        None,
        &ALL_DAYS[..5],
        &["08:00-12:00", "13:00-17:00"],
    ))
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn add_then_measure(a in start_2024_2027(), n in hour_duration()) {
        let c = ru();
        let end = c.add(a, WorkDuration::Seconds(n));
        prop_assert_eq!(c.working_time_between(a, end), TimeDelta::seconds(n as i64));
        // The earliest such instant: a second before, the time is not yet there.
        prop_assert!(c.working_time_between(a, end - TimeDelta::seconds(1)) < TimeDelta::seconds(n as i64));
    }

    #[test]
    fn sub_undoes_add(a in start_2024_2027(), n in hour_duration()) {
        let c = ru();
        let d = WorkDuration::Seconds(n);
        prop_assert_eq!(c.sub(c.add(a, d), d), c.next_working_instant(a));
    }

    #[test]
    fn add_is_monotonic(a in start_2024_2027(), gap in 0i64..30 * 86400,
                        n in hour_duration(), m in hour_duration()) {
        let c = ru();
        let b = a + TimeDelta::seconds(gap);
        let d = WorkDuration::Seconds(n);
        prop_assert!(c.add(a, d) <= c.add(b, d));
        let (lo, hi) = (n.min(m), n.max(m));
        prop_assert!(c.add(a, WorkDuration::Seconds(lo)) <= c.add(a, WorkDuration::Seconds(hi)));
    }

    #[test]
    fn days_count_working_days(a in start_2024_2027(), n in 1u32..40) {
        let c = ru();
        let end = c.add(a, WorkDuration::Days(n));
        let end_date = c.local_date(end);
        prop_assert_eq!(c.working_day_end(end_date), Some(end));
        let mut count = 0;
        let mut d = c.local_date(a).succ_opt().unwrap();
        while d <= end_date {
            count += u32::from(c.is_working_day(d));
            d = d.succ_opt().unwrap();
        }
        prop_assert_eq!(count, n);
        // Back by the same number of days: the last working day on or before a's date.
        let back = c.sub(end, WorkDuration::Days(n));
        let back_date = c.local_date(back);
        prop_assert!(back_date <= c.local_date(a));
        prop_assert_eq!(c.working_day_end(back_date), Some(back));
    }

    #[test]
    fn display_round_trips(n in any::<u64>(), days in any::<u32>()) {
        for d in [WorkDuration::Seconds(n), WorkDuration::Days(days)] {
            prop_assert_eq!(d.to_string().parse::<WorkDuration>(), Ok(d));
        }
    }

    #[test]
    fn berlin_add_then_measure(a in start_2024_2027(), n in hour_duration()) {
        let c = berlin_office();
        let d = WorkDuration::Seconds(n);
        let end = c.add(a, d);
        prop_assert_eq!(c.working_time_between(a, end), TimeDelta::seconds(n as i64));
        prop_assert_eq!(c.sub(end, d), c.next_working_instant(a));
    }
}
