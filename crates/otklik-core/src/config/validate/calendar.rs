//! The `[calendar]` section: zone, working days, hours and the production calendar.

use chrono::Weekday;
use toml::Spanned;

use super::ctx::Ctx;
use crate::calendar::{CalendarSpec, DayInterval, Preset};
use crate::config::Calendar;
use crate::config::raw::RawCalendar;

pub(super) fn parse_weekday(s: &str) -> Option<Weekday> {
    Some(match s.trim().to_ascii_lowercase().as_str() {
        "mon" | "monday" => Weekday::Mon,
        "tue" | "tuesday" => Weekday::Tue,
        "wed" | "wednesday" => Weekday::Wed,
        "thu" | "thursday" => Weekday::Thu,
        "fri" | "friday" => Weekday::Fri,
        "sat" | "saturday" => Weekday::Sat,
        "sun" | "sunday" => Weekday::Sun,
        _ => return None,
    })
}

pub(super) fn calendar(cx: &mut Ctx<'_>, s: &Spanned<RawCalendar>) -> Option<Calendar> {
    let table = s.span();
    let r = s.get_ref();
    let before = cx.problems.len();
    let timezone = cx
        .require(&r.timezone, &table, "calendar.timezone")
        .and_then(|t| cx.timezone(t, "calendar.timezone"));
    let preset = preset(cx, r);
    let workdays = workdays(cx, r);
    let hours = hours(cx, r);
    let holidays = cx.dates(&r.holidays, "calendar.holidays");
    let working_days = cx.dates(&r.working_days, "calendar.working_days");
    let shortened_days = cx.dates(&r.shortened_days, "calendar.shortened_days");
    let timezone = timezone?;
    if cx.problems.len() != before {
        return None;
    }
    let spec = CalendarSpec {
        timezone,
        preset,
        workdays,
        hours,
        holidays,
        working_days,
        shortened_days,
    };
    match Calendar::new(spec) {
        Ok(c) => Some(c),
        Err(e) => {
            cx.at(table, "calendar", e.to_string());
            None
        }
    }
}

/// `calendar.hours`: intervals in order, without overlaps; 08:00–12:00 and 13:00–17:00
/// when not set.
fn hours(cx: &mut Ctx<'_>, r: &RawCalendar) -> Vec<DayInterval> {
    match &r.hours {
        None => vec![
            DayInterval {
                start_min: 8 * 60,
                end_min: 12 * 60,
            },
            DayInterval {
                start_min: 13 * 60,
                end_min: 17 * 60,
            },
        ],
        Some(list) => {
            let mut out: Vec<DayInterval> = Vec::new();
            for (i, h) in list.get_ref().iter().enumerate() {
                let key = format!("calendar.hours[{i}]");
                match h.get_ref().parse::<DayInterval>() {
                    Ok(iv) => {
                        if let Some(prev) = out.last()
                            && iv.start_min < prev.end_min
                        {
                            cx.at(
                                h.span(),
                                &key,
                                format!(
                                    "{:?} overlaps or comes before the previous interval: \
                                         list hours in order, without overlaps",
                                    h.get_ref()
                                ),
                            );
                            continue;
                        }
                        out.push(iv);
                    }
                    Err(e) => cx.at(h.span(), &key, e.to_string()),
                }
            }
            if list.get_ref().is_empty() {
                cx.at(list.span(), "calendar.hours", "no working hours at all");
            }
            out
        }
    }
}

/// `calendar.workdays`: weekdays, each once; Monday to Friday when not set.
fn workdays(cx: &mut Ctx<'_>, r: &RawCalendar) -> Vec<Weekday> {
    match &r.workdays {
        None => vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ],
        Some(list) => {
            let mut out = Vec::new();
            for (i, d) in list.get_ref().iter().enumerate() {
                let key = format!("calendar.workdays[{i}]");
                match parse_weekday(d.get_ref()) {
                    Some(w) if out.contains(&w) => {
                        cx.at(d.span(), &key, format!("{:?} is listed twice", d.get_ref()))
                    }
                    Some(w) => out.push(w),
                    None => cx.at(
                        d.span(),
                        &key,
                        format!(
                            "unknown weekday {:?}: expected mon, tue, wed, thu, fri, sat or sun",
                            d.get_ref()
                        ),
                    ),
                }
            }
            if list.get_ref().is_empty() {
                cx.at(list.span(), "calendar.workdays", "no working days at all");
            }
            out
        }
    }
}

/// `calendar.preset`: `ru` or none.
fn preset(cx: &mut Ctx<'_>, r: &RawCalendar) -> Option<Preset> {
    match &r.preset {
        None => None,
        Some(v) => match v.get_ref().trim().to_ascii_lowercase().as_str() {
            "ru" => Some(Preset::Ru),
            "none" | "" => None,
            other => {
                cx.at(
                    v.span(),
                    "calendar.preset",
                    format!("unknown preset {other:?}: expected ru or none"),
                );
                None
            }
        },
    }
}
