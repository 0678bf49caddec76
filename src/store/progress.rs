//! The "in progress" mark: the message being handled, on disk before it is parsed, so
//! that a message which takes the process down is recognised after the restart and set
//! aside instead of being handled (and crashing the service) again.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{MetaKey, Store, StoreError, enc};

/// The message being handled, written (and flushed) before it is parsed and cleared with
/// its outcome: a message still marked after a restart is the one that took the process
/// down ([`Store::mark_in_progress`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InProgress {
    /// The intake mailbox, its UIDVALIDITY and the message's UID.
    pub mailbox: String,
    /// The intake mailbox's UIDVALIDITY.
    pub uid_validity: u32,
    /// The message's UID.
    pub uid: u32,
    /// Hex SHA-256 of the message's bytes (what the ledger keys a set-aside message by).
    pub sha256: String,
    /// The message's size in bytes.
    pub size: u64,
    /// When handling began.
    pub at: DateTime<Utc>,
    /// Starts of the service since the mark was written (0 while the first run handles it).
    #[serde(default)]
    pub restarts: u32,
    /// One of those ends was a crash (an abort, a stack overflow), not a kill from outside.
    #[serde(default)]
    pub crashed: bool,
}

impl Store {
    /// Writes the "in progress" mark for the message about to be handled and flushes it: it
    /// must be on disk before the parser sees the message.
    pub fn mark_in_progress(&self, mark: &InProgress) -> Result<(), StoreError> {
        self.meta.insert(MetaKey::InProgress.encode(), enc(mark)?)?;
        self.db.flush()?;
        Ok(())
    }

    /// The "in progress" mark, if a message is marked. A damaged mark reads as none (it
    /// names no message anyone could set aside).
    pub fn in_progress(&self) -> Result<Option<InProgress>, StoreError> {
        let Some(v) = self.meta.get(MetaKey::InProgress.encode())? else {
            return Ok(None);
        };
        match serde_json::from_slice(&v) {
            Ok(mark) => Ok(Some(mark)),
            Err(e) => {
                tracing::warn!(error = %e, "the in-progress mark is unreadable; ignored");
                Ok(None)
            }
        }
    }

    /// At start: a mark left by the last run gets one more restart (and `crashed` when that
    /// run died of a crash), flushed.
    pub fn note_restart(&self, crashed: bool) -> Result<Option<InProgress>, StoreError> {
        let Some(mut mark) = self.in_progress()? else {
            return Ok(None);
        };
        mark.restarts = mark.restarts.saturating_add(1);
        mark.crashed |= crashed;
        self.mark_in_progress(&mark)?;
        Ok(Some(mark))
    }

    /// Removes the mark (a message that needed no commit of its own).
    pub fn clear_in_progress(&self) -> Result<(), StoreError> {
        self.meta.remove(MetaKey::InProgress.encode())?;
        Ok(())
    }
}
