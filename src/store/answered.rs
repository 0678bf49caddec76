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

use super::{MetaKey, Store, StoreError, enc, u64_from};

/// One change to the archive's rows, as the `answered_log` tree keeps it by sequence
/// number: which row to read again (its current state is what the index must hold).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveChange {
    /// The `answered` row of a case was written, replaced or removed.
    Case {
        /// The case number (the row's key).
        number: u64,
        /// The case id (the archive entry's id).
        id: String,
    },
    /// An entry was imported into the `archive` tree.
    Imported {
        /// Its id.
        id: String,
    },
}

impl ArchiveChange {
    /// As stored: `c`, the case number (8 bytes, big-endian) and the id; or `i` and the id.
    pub(super) fn encode(&self) -> Vec<u8> {
        match self {
            ArchiveChange::Case { number, id } => {
                [&b"c"[..], &number.to_be_bytes(), id.as_bytes()].concat()
            }
            ArchiveChange::Imported { id } => [&b"i"[..], id.as_bytes()].concat(),
        }
    }

    /// Reads a stored change; `None` for bytes no version wrote.
    fn decode(v: &[u8]) -> Option<ArchiveChange> {
        let (kind, rest) = v.split_first()?;
        match kind {
            b'c' => {
                let (number, id) = rest.split_at_checked(8)?;
                Some(ArchiveChange::Case {
                    number: u64_from(number)?,
                    id: String::from_utf8(id.to_vec()).ok()?,
                })
            }
            b'i' => Some(ArchiveChange::Imported {
                id: String::from_utf8(rest.to_vec()).ok()?,
            }),
            _ => None,
        }
    }
}

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

    /// The archive's changes after sequence number `after`, oldest first (a change that
    /// cannot be read is an error: the index would miss it).
    pub fn archive_changes_after(
        &self,
        after: u64,
    ) -> impl Iterator<Item = Result<(u64, ArchiveChange), StoreError>> + '_ {
        let from = after.saturating_add(1).to_be_bytes();
        self.answered_log.range(from..).map(|kv| {
            let (k, v) = kv?;
            let seq = u64_from(&k);
            match (seq, ArchiveChange::decode(&v)) {
                (Some(seq), Some(change)) => Ok((seq, change)),
                _ => Err(StoreError::Damaged {
                    key: format!("answered_log/{}", hex::encode(&k)),
                    reason: "not an archive change".into(),
                }),
            }
        })
    }

    /// The sequence number of the newest logged change to the archive, 0 when none is.
    pub fn archive_changes_last(&self) -> Result<u64, StoreError> {
        Ok(match self.answered_log.last()? {
            Some((k, _)) => u64_from(&k).unwrap_or(0),
            None => 0,
        })
    }

    /// Forgets the oldest logged changes up to sequence number `upto` (a snapshot covers
    /// them), at most `at_most` of them; returns how many. Bounded because sled replays
    /// every write since it was last opened when it opens: removing a whole import's log
    /// at once (99,000 entries) made the next start's `Store::open` twice as slow.
    pub fn trim_archive_changes(&self, upto: u64, at_most: usize) -> Result<usize, StoreError> {
        let mut batch = sled::Batch::default();
        let mut n = 0usize;
        for kv in self.answered_log.range(..=upto.to_be_bytes()).take(at_most) {
            let (k, _) = kv?;
            batch.remove(k);
            n += 1;
        }
        self.answered_log.apply_batch(batch)?;
        Ok(n)
    }

    /// This store's identity: random hex chosen the first time it is asked for, then kept.
    pub fn identity(&self) -> Result<String, StoreError> {
        let key = MetaKey::StoreId.encode();
        if let Some(v) = self.meta.get(&key)? {
            return Ok(String::from_utf8_lossy(&v).into_owned());
        }
        let id = hex::encode(rand::random::<[u8; 16]>());
        // Another thread may have chosen one first: its choice stands.
        match self
            .meta
            .compare_and_swap(&key, None::<&[u8]>, Some(id.as_bytes()))?
        {
            Ok(()) => Ok(id),
            Err(e) => Ok(e
                .current
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .unwrap_or(id)),
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
