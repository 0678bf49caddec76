//! The inbound ledger: what became of each message taken in, which makes handling
//! idempotent, and its sweep after `retention`.

use otklik_core::decide::Disposition;

use super::{MetaPrefix, Store, StoreError, dec};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What became of an inbound message (the ledger that makes handling idempotent).

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundRecord {
    /// Where the message went.
    pub disposition: Disposition,
    /// The case it was about, if any.
    pub case: Option<u64>,
    /// When it was handled.
    pub at: DateTime<Utc>,
    /// What was done, for the log.
    pub note: String,
}

/// The key of an inbound message in the ledger: its Message-ID, else a hash of its bytes.
pub fn inbound_key(message_id: Option<&str>, sender: Option<&str>, raw: &[u8]) -> String {
    let hex = |bytes: &[u8]| -> String { hex::encode(bytes) };
    match message_id.map(str::trim).filter(|m| !m.is_empty()) {
        // The Message-ID alone would let anyone pre-empt a notification by sending junk
        // with the ID it will carry: the sender and the body count too. Trace headers
        // (Received, Delivered-To) differ between two deliveries of one message; the body
        // does not. Hashed, so a hostile megabyte-long Message-ID costs 32 bytes.
        Some(mid) => {
            let mut h = Sha256::new();
            for part in [
                mid.as_bytes(),
                sender.unwrap_or("").as_bytes(),
                body_of(raw),
            ] {
                h.update((part.len() as u64).to_be_bytes());
                h.update(part);
            }
            format!("mid:{}", hex(&h.finalize()))
        }
        None => format!("sha:{}", hex(&Sha256::digest(raw))),
    }
}

/// The bytes after the header (the whole message when it has no blank line).
pub(super) fn body_of(raw: &[u8]) -> &[u8] {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => &raw[a.min(b)..],
        (Some(a), None) | (None, Some(a)) => &raw[a..],
        (None, None) => raw,
    }
}

/// Removes `keys` from `tree` in one batch; how many there were.
pub(super) fn remove_all(
    tree: &sled::Tree,
    keys: &mut Vec<sled::IVec>,
) -> Result<usize, StoreError> {
    let n = keys.len();
    if n > 0 {
        let mut batch = sled::Batch::default();
        for k in keys.drain(..) {
            batch.remove(k);
        }
        tree.apply_batch(batch)?;
    }
    Ok(n)
}

/// The sweep removes this many entries at a time.
pub(super) const SWEEP_BATCH: usize = 1024;

impl Store {
    /// The ledger record of inbound message `key`, if it was handled.
    pub fn inbound(&self, key: &str) -> Result<Option<InboundRecord>, StoreError> {
        match self.inbound.get(key.as_bytes())? {
            Some(v) => Ok(Some(dec(key.as_bytes(), &v)?)),
            None => Ok(None),
        }
    }

    /// Deletes the bookkeeping older than `before`: inbound-ledger records and sent-marks.
    /// Cases (the record), their attachments, queued mails and dead letters stay. Returns
    /// how many entries went. A record that cannot be read is left (and logged).
    pub fn sweep(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut gone = 0;
        let mut old = Vec::new();
        for kv in self.inbound.iter() {
            let (k, v) = kv?;
            match serde_json::from_slice::<InboundRecord>(&v) {
                Ok(rec) if rec.at < before => old.push(k),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(key = %String::from_utf8_lossy(&k), error = %e, "unreadable ledger record; kept")
                }
            }
            if old.len() >= SWEEP_BATCH {
                gone += remove_all(&self.inbound, &mut old)?;
            }
        }
        gone += remove_all(&self.inbound, &mut old)?;
        for kv in self.meta.scan_prefix(MetaPrefix::Sent.bytes()) {
            let (k, v) = kv?;
            match serde_json::from_slice::<(String, DateTime<Utc>)>(&v) {
                Ok((_, at)) if at < before => old.push(k),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(key = %String::from_utf8_lossy(&k), error = %e, "unreadable sent-mark; kept")
                }
            }
            if old.len() >= SWEEP_BATCH {
                gone += remove_all(&self.meta, &mut old)?;
            }
        }
        gone += remove_all(&self.meta, &mut old)?;
        Ok(gone)
    }

    /// Deletes the waiting confirmations (`confirm:…` in the meta tree, each with the
    /// message it would act on) asked before `before`: past their week they can no longer
    /// be answered. Returns how many went; one that cannot be read is left (and logged).
    pub fn sweep_confirmations(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        #[derive(serde::Deserialize)]
        struct Asked {
            pending: AskedAt,
        }
        #[derive(serde::Deserialize)]
        struct AskedAt {
            asked_at: DateTime<Utc>,
        }
        let mut gone = 0;
        let mut old = Vec::new();
        for kv in self.meta.scan_prefix(MetaPrefix::Confirm.bytes()) {
            let (k, v) = kv?;
            match serde_json::from_slice::<Asked>(&v) {
                Ok(a) if a.pending.asked_at < before => old.push(k),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(key = %String::from_utf8_lossy(&k), error = %e, "unreadable confirmation; kept")
                }
            }
            if old.len() >= SWEEP_BATCH {
                gone += remove_all(&self.meta, &mut old)?;
            }
        }
        gone += remove_all(&self.meta, &mut old)?;
        Ok(gone)
    }
}
