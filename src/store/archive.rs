//! Imported earlier posts and their approved answers (`otklik archive import`), by id.

use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{ArchiveChange, Store, StoreError};

impl Store {
    /// The imported archive entries, in id order.
    pub fn archive_entries(
        &self,
    ) -> impl Iterator<Item = Result<otklik_core::archive::Entry, StoreError>> + '_ {
        self.archive.iter().map(|kv| {
            let (k, v) = kv?;
            serde_json::from_slice(&v).map_err(|source| StoreError::Corrupt {
                key: format!("archive/{}", String::from_utf8_lossy(&k)),
                source,
            })
        })
    }

    /// The imported archive entry `id`, if there is one.
    pub fn archive_entry(
        &self,
        id: &str,
    ) -> Result<Option<otklik_core::archive::Entry>, StoreError> {
        let Some(v) = self.archive.get(id.as_bytes())? else {
            return Ok(None);
        };
        serde_json::from_slice(&v)
            .map(Some)
            .map_err(|source| StoreError::Corrupt {
                key: format!("archive/{id}"),
                source,
            })
    }

    /// Whether the archive holds an imported entry `id`.
    pub fn archive_has(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.archive.contains_key(id.as_bytes())?)
    }

    /// Writes imported entries in one transaction and flushes: all of them, or (when an id
    /// is already in the archive) none, `Ok(Err(id))`.
    pub fn import_archive(
        &self,
        entries: &[otklik_core::archive::Entry],
    ) -> Result<Result<usize, String>, StoreError> {
        let _writer = self.writer();
        let encoded = entries
            .iter()
            .map(|e| {
                Ok((
                    e.id.clone(),
                    serde_json::to_vec(e).map_err(StoreError::Encode)?,
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Each entry is logged for the index snapshot, numbered under the writer lock.
        let seqs = encoded
            .iter()
            .map(|_| self.generate_id())
            .collect::<Result<Vec<u64>, StoreError>>()?;
        let done = (&self.archive, &self.answered_log).transaction(|(t, log)| {
            for ((id, bytes), seq) in encoded.iter().zip(&seqs) {
                if t.insert(id.as_bytes(), bytes.as_slice())?.is_some() {
                    return Err(ConflictableTransactionError::Abort(id.clone()));
                }
                let change = ArchiveChange::Imported { id: id.clone() };
                log.insert(&seq.to_be_bytes(), change.encode())?;
            }
            Ok(())
        });
        match done {
            Ok(()) => {
                self.db.flush()?;
                Ok(Ok(entries.len()))
            }
            Err(TransactionError::Abort(id)) => Ok(Err(id)),
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }
}
