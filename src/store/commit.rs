//! One event's writes ([`Commit`]), applied in one sled transaction: the case records
//! and their indexes, the inbound ledger, the outbox, the due index, absences and meta.

use otklik_core::compose::OutMail;
use otklik_core::inbound::sha256_hex;
use otklik_core::workflow::{Case, Due};

use super::blobs::{RecordedRefs, SHARED_MIN, attachments, attachments_mut, encode_body};
use super::cases::{author_topic_key, norm};
use super::due::{DueRecord, due_key};
use super::ledger::InboundRecord;
use super::outbox::Queued;
use super::progress::IN_PROGRESS;
use super::training::training_row;
use super::{NEXT_CASE, OPEN_CASES, Store, StoreError, dec, enc, transaction_result, u64_from};
use chrono::NaiveDate;
use serde::Deserialize;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use std::collections::HashSet;

/// One event's writes, applied atomically.
#[derive(Debug, Default, Clone)]
pub struct Commit {
    /// The inbound message this event came from, and what became of it.
    pub inbound: Option<(String, InboundRecord)>,
    /// Cases written (new or changed), with the due steps they have from now on.
    pub cases: Vec<(Case, Vec<Due>)>,
    /// A new case took this number (from [`Store::peek_next_case`]); the counter moves
    /// past it in the same transaction, so numbers are never reused and have no gaps.
    pub new_case: Option<u64>,
    pub outbox: Vec<OutMail>,
    /// Absences announced by email: Some(until) or None (back).
    pub absences: Vec<(String, Option<NaiveDate>)>,
    /// Strings for the meta tree (e.g. the date of the last digest), written with the rest.
    pub meta: Vec<(String, String)>,
    /// Due entries the timer has dealt with: removed unless a case's new schedule has them.
    pub forget_due: Vec<Due>,
    /// Training examples of the routing model the cases of this commit confirmed.
    pub training: Vec<otklik_core::routing::signals::Taught>,
    /// The message in hand is dealt with: its "in progress" mark ([`InProgress`]) goes in
    /// the same transaction as its outcome.
    pub clears_mark: bool,
}

/// Only the state of a stored case (to keep the open-case count without decoding it all).
#[derive(Deserialize)]
pub(super) struct StateOnly {
    pub(super) state: otklik_core::workflow::State,
}

pub(super) fn put_if_absent(
    tree: &TransactionalTree,
    key: &[u8],
    value: &[u8],
) -> Result<(), sled::transaction::UnabortableTransactionError> {
    if tree.get(key)?.is_none() {
        tree.insert(key, value)?;
    }
    Ok(())
}

/// An outbox mail as written: its record (without the bytes), its bytes, its queue entry.
pub(super) struct MailRow {
    pub(super) key: [u8; 8],
    pub(super) head: Vec<u8>,
    pub(super) body: Vec<u8>,
    pub(super) queued: [u8; 16],
}

impl Store {
    /// Writes one event atomically.
    ///
    /// A case's attachments go to the attachment tree when their hash first appears in its
    /// record (hashed then, whatever the hash field said); a case read with
    /// [`Store::case_record`] (no bytes) can be committed back as long as its attachments
    /// are stored. An outbox mail carrying a case attachment of this commit in base64 keeps
    /// a reference to the stored bytes instead of a copy.
    pub fn commit(&self, mut commit: Commit) -> Result<(), StoreError> {
        // Attachments first: settle each one's hash, and which bytes are new.
        let mut new_bytes: Vec<(String, usize, usize)> = Vec::new(); // hash, case index, attachment index
        let mut verified: HashSet<String> = HashSet::new();
        for (ci, (case, _)) in commit.cases.iter_mut().enumerate() {
            let known = self.recorded_hashes(case.number)?;
            let number = case.number;
            for (ai, a) in attachments_mut(case).enumerate() {
                let complete = a.data.len() as u64 == a.size;
                if a.sha256.is_empty() || (complete && !known.contains(&a.sha256)) {
                    a.sha256 = sha256_hex(&a.data);
                    a.size = a.data.len() as u64;
                    verified.insert(a.sha256.clone());
                }
                if known.contains(&a.sha256) || new_bytes.iter().any(|(h, ..)| *h == a.sha256) {
                    continue;
                }
                if a.data.len() as u64 == a.size {
                    new_bytes.push((a.sha256.clone(), ci, ai));
                } else if !self.attachments.contains_key(a.sha256.as_bytes())? {
                    return Err(StoreError::MissingAttachment {
                        case: number,
                        sha256: a.sha256.clone(),
                    });
                }
            }
        }
        let commit = commit;
        let attachment_rows: Vec<(&str, &[u8])> = new_bytes
            .iter()
            .filter_map(|(h, ci, ai)| {
                let a = attachments(&commit.cases.get(*ci)?.0).nth(*ai)?;
                Some((h.as_str(), a.data.as_slice()))
            })
            .collect();
        // What an outbox mail of this commit may carry: the attachments with their bytes,
        // large enough to be worth a reference.
        let mut shared: Vec<(&str, &[u8])> = Vec::new();
        for (case, _) in &commit.cases {
            for a in attachments(case) {
                if a.data.len() >= SHARED_MIN
                    && a.data.len() as u64 == a.size
                    && !shared.iter().any(|(h, _)| *h == a.sha256)
                {
                    shared.push((a.sha256.as_str(), a.data.as_slice()));
                }
            }
        }
        let mut check = |hash: &str, data: &[u8]| {
            verified.contains(hash) || {
                let ok = sha256_hex(data) == hash;
                if ok {
                    verified.insert(hash.to_string());
                }
                ok
            }
        };

        // Encode outside the transaction (it may be retried on conflict).
        let mut case_rows = Vec::new();
        for (case, dues) in &commit.cases {
            let due_rows: Vec<(Vec<u8>, Vec<u8>)> = dues
                .iter()
                .map(|d| {
                    let rec = DueRecord {
                        at: d.at,
                        case: d.case,
                        step: d.step,
                        kind: d.kind,
                        deadline: d.deadline,
                    };
                    Ok((due_key(d), enc(&rec)?))
                })
                .collect::<Result<_, StoreError>>()?;
            let due_keys: Vec<Vec<u8>> = due_rows.iter().map(|(k, _)| k.clone()).collect();
            case_rows.push((case.number, enc(case)?, due_rows, enc(&due_keys)?, case));
        }
        let inbound_row = match &commit.inbound {
            Some((k, rec)) => Some((k.clone(), enc(rec)?)),
            None => None,
        };
        let outbox_rows: Vec<MailRow> = commit
            .outbox
            .iter()
            .map(|m| {
                Ok(MailRow {
                    key: m.seq.to_be_bytes(),
                    head: enc(m)?,
                    body: encode_body(&m.raw, &shared, &mut check),
                    queued: Queued::key_of(m),
                })
            })
            .collect::<Result<_, StoreError>>()?;
        let absence_rows: Vec<(Vec<u8>, Option<Vec<u8>>)> = commit
            .absences
            .iter()
            .map(|(id, until)| {
                let key = format!("absent:{id}").into_bytes();
                Ok((key, until.map(|d| enc(&d)).transpose()?))
            })
            .collect::<Result<_, StoreError>>()?;
        let new_case = commit.new_case;
        let forget_keys: Vec<Vec<u8>> = commit.forget_due.iter().map(due_key).collect();
        let training_rows: Vec<(Vec<u8>, Vec<u8>)> = commit
            .training
            .iter()
            .map(training_row)
            .collect::<Result<_, StoreError>>()?;

        let result = (
            &self.cases,
            &self.inbound,
            &self.sources,
            &self.links,
            &self.authors,
            &self.outbox,
            &self.due,
            &self.due_by_case,
            &self.meta,
            &self.open,
            &self.attachments,
            &self.outbox_body,
            &self.outbox_due,
            &self.training,
        )
            .transaction(
                |(
                    cases,
                    inbound,
                    sources,
                    links,
                    authors,
                    outbox,
                    due,
                    due_by_case,
                    meta,
                    open,
                    attachments,
                    outbox_body,
                    outbox_due,
                    training,
                )| {
                    if let Some(number) = new_case {
                        let next = meta.get(NEXT_CASE)?.and_then(|v| u64_from(&v)).unwrap_or(1);
                        if next != number {
                            return Err(ConflictableTransactionError::Abort(
                                StoreError::CaseNumber {
                                    expected: number,
                                    found: next,
                                },
                            ));
                        }
                        meta.insert(NEXT_CASE, &(next + 1).to_be_bytes())?;
                    }
                    for (hash, bytes) in &attachment_rows {
                        attachments.insert(hash.as_bytes(), *bytes)?;
                    }
                    let mut open_delta: i64 = 0;
                    for (number, bytes, due_rows, due_keys, case) in &case_rows {
                        let key = number.to_be_bytes();
                        let was_open = cases
                            .insert(&key, bytes.as_slice())?
                            .and_then(|old| serde_json::from_slice::<StateOnly>(&old).ok())
                            .map(|old| old.state.is_open());
                        open_delta +=
                            i64::from(case.state.is_open()) - i64::from(was_open.unwrap_or(false));
                        if case.state.is_open() {
                            open.insert(&key, &[])?;
                        } else {
                            open.remove(&key)?;
                        }
                        let n = &case.notification;
                        if let Some(s) = &n.source_id {
                            put_if_absent(sources, norm(s).as_bytes(), &key)?;
                        }
                        if let Some(l) = &n.link {
                            put_if_absent(links, norm(l).as_bytes(), &key)?;
                        }
                        if let (Some(a), Some(t)) = (&n.author, &n.topic) {
                            let k = author_topic_key(a, t);
                            let newer = match authors.get(&k)?.and_then(|v| u64_from(&v)) {
                                Some(existing) => existing <= *number,
                                None => true,
                            };
                            if newer {
                                authors.insert(k, &key)?;
                            }
                        }
                        if let Some(old) = due_by_case.get(key)? {
                            // Unreadable, its entries would linger; the timer forgets every
                            // entry it has dealt with, so none can stay due for ever.
                            let old_keys: Vec<Vec<u8>> = serde_json::from_slice(&old).unwrap_or_else(|e| {
                                tracing::warn!(case = number, error = %e, "unreadable due-key list; the timer will clear its entries");
                                Vec::new()
                            });
                            for k in old_keys {
                                due.remove(k)?;
                            }
                        }
                        for (k, v) in due_rows {
                            due.insert(k.as_slice(), v.as_slice())?;
                        }
                        due_by_case.insert(&key, due_keys.as_slice())?;
                    }
                    if let Some((k, v)) = &inbound_row {
                        inbound.insert(k.as_bytes(), v.as_slice())?;
                    }
                    for row in &outbox_rows {
                        outbox.insert(&row.key, row.head.as_slice())?;
                        outbox_body.insert(&row.key, row.body.as_slice())?;
                        outbox_due.insert(&row.queued, &[])?;
                    }
                    for k in &forget_keys {
                        if !case_rows.iter().any(|row| row.2.iter().any(|(key, _)| key == k)) {
                            due.remove(k.as_slice())?;
                        }
                    }
                    if open_delta != 0 {
                        let open = meta
                            .get(OPEN_CASES)?
                            .and_then(|v| u64_from(&v))
                            .unwrap_or(0) as i64;
                        meta.insert(
                            OPEN_CASES,
                            &((open + open_delta).max(0) as u64).to_be_bytes(),
                        )?;
                    }
                    for (k, v) in &commit.meta {
                        meta.insert(k.as_bytes(), v.as_bytes())?;
                    }
                    for (k, v) in &training_rows {
                        training.insert(k.as_slice(), v.as_slice())?;
                    }
                    if commit.clears_mark {
                        meta.remove(IN_PROGRESS)?;
                    }
                    for (k, v) in &absence_rows {
                        match v {
                            Some(v) => meta.insert(k.as_slice(), v.as_slice())?,
                            None => meta.remove(k.as_slice())?,
                        };
                    }
                    Ok::<_, ConflictableTransactionError<StoreError>>(())
                },
            );
        transaction_result(result)
    }

    /// The attachment hashes the stored record of a case refers to (its bytes are stored:
    /// they went in with the record that first named them). Records from before hashes
    /// were recorded name none.
    pub(super) fn recorded_hashes(&self, number: u64) -> Result<HashSet<String>, StoreError> {
        let key = number.to_be_bytes();
        let Some(v) = self.cases.get(key)? else {
            return Ok(HashSet::new());
        };
        let refs: RecordedRefs = dec(&key, &v)?;
        Ok(refs
            .notification
            .attachments
            .into_iter()
            .chain(refs.draft.into_iter().flat_map(|d| d.attachments))
            .chain(refs.approved.into_iter().flat_map(|d| d.attachments))
            .map(|a| a.sha256)
            .filter(|h| !h.is_empty())
            .collect())
    }
}
