//! New-case notices gathered into one mail (see `otklik_core::gather`): the notices held in the
//! queue give way to the mail listing them, in one transaction.

use super::blobs::encode_body;
use super::meta::MetaKey;
use super::outbox::Queued;
use super::{Store, StoreError, dec, enc, transaction_result};
use otklik_core::compose::OutMail;
use sled::Transactional;
use sled::transaction::ConflictableTransactionError;

impl Store {
    /// Takes the queued mails `replaced` out of the queue, bytes and all, and queues `with`
    /// in their place, with the meta entry `meta`, in one transaction: a crash leaves
    /// either the notices or the mail listing them, never both, never neither. Each
    /// replaced mail leaves a small mark naming the mail that took its place. Not flushed:
    /// the sender flushes before it sends anything.
    pub fn outbox_replace(
        &self,
        replaced: &[u64],
        with: &OutMail,
        meta: (&MetaKey, &str),
    ) -> Result<(), StoreError> {
        let mut old = Vec::with_capacity(replaced.len());
        for &seq in replaced {
            let key = seq.to_be_bytes();
            if let Some(head) = self.outbox.get(key)? {
                let mail: OutMail = dec(&key, &head)?;
                old.push((
                    key,
                    Queued::key_of(&mail),
                    // What became of the notice: the Message-ID of the mail that listed it
                    // (a few dozen bytes a case, for whoever reads the store).
                    MetaKey::Gathered(seq).encode(),
                ));
            }
        }
        let new_key = with.seq.to_be_bytes();
        let record = enc(with)?;
        let body = encode_body(&with.raw, &[], &mut |_, _| false);
        let queued = Queued::key_of(with);
        let meta_key = meta.0.encode();
        let mark = enc(&with.message_id)?;
        let result = (
            &self.outbox,
            &self.outbox_body,
            &self.outbox_due,
            &self.meta,
        )
            .transaction(|(outbox, bodies, queue, meta_tree)| {
                for (key, due, mark_key) in &old {
                    outbox.remove(key)?;
                    bodies.remove(key)?;
                    queue.remove(due)?;
                    meta_tree.insert(mark_key.as_slice(), mark.as_slice())?;
                }
                outbox.insert(&new_key, record.as_slice())?;
                bodies.insert(&new_key, body.as_slice())?;
                queue.insert(&queued, &[])?;
                meta_tree.insert(meta_key.as_slice(), meta.1.as_bytes())?;
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            });
        transaction_result(result)
    }
}
