//! Fast wall-clock ↔ UTC mapping for one IANA zone.
//!
//! `chrono-tz` answers every lookup with a search through the zone's whole history and
//! builds a `DateTime<Tz>` on the way, which made a month of working days cost several
//! microseconds. A [`ZoneTable`] lists the zone's offset changes between 1990 and 2100 once
//! (found by sampling the offset daily and bisecting each change to the second; two changes
//! less than a day apart that cancel out would be missed, which tzdata has no instance of in
//! that range), shared per zone by every calendar of the process. Instants outside that range
//! go to `chrono-tz` directly, so the answers are the same there, only slower.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, LocalResult, Offset, TimeZone};
use chrono_tz::{GapInfo, Tz};

/// 1990-01-01T00:00:00Z.
const TABLE_FROM: i64 = 631_152_000;
/// 2100-01-01T00:00:00Z.
const TABLE_TO: i64 = 4_102_444_800;
/// Offsets are within a day, so local and UTC seconds this far inside the range are covered.
const MARGIN: i64 = 2 * 86_400;
const DAY: i64 = 86_400;

/// The offset changes of one zone over 1990–2100.
pub(crate) struct ZoneTable {
    tz: Tz,
    /// UTC seconds at which the offset changes, ascending.
    at: Vec<i64>,
    /// `off[i]`: the offset (seconds east of UTC) in force from `at[i - 1]` until `at[i]`.
    off: Vec<i64>,
    /// `begin[i]`: the wall-clock second at which span `i + 1` begins (`at[i] + off[i + 1]`),
    /// ascending.
    begin: Vec<i64>,
}

impl fmt::Debug for ZoneTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZoneTable")
            .field("tz", &self.tz)
            .field("transitions", &self.at.len())
            .finish()
    }
}

/// The shared table of `tz`, built on first use.
pub(crate) fn table(tz: Tz) -> Arc<ZoneTable> {
    static CACHE: OnceLock<Mutex<HashMap<Tz, Arc<ZoneTable>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Ok(map) = cache.lock()
        && let Some(t) = map.get(&tz)
    {
        return Arc::clone(t);
    }
    let built = Arc::new(ZoneTable::build(tz));
    if let Ok(mut map) = cache.lock() {
        map.entry(tz).or_insert_with(|| Arc::clone(&built));
    }
    built
}

/// The offset of `tz` at UTC second `ts`, straight from `chrono-tz`.
fn tz_offset(tz: Tz, ts: i64) -> i64 {
    DateTime::from_timestamp(ts, 0).map_or(0, |t| {
        i64::from(
            tz.offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc(),
        )
    })
}

impl ZoneTable {
    fn build(tz: Tz) -> ZoneTable {
        let mut current = tz_offset(tz, TABLE_FROM);
        let (mut at, mut off) = (Vec::new(), vec![current]);
        let mut prev = TABLE_FROM;
        let mut ts = TABLE_FROM + DAY;
        while ts <= TABLE_TO {
            let o = tz_offset(tz, ts);
            if o != current {
                // The first second in (prev, ts] with another offset.
                let (mut lo, mut hi) = (prev + 1, ts);
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if tz_offset(tz, mid) != current {
                        hi = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                at.push(lo);
                off.push(o);
                current = o;
            }
            prev = ts;
            ts += DAY;
        }
        let begin = at.iter().zip(&off[1..]).map(|(t, o)| t + o).collect();
        ZoneTable { tz, at, off, begin }
    }

    fn covers(ts: i64) -> bool {
        (TABLE_FROM + MARGIN..TABLE_TO - MARGIN).contains(&ts)
    }

    /// The offset (seconds east of UTC) in force at UTC second `ts`.
    pub(crate) fn offset_at(&self, ts: i64) -> i64 {
        if !Self::covers(ts) {
            return tz_offset(self.tz, ts);
        }
        self.off[self.at.partition_point(|&t| t <= ts)]
    }

    /// The UTC second of the wall-clock second `local` (counted like a UTC timestamp): in a
    /// gap the first instant after it, in a fold the earlier of the two.
    pub(crate) fn local_to_utc(&self, local: i64) -> Option<i64> {
        if !Self::covers(local) {
            return self.slow_local_to_utc(local);
        }
        // Span i runs in UTC from at[i-1] to at[i] with offset off[i]; in wall-clock time
        // from at[i-1] + off[i] to at[i] + off[i]. Find the last span beginning at or
        // before `local` (span 0 begins at minus infinity).
        let idx = self.begin.partition_point(|&b| b <= local);
        let end = |i: usize| self.at.get(i).map_or(i64::MAX, |t| t + self.off[i]);
        if idx >= 1 && local < end(idx - 1) {
            return Some(local - self.off[idx - 1]);
        }
        if local < end(idx) {
            return Some(local - self.off[idx]);
        }
        self.at.get(idx).copied()
    }

    /// The one offset that maps every wall-clock second of the day starting at
    /// `local_midnight` (up to and including the next midnight) to UTC the way
    /// [`Self::local_to_utc`] does, if there is one (no change of offset that day).
    pub(crate) fn uniform_offset(&self, local_midnight: i64) -> Option<i64> {
        if !Self::covers(local_midnight) || !Self::covers(local_midnight + DAY) {
            return None;
        }
        // Past the last change (a zone without DST today): no search.
        let idx = match self.begin.last() {
            Some(&last) if last > local_midnight => {
                self.begin.partition_point(|&b| b <= local_midnight)
            }
            _ => self.begin.len(),
        };
        let end = |i: usize| self.at.get(i).map_or(i64::MAX, |t| t + self.off[i]);
        if idx >= 1 && local_midnight < end(idx - 1) {
            return None;
        }
        (local_midnight + DAY < end(idx)).then_some(self.off[idx])
    }

    fn slow_local_to_utc(&self, local: i64) -> Option<i64> {
        let naive = DateTime::from_timestamp(local, 0)?.naive_utc();
        match self.tz.from_local_datetime(&naive) {
            LocalResult::Single(t) => Some(t.timestamp()),
            LocalResult::Ambiguous(a, b) => Some(a.timestamp().min(b.timestamp())),
            LocalResult::None => GapInfo::new(&naive, &self.tz)?.end.map(|t| t.timestamp()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table answers exactly what `chrono-tz` answers, in zones with DST at night, at
    /// midnight, by half an hour, and without DST.
    #[test]
    fn table_agrees_with_chrono_tz() {
        let zones = [
            chrono_tz::Europe::Berlin,
            chrono_tz::Asia::Barnaul,
            chrono_tz::America::Santiago,
            chrono_tz::America::New_York,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Africa::Casablanca,
        ];
        // 2000-01-01 .. 2040-01-01, every 5 h 17 min 13 s.
        let (from, to, step) = (946_684_800, 2_208_988_800, 5 * 3600 + 17 * 60 + 13);
        for tz in zones {
            let t = table(tz);
            let mut ts = from;
            while ts < to {
                assert_eq!(t.offset_at(ts), tz_offset(tz, ts), "{tz} offset at {ts}");
                assert_eq!(
                    t.local_to_utc(ts),
                    t.slow_local_to_utc(ts),
                    "{tz} wall clock {ts}"
                );
                ts += step;
            }
        }
    }

    #[test]
    fn uniform_offset_agrees_with_local_to_utc() {
        for tz in [chrono_tz::Europe::Berlin, chrono_tz::America::Santiago] {
            let t = table(tz);
            // Every day of 2024-2027 (local midnights counted like UTC timestamps).
            let mut midnight = 1_704_067_200;
            let mut uniform_days = 0;
            while midnight < 1_830_297_600 {
                if let Some(off) = t.uniform_offset(midnight) {
                    uniform_days += 1;
                    for minute in (0..=1440).step_by(30) {
                        let local = midnight + minute * 60;
                        assert_eq!(Some(local - off), t.local_to_utc(local), "{tz} {local}");
                    }
                }
                midnight += DAY;
            }
            // All but the days around the changes.
            assert!(uniform_days > 4 * 365 - 20, "{tz}: {uniform_days}");
        }
    }

    #[test]
    fn gaps_and_folds_at_the_edges() {
        let t = table(chrono_tz::Europe::Berlin);
        // 2026-03-29 01:00 UTC: 02:00 CET becomes 03:00 CEST.
        let change = 1_774_746_000;
        let wall = |h: i64, m: i64| 1_774_742_400 + h * 3600 + m * 60; // 2026-03-29 local
        assert_eq!(t.local_to_utc(wall(2, 0)), Some(change));
        assert_eq!(t.local_to_utc(wall(2, 59)), Some(change));
        assert_eq!(t.local_to_utc(wall(3, 0)), Some(change));
        assert_eq!(t.local_to_utc(wall(1, 59)), Some(change - 60));
        // 2026-10-25 01:00 UTC: 03:00 CEST becomes 02:00 CET; 02:30 is the CEST one.
        let wall = |h: i64, m: i64| 1_792_886_400 + h * 3600 + m * 60; // 2026-10-25 local
        assert_eq!(t.local_to_utc(wall(2, 30)), Some(wall(0, 30)));
        assert_eq!(t.local_to_utc(wall(3, 0)), Some(wall(2, 0)));
        // Outside the table: still right, through chrono-tz.
        let t = table(chrono_tz::Asia::Barnaul);
        assert_eq!(t.offset_at(4_200_000_000), 7 * 3600);
        assert_eq!(
            t.local_to_utc(4_200_000_000),
            Some(4_200_000_000 - 7 * 3600)
        );
    }
}
