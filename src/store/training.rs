//! The training examples cases confirmed (a draft by the executor, `НАЗНАЧИТЬ` by the
//! coordinator, `НЕ МОЯ КОМПЕТЕНЦИЯ`): the core works them out from the case before and
//! after an event ([`otklik_core::learning::signals::learned`]); they are written in the same
//! commit as that event, and the service trains its routing model from them at start.
//!
//! Key: case number (8 bytes, big-endian) ‖ `+` or `-` ‖ executor id — a case teaches each
//! thing once, and the examples come back in case order.

use otklik_core::learning::signals::{Signal, Taught};

use super::{Store, StoreError, dec, enc};

pub(super) fn training_key(t: &Taught) -> Vec<u8> {
    let (sign, id) = match &t.signal {
        Signal::Positive(id) => (b'+', id),
        Signal::Negative(id) => (b'-', id),
    };
    let mut k = Vec::with_capacity(9 + id.len());
    k.extend_from_slice(&t.case.to_be_bytes());
    k.push(sign);
    k.extend_from_slice(id.as_bytes());
    k
}

pub(super) fn training_row(t: &Taught) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
    Ok((training_key(t), enc(t)?))
}

impl Store {
    /// Every stored training example, in case order. A damaged record is skipped with a
    /// warning: one lost example must not keep the service from starting.
    pub fn training(&self) -> Result<Vec<Taught>, StoreError> {
        let mut out = Vec::new();
        for kv in self.training.iter() {
            let (k, v) = kv?;
            match dec::<Taught>(&k, &v) {
                Ok(t) => out.push(t),
                Err(e) => tracing::warn!(error = %e, "a damaged training example is skipped"),
            }
        }
        Ok(out)
    }

    /// How many training examples are stored.
    pub fn training_len(&self) -> usize {
        self.training.len()
    }
}
