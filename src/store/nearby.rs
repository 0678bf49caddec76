//! Earlier cases at one place, for the possible-repeat flag (cl. 10): a scan of the newest
//! cases, bounded, no index of its own (places are compared as the core normalises them).

use super::cases::record;
use super::{Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use otklik_core::repeat::{MAX_CANDIDATES, place_key};
use otklik_core::workflow::Case;
use serde::Deserialize;

/// The two fields of a case record the scan compares: read without building the case (its
/// history and texts are skipped, not allocated); only a match is read in full.
#[derive(Deserialize)]
struct Peek {
    notification: PeekNotification,
}

#[derive(Deserialize)]
struct PeekNotification {
    #[serde(default)]
    location: Option<String>,
    detected_at: DateTime<Utc>,
}

/// The most case records one lookup reads: a month of a busy district (about 30 posts a
/// day). Each is parsed for two fields only; `tests/store_nearby.rs` prints what the whole
/// bound costs.
pub(super) const MAX_SCANNED: usize = 1000;

/// Cases are numbered in the order they came in; detection times may be out of that order
/// by this much (forwards, late notifications), so the scan reads this far past `since`.
const SLACK_DAYS: i64 = 7;

impl Store {
    /// The newest cases (at most [`MAX_CANDIDATES`]) whose place is `place` (as
    /// [`place_key`] gives it) and that were detected at or after `since`, newest first;
    /// at most [`MAX_SCANNED`] records are read, damaged ones skipped. Attachments by
    /// reference.
    pub fn cases_at_place(
        &self,
        place: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<Case>, StoreError> {
        let mut found = Vec::new();
        if place.is_empty() {
            return Ok(found);
        }
        let stop = since - Duration::days(SLACK_DAYS);
        for kv in self.cases.iter().rev().take(MAX_SCANNED) {
            let (k, v) = kv?;
            // A damaged record is no reason to stop intake: the flag is a hint, and
            // `otklik check-store` reports the record.
            let Ok(peek) = super::dec::<Peek>(&k, &v) else {
                continue;
            };
            let detected = peek.notification.detected_at;
            if detected < stop {
                break;
            }
            if detected >= since
                && place_key(peek.notification.location.as_deref().unwrap_or("")) == place
            {
                let Ok(case) = record(&k, &v) else {
                    continue;
                };
                found.push(case);
                if found.len() >= MAX_CANDIDATES {
                    break;
                }
            }
        }
        Ok(found)
    }
}
