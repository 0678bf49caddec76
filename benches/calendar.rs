//! Cost of the working-time arithmetic (goal: at most about 1 µs per call).
//!
//! `cargo bench --bench calendar -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use criterion::{Criterion, criterion_main};

use otklik_core::calendar::{Calendar, WorkDuration};

const BARNAUL: Tz = chrono_tz::Asia::Barnaul;

fn bar(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    BARNAUL
        .with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("an unambiguous local time")
        .to_utc()
}

fn starts() -> [(&'static str, DateTime<Utc>); 4] {
    [
        ("tue_morning", bar(2026, 12, 1, 10, 0)),
        ("fri_afternoon", bar(2026, 12, 4, 15, 0)),
        ("sat_night", bar(2026, 12, 5, 2, 0)),
        ("new_year", bar(2026, 12, 30, 15, 0)),
    ]
}

fn bench(c: &mut Criterion) {
    let cal = Calendar::ru_default(BARNAUL);
    let berlin = Calendar::ru_default(chrono_tz::Europe::Berlin);

    let nine_hours = WorkDuration::Seconds(9 * 3600);
    for (name, start) in starts() {
        c.bench_function(&format!("add_9h/{name}"), |b| {
            b.iter(|| cal.add(black_box(start), black_box(nine_hours)))
        });
    }
    let seven_days = WorkDuration::Days(7);
    for (name, start) in starts() {
        c.bench_function(&format!("add_7d/{name}"), |b| {
            b.iter(|| cal.add(black_box(start), black_box(seven_days)))
        });
    }
    let answer = bar(2026, 12, 7, 16, 0);
    let four_hours = WorkDuration::Seconds(4 * 3600);
    c.bench_function("sub_4h/monday", |b| {
        b.iter(|| cal.sub(black_box(answer), black_box(four_hours)))
    });
    let (from, to) = (bar(2026, 12, 1, 0, 0), bar(2027, 1, 1, 0, 0));
    c.bench_function("working_time_between/december_2026", |b| {
        b.iter(|| cal.working_time_between(black_box(from), black_box(to)))
    });
    c.bench_function("working_time_between/march_2026_berlin_dst", |b| {
        b.iter(|| {
            berlin.working_time_between(
                black_box(bar(2026, 3, 15, 0, 0)),
                black_box(bar(2026, 4, 15, 0, 0)),
            )
        })
    });
}

// criterion_group! defines an undocumented `pub fn benches`.
mod group {
    #![allow(missing_docs, unreachable_pub)]
    use super::bench;
    criterion::criterion_group!(benches, bench);
}
use group::benches;
criterion_main!(benches);
