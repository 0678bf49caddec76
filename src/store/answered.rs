//! Our own cases whose answer was approved, as the archive of earlier answers needs them
//! (the `answered` tree): the post and the answer, not the whole case with its history, so
//! that start-up indexes them without reading every case ever opened. Written with the
//! case, in the same transaction ([`super::Commit`]); filled once from `cases` when a store
//! of format 1 is opened ([`Store::fill_answered`]).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use otklik_core::archive::Entry;
use otklik_core::workflow::Case;

use super::{Store, StoreError, enc, u64_from};

/// What the archive keeps of a case whose answer was approved: the
/// [`Entry`] fields and when the post was detected (UTC), so that its date is taken in the
/// calendar's zone when the archive is built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Answered {
    id: String,
    topic: String,
    location: String,
    text: String,
    answer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    executor: Option<String>,
    detected_at: DateTime<Utc>,
}

impl Answered {
    /// The record of a case whose answer is approved; `None` for any other case.
    pub(super) fn of_case(case: &Case) -> Option<Answered> {
        let e = Entry::of_case(case, chrono_tz::UTC)?;
        Some(Answered {
            id: e.id,
            topic: e.topic,
            location: e.location,
            text: e.text,
            answer: e.answer,
            executor: e.executor,
            detected_at: case.notification.detected_at,
        })
    }

    /// The archive entry, dated by the post's detection in `zone` (as
    /// [`Entry::of_case`] dates it).
    fn entry(self, zone: Tz) -> Entry {
        Entry {
            id: self.id,
            topic: self.topic,
            location: self.location,
            text: self.text,
            answer: self.answer,
            date: Some(self.detected_at.with_timezone(&zone).date_naive()),
            executor: self.executor,
        }
    }
}

/// The `answered` value a committed case writes: its record when its answer is approved,
/// `None` when the row is to be removed (no approved answer, or not any more).
pub(super) fn answered_value(case: &Case) -> Result<Option<Vec<u8>>, StoreError> {
    Answered::of_case(case).map(|a| enc(&a)).transpose()
}

/// Reads an `answered` record.
fn decode(key: &[u8], bytes: &[u8]) -> Result<Answered, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        key: match u64_from(key) {
            Some(n) => format!("answered/{n}"),
            None => format!("answered/{}", String::from_utf8_lossy(key)),
        },
        source,
    })
}

impl Store {
    /// The archive entries of our cases whose answer was approved, oldest case first,
    /// dated in `zone`.
    pub fn answered_entries(
        &self,
        zone: Tz,
    ) -> impl Iterator<Item = Result<Entry, StoreError>> + '_ {
        self.answered.iter().map(move |kv| {
            let (k, v) = kv?;
            Ok(decode(&k, &v)?.entry(zone))
        })
    }

    /// The archive entry of case `number`, if its answer was approved (dated in `zone`).
    pub fn answered_entry(&self, number: u64, zone: Tz) -> Result<Option<Entry>, StoreError> {
        let key = number.to_be_bytes();
        match self.answered.get(key)? {
            Some(v) => Ok(Some(decode(&key, &v)?.entry(zone))),
            None => Ok(None),
        }
    }

    /// The damaged `answered` records (`otklik check-store`), one line each, and how many
    /// records were read.
    pub(super) fn check_answered(&self) -> Result<(usize, Vec<String>), StoreError> {
        let mut problems = Vec::new();
        let mut records = 0usize;
        for kv in self.answered.iter() {
            let (k, v) = kv?;
            records += 1;
            if let Err(e) = decode(&k, &v) {
                problems.push(format!("archived answer: {e}"));
            }
        }
        Ok((records, problems))
    }

    /// Fills the `answered` tree from a one-time scan of `cases` (the migration to format
    /// 2). A case record that cannot be read is left out and logged (`otklik check-store`
    /// names it); returns how many rows were written.
    pub(super) fn fill_answered(&self) -> Result<usize, StoreError> {
        // Row by row, not in one batch: a store of 100,000 answers would hold them all in
        // memory. Interrupted, the migration runs again (the version is written after).
        let mut written = 0usize;
        for kv in self.cases.iter() {
            let (k, v) = kv?;
            let case = match super::cases::record(&k, &v) {
                Ok(case) => case,
                Err(e) => {
                    tracing::warn!(case = u64_from(&k).unwrap_or(0), error = %e, "a case record is unreadable; its answer is left out of the archive");
                    continue;
                }
            };
            if let Some(value) = answered_value(&case)? {
                self.answered.insert(k, value)?;
                written += 1;
            }
        }
        Ok(written)
    }
}
