//! One event's writes ([`Commit`]), applied in one sled transaction: the case records
//! and their indexes, the inbound ledger, the outbox, the due index, absences and meta.
//!
//! In three steps: the commit's attachments are settled against the store (which bytes are
//! new: [`Store::settle`]); the commit is encoded into rows by a pure function
//! ([`encode`]), outside the transaction, which may be retried on conflict; the
//! transaction writes the rows ([`Store::write`]).

use otklik_core::compose::OutMail;
use otklik_core::inbound::sha256_hex;
use otklik_core::workflow::{Case, Due};

use super::answered::{ArchiveChange, answered_value};
use super::blobs::{RecordedRefs, SHARED_MIN, attachments, attachments_mut, encode_body};
use super::cases::{author_topic_key, norm};
use super::due::{DueRecord, due_key};
use super::ledger::InboundRecord;
use super::outbox::Queued;
use super::training::training_row;
use super::{MetaKey, Store, StoreError, dec, enc, transaction_result, u64_from};
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
    /// The mails to queue.
    pub outbox: Vec<OutMail>,
    /// Absences announced by email: Some(until) or None (back).
    pub absences: Vec<(String, Option<NaiveDate>)>,
    /// Strings for the meta tree (e.g. the date of the last digest), written with the rest.
    pub meta: Vec<(MetaKey, String)>,
    /// Due entries the timer has dealt with: removed unless a case's new schedule has them.
    pub forget_due: Vec<Due>,
    /// Training examples of the routing model the cases of this commit confirmed.
    pub training: Vec<otklik_core::learning::signals::Taught>,
    /// The message in hand is dealt with: its "in progress" mark ([`InProgress`]) goes in
    /// the same transaction as its outcome.
    ///
    /// [`InProgress`]: super::InProgress
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

/// A commit's attachments settled against the store ([`Store::settle`]).
#[derive(Debug, Default)]
pub(super) struct Settled {
    /// The attachments whose bytes are not stored yet: (case index, attachment index) in
    /// the commit, one per hash.
    pub(super) new_bytes: Vec<(usize, usize)>,
    /// The hashes computed from the bytes in hand (no need to check them again).
    pub(super) verified: HashSet<String>,
}

/// A key and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Row {
    pub(super) key: Vec<u8>,
    pub(super) value: Vec<u8>,
}

/// A case as written: its record, its place in the indexes, its due steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CaseRow {
    /// The case number, big-endian: the key in `cases`, `open`, `due_by_case`.
    pub(super) key: [u8; 8],
    pub(super) number: u64,
    /// The record (attachments by reference).
    pub(super) record: Vec<u8>,
    pub(super) open: bool,
    /// The normalised source id and link of its post (indexed when first seen).
    pub(super) source: Option<String>,
    pub(super) link: Option<String>,
    /// The normalised author and topic (the index keeps the newest case).
    pub(super) author_topic: Option<Vec<u8>>,
    /// Its due steps from now on: `due` rows.
    pub(super) due: Vec<Row>,
    /// The list of those keys, kept by case to remove them when the schedule changes.
    pub(super) due_keys: Vec<u8>,
    /// Its `answered` row when its answer is approved; `None` removes the row (an answer
    /// can be replaced).
    pub(super) answered: Option<Vec<u8>>,
    /// The case id, for the archive's change log.
    pub(super) id: String,
}

/// An outbox mail as written: its record (without the bytes), its bytes, its queue entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MailRow {
    pub(super) key: [u8; 8],
    pub(super) head: Vec<u8>,
    pub(super) body: Vec<u8>,
    pub(super) queued: [u8; 16],
}

/// A meta record written, or removed (an absence ended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MetaRow {
    pub(super) key: Vec<u8>,
    pub(super) value: Option<Vec<u8>>,
}

/// Everything one commit writes, encoded.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Rows<'c> {
    /// The number a new case takes: the counter must be at it, and moves past it.
    pub(super) new_case: Option<u64>,
    /// New attachment bytes by hash.
    pub(super) attachments: Vec<(&'c str, &'c [u8])>,
    pub(super) cases: Vec<CaseRow>,
    pub(super) inbound: Option<Row>,
    pub(super) outbox: Vec<MailRow>,
    /// Due entries to remove: those dealt with that no case's new schedule has.
    pub(super) forget_due: Vec<Vec<u8>>,
    pub(super) training: Vec<Row>,
    /// The commit's meta strings, then its absences, in that order.
    pub(super) meta: Vec<MetaRow>,
    /// Remove the "in progress" mark.
    pub(super) clears_mark: bool,
}

/// Encodes a commit whose attachments are settled into the rows it writes. Pure: the same
/// commit gives the same rows.
pub(super) fn encode<'c>(commit: &'c Commit, settled: &Settled) -> Result<Rows<'c>, StoreError> {
    let attachment_rows = settled
        .new_bytes
        .iter()
        .filter_map(|&(ci, ai)| {
            let a = attachments(&commit.cases.get(ci)?.0).nth(ai)?;
            Some((a.sha256.as_str(), a.data.as_slice()))
        })
        .collect();
    let cases: Vec<CaseRow> = commit
        .cases
        .iter()
        .map(|(case, dues)| case_row(case, dues))
        .collect::<Result<_, _>>()?;
    let forget_due = commit
        .forget_due
        .iter()
        .map(due_key)
        .filter(|k| !cases.iter().any(|c| c.due.iter().any(|r| r.key == *k)))
        .collect();
    let inbound = match &commit.inbound {
        Some((k, rec)) => Some(Row {
            key: k.as_bytes().to_vec(),
            value: enc(rec)?,
        }),
        None => None,
    };
    let training = commit
        .training
        .iter()
        .map(|t| training_row(t).map(|(key, value)| Row { key, value }))
        .collect::<Result<_, _>>()?;
    let meta = commit
        .meta
        .iter()
        .map(|(k, v)| {
            Ok(MetaRow {
                key: k.encode(),
                value: Some(v.as_bytes().to_vec()),
            })
        })
        .chain(commit.absences.iter().map(|(id, until)| {
            Ok(MetaRow {
                key: MetaKey::Absent(id.clone()).encode(),
                value: until.map(|d| enc(&d)).transpose()?,
            })
        }))
        .collect::<Result<_, StoreError>>()?;
    Ok(Rows {
        new_case: commit.new_case,
        attachments: attachment_rows,
        cases,
        inbound,
        outbox: outbox_rows(commit, settled)?,
        forget_due,
        training,
        meta,
        clears_mark: commit.clears_mark,
    })
}

/// A case's row: its record, index keys and due steps.
fn case_row(case: &Case, dues: &[Due]) -> Result<CaseRow, StoreError> {
    let due: Vec<Row> = dues
        .iter()
        .map(|d| {
            let rec = DueRecord {
                at: d.at,
                case: d.case,
                step: d.step,
                kind: d.kind,
                deadline: d.deadline,
            };
            Ok(Row {
                key: due_key(d),
                value: enc(&rec)?,
            })
        })
        .collect::<Result<_, StoreError>>()?;
    let due_keys: Vec<&Vec<u8>> = due.iter().map(|r| &r.key).collect();
    let n = &case.notification;
    Ok(CaseRow {
        key: case.number.to_be_bytes(),
        number: case.number,
        record: enc(case)?,
        open: case.state.is_open(),
        source: n.source_id.as_deref().map(norm),
        link: n.link.as_deref().map(norm),
        author_topic: match (&n.author, &n.topic) {
            (Some(a), Some(t)) => Some(author_topic_key(a, t)),
            _ => None,
        },
        due_keys: enc(&due_keys)?,
        due,
        answered: answered_value(case)?,
        id: case.id.clone(),
    })
}

/// The outbox rows: a mail carrying a case attachment of this commit in base64 keeps a
/// reference to the stored bytes instead of a copy.
fn outbox_rows(commit: &Commit, settled: &Settled) -> Result<Vec<MailRow>, StoreError> {
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
    let mut verified = settled.verified.clone();
    let mut check = |hash: &str, data: &[u8]| {
        verified.contains(hash) || {
            let ok = sha256_hex(data) == hash;
            if ok {
                verified.insert(hash.to_string());
            }
            ok
        }
    };
    commit
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
        .collect()
}

/// The trees a commit writes, inside its transaction.
struct Tx<'t> {
    cases: &'t TransactionalTree,
    inbound: &'t TransactionalTree,
    sources: &'t TransactionalTree,
    links: &'t TransactionalTree,
    authors: &'t TransactionalTree,
    outbox: &'t TransactionalTree,
    due: &'t TransactionalTree,
    due_by_case: &'t TransactionalTree,
    meta: &'t TransactionalTree,
    open: &'t TransactionalTree,
    attachments: &'t TransactionalTree,
    outbox_body: &'t TransactionalTree,
    outbox_due: &'t TransactionalTree,
    training: &'t TransactionalTree,
    answered: &'t TransactionalTree,
    answered_log: &'t TransactionalTree,
    /// A sequence number for each case of the commit, in order (for `answered_log`).
    seqs: &'t [u64],
}

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

impl Tx<'_> {
    /// Writes every row.
    fn write(&self, rows: &Rows<'_>) -> TxResult<()> {
        if let Some(number) = rows.new_case {
            self.take_case_number(number)?;
        }
        for (hash, bytes) in &rows.attachments {
            self.attachments.insert(hash.as_bytes(), *bytes)?;
        }
        let mut open_delta: i64 = 0;
        for (i, row) in rows.cases.iter().enumerate() {
            open_delta += self.write_case(row, self.seqs.get(i).copied().unwrap_or(0))?;
        }
        if let Some(row) = &rows.inbound {
            self.inbound
                .insert(row.key.as_slice(), row.value.as_slice())?;
        }
        for row in &rows.outbox {
            self.outbox.insert(&row.key, row.head.as_slice())?;
            self.outbox_body.insert(&row.key, row.body.as_slice())?;
            self.outbox_due.insert(&row.queued, &[])?;
        }
        for k in &rows.forget_due {
            self.due.remove(k.as_slice())?;
        }
        if open_delta != 0 {
            let key = MetaKey::OpenCases.encode();
            let open = self.meta.get(&key)?.and_then(|v| u64_from(&v)).unwrap_or(0) as i64;
            self.meta
                .insert(key, &((open + open_delta).max(0) as u64).to_be_bytes())?;
        }
        for row in &rows.training {
            self.training
                .insert(row.key.as_slice(), row.value.as_slice())?;
        }
        if rows.clears_mark {
            self.meta.remove(MetaKey::InProgress.encode())?;
        }
        for row in &rows.meta {
            match &row.value {
                Some(v) => self.meta.insert(row.key.as_slice(), v.as_slice())?,
                None => self.meta.remove(row.key.as_slice())?,
            };
        }
        Ok(())
    }

    /// Moves the case counter past `number`, which must be the next one.
    fn take_case_number(&self, number: u64) -> TxResult<()> {
        let key = MetaKey::NextCase.encode();
        let next = self.meta.get(&key)?.and_then(|v| u64_from(&v)).unwrap_or(1);
        if next != number {
            return Err(ConflictableTransactionError::Abort(
                StoreError::CaseNumber {
                    expected: number,
                    found: next,
                },
            ));
        }
        self.meta.insert(key, &(next + 1).to_be_bytes())?;
        Ok(())
    }

    /// Writes one case with its indexes and due steps; returns how the count of open
    /// cases changes (-1, 0, 1).
    fn write_case(&self, row: &CaseRow, seq: u64) -> TxResult<i64> {
        let key = &row.key;
        let was_open = self
            .cases
            .insert(key, row.record.as_slice())?
            .and_then(|old| serde_json::from_slice::<StateOnly>(&old).ok())
            .is_some_and(|old| old.state.is_open());
        if row.open {
            self.open.insert(key, &[])?;
        } else {
            self.open.remove(key)?;
        }
        if let Some(s) = &row.source {
            put_if_absent(self.sources, s.as_bytes(), key)?;
        }
        if let Some(l) = &row.link {
            put_if_absent(self.links, l.as_bytes(), key)?;
        }
        if let Some(k) = &row.author_topic {
            let newer = match self.authors.get(k)?.and_then(|v| u64_from(&v)) {
                Some(existing) => existing <= row.number,
                None => true,
            };
            if newer {
                self.authors.insert(k.as_slice(), key)?;
            }
        }
        if let Some(old) = self.due_by_case.get(key)? {
            // Unreadable, its entries would linger; the timer forgets every entry it has
            // dealt with, so none can stay due for ever.
            let old_keys: Vec<Vec<u8>> = serde_json::from_slice(&old).unwrap_or_else(|e| {
                tracing::warn!(case = row.number, error = %e, "unreadable due-key list; the timer will clear its entries");
                Vec::new()
            });
            for k in old_keys {
                self.due.remove(k)?;
            }
        }
        for r in &row.due {
            self.due.insert(r.key.as_slice(), r.value.as_slice())?;
        }
        self.due_by_case.insert(key, row.due_keys.as_slice())?;
        let old = match &row.answered {
            Some(v) => self.answered.insert(key, v.as_slice())?,
            None => self.answered.remove(key)?,
        };
        // Logged only when the row changes: most commits leave it as it was.
        if old.as_deref() != row.answered.as_deref() {
            let change = ArchiveChange::Case {
                number: row.number,
                id: row.id.clone(),
            };
            self.answered_log
                .insert(&seq.to_be_bytes(), change.encode())?;
        }
        Ok(i64::from(row.open) - i64::from(was_open))
    }
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
        let settled = self.settle(&mut commit)?;
        let rows = encode(&commit, &settled)?;
        self.write(&rows)
    }

    /// Settles each attachment's hash (computed when absent, or when the bytes are in hand
    /// and the hash is new to the case) and which bytes are new to the store; an
    /// attachment with neither its bytes nor stored bytes is an error.
    fn settle(&self, commit: &mut Commit) -> Result<Settled, StoreError> {
        let mut settled = Settled::default();
        let mut new_hashes: HashSet<String> = HashSet::new();
        for (ci, (case, _)) in commit.cases.iter_mut().enumerate() {
            let known = self.recorded_hashes(case.number)?;
            let number = case.number;
            for (ai, a) in attachments_mut(case).enumerate() {
                let complete = a.data.len() as u64 == a.size;
                if a.sha256.is_empty() || (complete && !known.contains(&a.sha256)) {
                    a.sha256 = sha256_hex(&a.data);
                    a.size = a.data.len() as u64;
                    settled.verified.insert(a.sha256.clone());
                }
                if known.contains(&a.sha256) || new_hashes.contains(&a.sha256) {
                    continue;
                }
                if a.data.len() as u64 == a.size {
                    new_hashes.insert(a.sha256.clone());
                    settled.new_bytes.push((ci, ai));
                } else if !self.attachments.contains_key(a.sha256.as_bytes())? {
                    return Err(StoreError::MissingAttachment {
                        case: number,
                        sha256: a.sha256.clone(),
                    });
                }
            }
        }
        Ok(settled)
    }

    /// Writes a commit's rows in one transaction (the trees as a slice: sled's tuples stop
    /// at 14).
    fn write(&self, rows: &Rows<'_>) -> Result<(), StoreError> {
        let trees = [
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
            &self.answered,
            &self.answered_log,
        ];
        // Taken before the transaction (sled numbers outside it); a retry reuses them.
        // Commits are made under the writer lock, so numbers follow commit order.
        let seqs = rows
            .cases
            .iter()
            .map(|_| self.generate_id())
            .collect::<Result<Vec<u64>, StoreError>>()?;
        let result = trees[..].transaction(|views| {
            let [
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
                answered,
                answered_log,
            ] = views.as_slice()
            else {
                return Err(ConflictableTransactionError::Storage(
                    sled::Error::ReportableBug(format!(
                        "a transaction over {} trees gave {} views",
                        trees.len(),
                        views.len()
                    )),
                ));
            };
            let tx = Tx {
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
                answered,
                answered_log,
                seqs: &seqs,
            };
            tx.write(rows)
        });
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use otklik_core::config::DeadlineKind;
    use otklik_core::intake::Notification;
    use otklik_core::workflow::{CaseDeadlines, State};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap()
    }

    fn case(number: u64, state: State) -> Case {
        Case {
            number,
            id: format!("OTK-{number}"),
            state,
            executor: Some("housing".into()),
            notification: Notification {
                source_id: Some(" S-7 ".into()),
                topic: Some("ЖКХ".into()),
                location: None,
                category: None,
                source: None,
                link: Some("https://VK.com/wall-1_7".into()),
                author: Some("Иван".into()),
                detected_at: t0(),
                text: "Нет воды.".into(),
                repeat: false,
                attachments: vec![],
                warnings: vec![],
            },
            repeat_of: None,
            earlier_answer: None,
            similar: Vec::new(),
            possible_repeat: None,
            possible_abuse: None,
            final_draft_at: None,
            deadlines: CaseDeadlines::default(),
            draft: None,
            approved: None,
            history: vec![],
            fired: Default::default(),
            first_draft_at: None,
            answered_at: None,
            published_at: None,
            awaiting_publication: None,
            final_approved_at: None,
            final_published_at: None,
            closed_at: None,
            approval_round: 0,
        }
    }

    fn due(case: u64, step: usize, hours: i64) -> Due {
        Due {
            at: t0() + Duration::hours(hours),
            case,
            step,
            kind: DeadlineKind::Answer,
            deadline: t0() + Duration::hours(9),
        }
    }

    /// The rows say what the transaction will write, each under its name: the case with
    /// its index keys and due steps, the due entries to forget (not the ones the new
    /// schedule keeps), the meta strings before the absences, the mark.
    #[test]
    fn a_commit_encodes_to_named_rows() {
        let dues = vec![due(7, 0, 4), due(7, 1, 9)];
        let commit = Commit {
            inbound: Some((
                "mid:a@b".into(),
                InboundRecord {
                    disposition: otklik_core::decide::Disposition::Processed,
                    case: Some(7),
                    at: t0(),
                    note: "n".into(),
                },
            )),
            cases: vec![(case(7, State::Assigned), dues.clone())],
            new_case: Some(7),
            absences: vec![
                ("housing".into(), NaiveDate::from_ymd_opt(2026, 12, 9)),
                ("roads".into(), None),
            ],
            meta: vec![(MetaKey::LastDigest, "2026-12-01".into())],
            forget_due: vec![due(7, 0, 4), due(7, 0, 2)],
            clears_mark: true,
            ..Commit::default()
        };
        let rows = encode(&commit, &Settled::default()).unwrap();
        assert_eq!(rows.new_case, Some(7));
        assert!(rows.clears_mark);
        assert_eq!(rows.inbound.as_ref().unwrap().key, b"mid:a@b");
        let [row] = rows.cases.as_slice() else {
            panic!("one case row: {:?}", rows.cases.len())
        };
        assert_eq!(row.key, 7u64.to_be_bytes());
        assert!(row.open);
        assert_eq!(row.source.as_deref(), Some("s-7"));
        assert_eq!(row.link.as_deref(), Some("https://vk.com/wall-1_7"));
        assert_eq!(row.author_topic, Some("иван\u{0}жкх".as_bytes().to_vec()));
        let keys: Vec<Vec<u8>> = dues.iter().map(due_key).collect();
        assert_eq!(
            row.due.iter().map(|r| r.key.clone()).collect::<Vec<_>>(),
            keys
        );
        let listed: Vec<Vec<u8>> = serde_json::from_slice(&row.due_keys).unwrap();
        assert_eq!(listed, keys);
        assert_eq!(rows.forget_due, vec![due_key(&due(7, 0, 2))]);
        let meta: Vec<(String, Option<Vec<u8>>)> = rows
            .meta
            .iter()
            .map(|m| (String::from_utf8(m.key.clone()).unwrap(), m.value.clone()))
            .collect();
        assert_eq!(
            meta,
            vec![
                ("digest_last_date".into(), Some(b"2026-12-01".to_vec())),
                ("absent:housing".into(), Some(b"\"2026-12-09\"".to_vec())),
                ("absent:roads".into(), None),
            ]
        );
        // Pure: the same commit, the same rows.
        assert_eq!(encode(&commit, &Settled::default()).unwrap(), rows);
    }

    /// A case whose answer is approved writes its `answered` row; any other case's commit
    /// removes it (an interim answer is no answer).
    #[test]
    fn an_approved_answer_writes_the_archive_row_and_anything_else_removes_it() {
        let mut c = case(4, State::Approved);
        let row = |c: &Case| {
            let commit = Commit {
                cases: vec![(c.clone(), vec![])],
                ..Commit::default()
            };
            encode(&commit, &Settled::default()).unwrap().cases[0]
                .answered
                .clone()
        };
        assert_eq!(row(&c), None);
        let draft = |kind| otklik_core::workflow::Draft {
            kind,
            text: "Воду дали.".into(),
            attachments: vec![],
            by: "housing@example.ru".into(),
            at: t0(),
        };
        c.approved = Some(draft(otklik_core::workflow::DraftKind::Answer));
        let v: serde_json::Value = serde_json::from_slice(&row(&c).unwrap()).unwrap();
        assert_eq!(v["id"], "OTK-4");
        assert_eq!(v["answer"], "Воду дали.");
        assert_eq!(v["text"], "Нет воды.");
        assert_eq!(v["executor"], "housing");
        assert_eq!(v["detected_at"], "2026-12-01T03:00:00Z");
        c.approved = Some(draft(otklik_core::workflow::DraftKind::Interim));
        assert_eq!(row(&c), None);
    }

    #[test]
    fn a_closed_case_leaves_the_open_index() {
        let commit = Commit {
            cases: vec![(case(3, State::Closed), vec![])],
            ..Commit::default()
        };
        let rows = encode(&commit, &Settled::default()).unwrap();
        assert!(!rows.cases[0].open);
        assert!(rows.cases[0].due.is_empty());
        assert_eq!(rows.cases[0].due_keys, b"[]");
    }
}
