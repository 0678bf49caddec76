//! Earlier cases at one place, for the possible-repeat flag (cl. 10): a scan of the newest
//! cases, bounded, no index of its own (places are compared as the core normalises them).

use super::cases::record;
use super::{Store, StoreError};
use crate::workflow::Case;
use chrono::{DateTime, Duration, Utc};
use otklik_core::repeat::{MAX_CANDIDATES, place_key};

/// The most case records one lookup reads: a busy administration's repeat window.
pub const MAX_SCANNED: usize = 2000;

/// Cases are numbered in the order they came in; detection times may be out of that order
/// by this much (forwards, late notifications), so the scan reads this far past `since`.
const SLACK_DAYS: i64 = 7;

impl Store {
    /// The newest cases (at most [`MAX_CANDIDATES`]) whose place is `place` (as
    /// [`place_key`] gives it) and that were detected at or after `since`, newest first;
    /// at most [`MAX_SCANNED`] records are read. Attachments by reference.
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
            let case = record(&k, &v)?;
            let detected = case.notification.detected_at;
            if detected < stop {
                break;
            }
            if detected >= since
                && place_key(case.notification.location.as_deref().unwrap_or("")) == place
            {
                found.push(case);
                if found.len() >= MAX_CANDIDATES {
                    break;
                }
            }
        }
        Ok(found)
    }
}
