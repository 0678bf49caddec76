//! The outbox: mails waiting to be sent, their due index, sent marks and dead letters.

use otklik_core::compose::OutMail;

use super::blobs::encode_body;
use super::{MetaKey, MetaPrefix, Store, StoreError, dec, enc, transaction_result, u64_from};
use chrono::{DateTime, Utc};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

/// A mail waiting in the outbox, by when it is due: the sender reads the queue in pages of
/// these and loads one whole mail at a time ([`Store::outbox_mail`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Queued {
    /// When it is due (to the millisecond).
    pub due: DateTime<Utc>,
    /// Its number in the outbox.
    pub seq: u64,
}

impl Queued {
    pub(super) fn key(&self) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&(self.due.timestamp_millis().max(0) as u64).to_be_bytes());
        k[8..].copy_from_slice(&self.seq.to_be_bytes());
        k
    }

    pub(super) fn key_of(mail: &OutMail) -> [u8; 16] {
        Queued {
            due: mail.next_attempt,
            seq: mail.seq,
        }
        .key()
    }

    pub(super) fn from_key(k: &[u8]) -> Option<Queued> {
        let ms = u64_from(k.get(..8)?)?;
        let seq = u64_from(k.get(8..16)?)?;
        Some(Queued {
            due: DateTime::from_timestamp_millis(i64::try_from(ms).ok()?)?,
            seq,
        })
    }
}

/// What [`Store::outbox_resend`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resend {
    /// The dead letter is queued again.
    Done,
    /// No dead letter by that number: it is in the queue.
    Queued,
    /// No mail by that number, queued or dead (sent, or never written).
    Unknown,
}

impl Store {
    /// Moves a store written before the outbox kept its bodies apart to that layout: each
    /// queued mail's bytes to `outbox_body`, an entry in `outbox_due`. Once.
    pub(super) fn split_outbox(&self) -> Result<(), StoreError> {
        // Set once the outbox has its bodies and due index apart (stores written before
        // had neither).
        if self.meta.contains_key(MetaKey::OutboxSplit.encode())? {
            return Ok(());
        }
        for kv in self.outbox.iter() {
            let (k, v) = kv?;
            let mail: OutMail = dec(&k, &v)?;
            if !self.outbox_body.contains_key(&k)? {
                self.outbox_body
                    .insert(&k, encode_body(&mail.raw, &[], &mut |_, _| false))?;
            }
            self.outbox.insert(&k, enc(&mail)?)?;
            self.outbox_due.insert(Queued::key_of(&mail), &[])?;
        }
        self.meta.insert(MetaKey::OutboxSplit.encode(), &[])?;
        self.db.flush()?;
        Ok(())
    }

    /// Every outbox mail at once, in sequence order (for tests and tools; the sender reads
    /// [`Store::outbox_queue`] page by page).
    pub fn outbox(&self) -> Result<Vec<OutMail>, StoreError> {
        let mut out = Vec::new();
        for k in self.outbox.iter().keys() {
            if let Some(seq) = u64_from(&k?)
                && let Some(mail) = self.outbox_mail(seq)?
            {
                out.push(mail);
            }
        }
        Ok(out)
    }

    /// Up to `limit` queued mails after `after`, the soonest due first (then in the order
    /// they were written).
    pub fn outbox_queue(
        &self,
        after: Option<Queued>,
        limit: usize,
    ) -> Result<Vec<Queued>, StoreError> {
        let range = match after {
            Some(q) => self.outbox_due.range((
                std::ops::Bound::Excluded(q.key().to_vec()),
                std::ops::Bound::Unbounded,
            )),
            None => self.outbox_due.iter(),
        };
        let mut out = Vec::with_capacity(limit.min(1024));
        for k in range.keys().take(limit) {
            let k = k?;
            match Queued::from_key(&k) {
                Some(q) => out.push(q),
                None => {
                    return Err(StoreError::Damaged {
                        key: format!("outbox_due {k:?}"),
                        reason: "not a due instant and a sequence number".into(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// One queued mail with its bytes, or None once it has left the outbox.
    pub fn outbox_mail(&self, seq: u64) -> Result<Option<OutMail>, StoreError> {
        let key = seq.to_be_bytes();
        let Some(head) = self.outbox.get(key)? else {
            return Ok(None);
        };
        let mut mail: OutMail = dec(&key, &head)?;
        if let Some(body) = self.outbox_body.get(key)? {
            mail.raw = self.decode_body(seq, &body)?;
        }
        Ok(Some(mail))
    }

    /// A queued mail's record without its bytes (`raw` empty), or None once it left.
    pub fn outbox_record(&self, seq: u64) -> Result<Option<OutMail>, StoreError> {
        let key = seq.to_be_bytes();
        let Some(head) = self.outbox.get(key)? else {
            return Ok(None);
        };
        Ok(Some(dec(&key, &head)?))
    }

    /// A queued mail's case and first recipient (read without its bytes), or None once it
    /// left: what the sender orders mails by.
    pub fn outbox_lane_key(&self, seq: u64) -> Result<Option<(Option<u64>, String)>, StoreError> {
        Ok(self
            .outbox_record(seq)?
            .map(|mail| (mail.case, mail.to.into_iter().next().unwrap_or_default())))
    }

    /// Moves a queued mail's next attempt to `at`, its attempts and last error kept (what
    /// it waited for is over); nothing once it left. Not flushed: losing it in a crash
    /// only leaves the mail its former time.
    pub fn outbox_due_at(&self, seq: u64, at: DateTime<Utc>) -> Result<(), StoreError> {
        let key = seq.to_be_bytes();
        let Some(head) = self.outbox.get(key)? else {
            return Ok(());
        };
        let mut mail: OutMail = dec(&key, &head)?;
        let old_queued = Queued::key_of(&mail);
        mail.next_attempt = at;
        let record = enc(&mail)?;
        let new_queued = Queued::key_of(&mail);
        let result = (&self.outbox, &self.outbox_due).transaction(|(outbox, queue)| {
            // Sent or tried meanwhile: it is no longer where it was read.
            if queue.remove(&old_queued)?.is_none() {
                return Ok(());
            }
            outbox.insert(&key, record.as_slice())?;
            queue.insert(&new_queued, &[])?;
            Ok::<_, ConflictableTransactionError<StoreError>>(())
        });
        transaction_result(result)
    }

    /// How many mails wait in the outbox.
    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    /// When the queued mail that has waited longest was written (its record only, never
    /// its bytes).
    pub fn outbox_oldest(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let mut oldest: Option<DateTime<Utc>> = None;
        for kv in self.outbox.iter() {
            let (k, v) = kv?;
            let mail: OutMail = dec(&k, &v)?;
            oldest = Some(oldest.map_or(mail.created, |o| o.min(mail.created)));
        }
        Ok(oldest)
    }

    /// The message was accepted by the SMTP server: it leaves the outbox, its bytes with
    /// it; a small sent-mark stays (until [`Store::sweep`]).
    pub fn outbox_sent(&self, seq: u64, at: DateTime<Utc>) -> Result<(), StoreError> {
        let key = seq.to_be_bytes();
        let Some(head) = self.outbox.get(key)? else {
            return Ok(());
        };
        let mail: OutMail = dec(&key, &head)?;
        let mark = enc(&(mail.message_id.as_str(), at))?;
        // The sent-mark: (Message-ID, when).
        let sent_key = MetaKey::Sent(seq).encode();
        let result = (
            &self.outbox,
            &self.outbox_body,
            &self.outbox_due,
            &self.meta,
        )
            .transaction(|(outbox, body, queue, meta)| {
                outbox.remove(&key)?;
                body.remove(&key)?;
                queue.remove(&Queued::key_of(&mail))?;
                meta.insert(sent_key.as_slice(), mark.as_slice())?;
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            });
        transaction_result(result)
    }

    /// A failed attempt: try again at `next`, or give up (`next` None: permanent failure;
    /// the mail is kept, bytes and all, as a dead letter).
    pub fn outbox_failed(
        &self,
        mail: &OutMail,
        error: &str,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let key = mail.seq.to_be_bytes();
        let Some(head) = self.outbox.get(key)? else {
            return Ok(());
        };
        let stored: OutMail = dec(&key, &head)?;
        let old_queued = Queued::key_of(&stored);
        let mut m = stored;
        m.last_error = Some(error.to_string());
        let dead_key = MetaKey::Dead(mail.seq).encode();
        if let Some(next) = next {
            m.attempts += 1;
            m.next_attempt = next;
        }
        let record = enc(&m)?;
        let new_queued = Queued::key_of(&m);
        let result =
            (&self.outbox, &self.outbox_due, &self.meta).transaction(|(outbox, queue, meta)| {
                queue.remove(&old_queued)?;
                if next.is_some() {
                    outbox.insert(&key, record.as_slice())?;
                    queue.insert(&new_queued, &[])?;
                } else {
                    outbox.remove(&key)?;
                    meta.insert(dead_key.as_slice(), record.as_slice())?;
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            });
        transaction_result(result)
    }

    /// The sequence numbers of the dead letters, in order (their records are small; the
    /// bytes stay where they are until [`Store::dead_letter`] reads one).
    pub fn dead_letter_seqs(&self) -> Result<Vec<u64>, StoreError> {
        let mut out = Vec::new();
        for k in self.meta.scan_prefix(MetaPrefix::Dead.bytes()).keys() {
            let k = k?;
            let Some(MetaKey::Dead(seq)) = MetaKey::decode(&k) else {
                return Err(StoreError::Damaged {
                    key: String::from_utf8_lossy(&k).into_owned(),
                    reason: "not a dead letter's sequence number".into(),
                });
            };
            out.push(seq);
        }
        Ok(out)
    }

    /// One dead letter with its bytes, or None when `seq` is not one.
    pub fn dead_letter(&self, seq: u64) -> Result<Option<OutMail>, StoreError> {
        let key = MetaKey::Dead(seq).encode();
        let Some(v) = self.meta.get(&key)? else {
            return Ok(None);
        };
        let mut mail: OutMail = dec(&key, &v)?;
        if let Some(body) = self.outbox_body.get(seq.to_be_bytes())? {
            mail.raw = self.decode_body(seq, &body)?;
        }
        Ok(Some(mail))
    }

    /// Puts dead letter `seq` back in the queue, due at `now` with its attempts reset (the
    /// last error stays, to show what happened before), in one transaction. Its bytes never
    /// left `outbox_body`. Not flushed: the caller flushes before it answers.
    pub fn outbox_resend(&self, seq: u64, now: DateTime<Utc>) -> Result<Resend, StoreError> {
        let dead = MetaKey::Dead(seq).encode();
        let key = seq.to_be_bytes();
        let Some(v) = self.meta.get(&dead)? else {
            return Ok(if self.outbox.contains_key(key)? {
                Resend::Queued
            } else {
                Resend::Unknown
            });
        };
        let mut mail: OutMail = dec(&dead, &v)?;
        mail.attempts = 0;
        mail.next_attempt = now;
        let record = enc(&mail)?;
        let queued = Queued::key_of(&mail);
        let result =
            (&self.outbox, &self.outbox_due, &self.meta).transaction(|(outbox, queue, meta)| {
                // Resent meanwhile by another caller: nothing to do.
                if meta.remove(dead.as_slice())?.is_none() {
                    return Ok(false);
                }
                outbox.insert(&key, record.as_slice())?;
                queue.insert(&queued, &[])?;
                Ok::<_, ConflictableTransactionError<StoreError>>(true)
            });
        match result {
            Ok(true) => Ok(Resend::Done),
            Ok(false) => Ok(Resend::Queued),
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(StoreError::Sled(e)),
        }
    }

    /// Messages that could not be delivered at all, with their bytes.
    pub fn dead_letters(&self) -> Result<Vec<OutMail>, StoreError> {
        let mut out = Vec::new();
        for kv in self.meta.scan_prefix(MetaPrefix::Dead.bytes()) {
            let (k, v) = kv?;
            let mut mail: OutMail = dec(&k, &v)?;
            if let Some(body) = self.outbox_body.get(mail.seq.to_be_bytes())? {
                mail.raw = self.decode_body(mail.seq, &body)?;
            }
            out.push(mail);
        }
        Ok(out)
    }
}
