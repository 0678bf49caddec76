//! The `ru` preset: the Russian production calendar, from the crate `holidays-ru`.
//!
//! Public holidays are those of the Labour Code of the Russian Federation, art. 112;
//! pre-holiday days are one hour shorter by art. 95. The transfers of days off (and the
//! working Saturdays they create) are fixed every year by a decree of the Government of
//! the Russian Federation; `holidays-ru` 0.2.2 carries them and cites:
//!
//! - 2024: Постановление Правительства РФ от 10.08.2023 № 1314 «О переносе выходных дней
//!   в 2024 году» (working Saturdays 27 Apr, 2 Nov, 28 Dec);
//! - 2025: Постановление Правительства РФ от 04.10.2024 № 1335 «О переносе выходных дней
//!   в 2025 году» (working Saturday 1 Nov);
//! - 2026: Постановление Правительства РФ от 24.09.2025 № 1466 «О переносе выходных дней
//!   в 2026 году» (no working Saturday; 3 Nov is a shortened day);
//! - 2027: Постановление Правительства РФ от 17.09.2026 № 1187 «О переносе выходных дней
//!   в 2027 году» (working, shortened Saturday 20 Feb; 22 Feb is a day off).
//!
//! Caution on 2027: the crate's 2027 transfers are the same as those of the 2021 decree
//! (ПП РФ от 10.10.2020 № 1648; 2021 and 2027 share their weekdays), while a draft reported
//! in December 2025 had a working Saturday on 13 Nov 2027 instead. We follow the crate;
//! if the decree in force differs, `holidays` / `working_days` /
//! `shortened_days` in the config correct it without a new build.
//!
//! The crate has decreed data for 1993–2027 ([`holidays_ru::LAST_FACT_YEAR`]) and an
//! algorithmic forecast from the Labour Code for other years up to 2100; a forecast is
//! reported by [`PresetDay::predicted`]. Beyond 2100 the preset has nothing to say and the
//! calendar falls back to its plain weekdays.

use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate};
use holidays_ru::{Federal, Resolved};

/// What the preset says about one date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PresetDay {
    /// Not worked even if it falls on one of the calendar's `workdays` (a public holiday
    /// or a day off transferred onto a weekday).
    pub off: bool,
    /// Worked even though it is a weekend (a transferred working Saturday).
    pub extra_working: bool,
    /// A pre-holiday day, one hour shorter.
    pub short: bool,
    /// The year's data is a forecast, not a decree.
    pub predicted: bool,
}

/// The preset's view of `date`, or `None` outside the crate's years (1900–2100).
///
/// The years [`TABLE_FIRST_YEAR`]..=[`TABLE_LAST_YEAR`] are looked up once per process
/// into a table of one byte a day, so that a day costs an index instead of the crate's
/// date arithmetic.
pub(crate) fn day(date: NaiveDate) -> Option<PresetDay> {
    let table = TABLE.get_or_init(build_table);
    let index = date.num_days_from_ce() - table_first().num_days_from_ce();
    match usize::try_from(index).ok().and_then(|i| table.get(i)) {
        Some(&bits) => unpack(bits),
        None => lookup(date),
    }
}

const TABLE_FIRST_YEAR: i32 = 1990;
const TABLE_LAST_YEAR: i32 = 2100;
static TABLE: OnceLock<Vec<u8>> = OnceLock::new();

const OFF: u8 = 1;
const EXTRA_WORKING: u8 = 2;
const SHORT: u8 = 4;
const PREDICTED: u8 = 8;
const MISSING: u8 = 16;

fn table_first() -> NaiveDate {
    NaiveDate::from_ymd_opt(TABLE_FIRST_YEAR, 1, 1).unwrap_or(NaiveDate::MIN)
}

fn build_table() -> Vec<u8> {
    let first = table_first();
    first
        .iter_days()
        .take_while(|d| d.year() <= TABLE_LAST_YEAR)
        .map(|d| pack(lookup(d)))
        .collect()
}

fn pack(day: Option<PresetDay>) -> u8 {
    let Some(d) = day else { return MISSING };
    (u8::from(d.off) * OFF)
        | (u8::from(d.extra_working) * EXTRA_WORKING)
        | (u8::from(d.short) * SHORT)
        | (u8::from(d.predicted) * PREDICTED)
}

fn unpack(bits: u8) -> Option<PresetDay> {
    (bits & MISSING == 0).then_some(PresetDay {
        off: bits & OFF != 0,
        extra_working: bits & EXTRA_WORKING != 0,
        short: bits & SHORT != 0,
        predicted: bits & PREDICTED != 0,
    })
}

/// Straight from the crate.
fn lookup(date: NaiveDate) -> Option<PresetDay> {
    let resolved = holidays_ru::flags::<Federal, NaiveDate>(date)?;
    let predicted = matches!(resolved, Resolved::Predict(_));
    let flags = resolved.value();
    Some(PresetDay {
        // A holiday on a weekend is still a holiday for a six-day week; a day off on a
        // weekday is a holiday or a transfer target.
        off: flags.is_holiday() || (flags.is_day_off() && !flags.is_weekend()),
        extra_working: flags.is_working_day() && flags.is_weekend(),
        short: flags.is_short_day(),
        predicted,
    })
}

/// True when the preset's data for `date` is a forecast (or missing).
pub(crate) fn is_predicted(date: NaiveDate) -> bool {
    day(date).is_none_or(|d| d.predicted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day_: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day_).unwrap()
    }

    #[test]
    fn decreed_days_match_the_crate() {
        // 2026-11-03 (Tue) is a pre-holiday shortened day, 2026-11-04 a holiday.
        let nov3 = day(d(2026, 11, 3)).unwrap();
        assert!(nov3.short && !nov3.off && !nov3.predicted);
        assert!(day(d(2026, 11, 4)).unwrap().off);
        // 2027-02-20 is a working (and shortened) Saturday, 2027-02-22 a day off.
        let feb20 = day(d(2027, 2, 20)).unwrap();
        assert!(feb20.extra_working && feb20.short);
        assert!(day(d(2027, 2, 22)).unwrap().off);
        // An ordinary Saturday is neither off-on-a-weekday nor extra working.
        let sat = day(d(2026, 11, 28)).unwrap();
        assert!(!sat.off && !sat.extra_working);
        // A holiday on a Saturday (2026-05-09) is off.
        assert!(day(d(2026, 5, 9)).unwrap().off);
    }

    #[test]
    fn table_matches_the_crate() {
        let mut date = d(2023, 1, 1);
        while date.year() < 2029 {
            assert_eq!(day(date), lookup(date), "{date}");
            date = date.succ_opt().unwrap();
        }
        assert_eq!(day(d(1989, 12, 31)), lookup(d(1989, 12, 31)));
        assert_eq!(day(d(2101, 1, 1)), None);
    }

    #[test]
    fn forecast_years_are_predicted() {
        assert!(!is_predicted(d(2027, 6, 1)));
        assert!(is_predicted(d(2028, 6, 1)));
        assert!(is_predicted(d(2200, 6, 1)));
    }
}
