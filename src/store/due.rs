//! The escalation due index: which step of which case falls due when.

use otklik_core::config::DeadlineKind;
use otklik_core::workflow::Due;

use super::{Store, StoreError, dec};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub(super) fn due_key(d: &Due) -> Vec<u8> {
    let mut k = Vec::with_capacity(8 + 8 + 4 + 1 + 8);
    k.extend_from_slice(&(d.at.timestamp().max(0) as u64).to_be_bytes());
    k.extend_from_slice(&d.case.to_be_bytes());
    k.extend_from_slice(&(d.step as u32).to_be_bytes());
    k.push(match d.kind {
        DeadlineKind::Draft => 0,
        DeadlineKind::Answer => 1,
        DeadlineKind::Rework => 2,
        DeadlineKind::Final => 3,
    });
    k.extend_from_slice(&d.deadline.timestamp().to_be_bytes());
    k
}

#[derive(Serialize, Deserialize)]
pub(super) struct DueRecord {
    pub(super) at: DateTime<Utc>,
    pub(super) case: u64,
    pub(super) step: usize,
    pub(super) kind: DeadlineKind,
    pub(super) deadline: DateTime<Utc>,
}

impl Store {
    /// Escalation steps due at or before `now`.
    pub fn due_until(&self, now: DateTime<Utc>) -> Result<Vec<Due>, StoreError> {
        let end = ((now.timestamp().max(0) as u64) + 1).to_be_bytes();
        self.due
            .range(..end.to_vec())
            .map(|kv| {
                let (k, v) = kv?;
                let r: DueRecord = dec(&k, &v)?;
                Ok(Due {
                    at: r.at,
                    case: r.case,
                    step: r.step,
                    kind: r.kind,
                    deadline: r.deadline,
                })
            })
            .collect()
    }

    /// The instant of the next escalation step.
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.due.first()? {
            Some((k, v)) => {
                let r: DueRecord = dec(&k, &v)?;
                Ok(Some(r.at))
            }
            None => Ok(None),
        }
    }
}
