//! The durable state: cases, their history, the inbound-message ledger,
//! the lookup indexes, the outbox, the escalation due index and email-announced absences,
//! in sled. Every event is one [`Commit`], written in one transaction and flushed before
//! anything is acknowledged (the IMAP move, the timer).

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use crate::config::DeadlineKind;
use crate::workflow::{Case, Due};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store at {path}: {source}")]
    Open { path: String, source: sled::Error },
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    #[error("store record {key} is unreadable: {source}")]
    Corrupt {
        key: String,
        source: serde_json::Error,
    },
    #[error(
        "store: case number {expected} was taken meanwhile (next is {found}); is a second writer running?"
    )]
    CaseNumber { expected: u64, found: u64 },
    #[error("store: cannot encode a record: {0}")]
    Encode(serde_json::Error),
}

impl StoreError {
    /// The store is held by another process (the daemon is running).
    pub fn is_locked(&self) -> bool {
        match self {
            StoreError::Open {
                source: sled::Error::Io(e),
                ..
            } => e.kind() == std::io::ErrorKind::WouldBlock || e.to_string().contains("lock"),
            _ => false,
        }
    }
}

/// What became of an inbound message (the ledger that makes handling idempotent).
pub use crate::decide::Disposition;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundRecord {
    pub disposition: Disposition,
    pub case: Option<u64>,
    pub at: DateTime<Utc>,
    pub note: String,
}

pub use crate::compose::OutMail;

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
}

/// The key of an inbound message in the ledger: its Message-ID, else a hash of its bytes.
pub fn inbound_key(message_id: Option<&str>, sender: Option<&str>, raw: &[u8]) -> String {
    let hex = |bytes: &[u8]| -> String { bytes.iter().map(|b| format!("{b:02x}")).collect() };
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
fn body_of(raw: &[u8]) -> &[u8] {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => &raw[a.min(b)..],
        (Some(a), None) | (None, Some(a)) => &raw[a..],
        (None, None) => raw,
    }
}

/// Normalises a lookup key (source id, link, author, topic): trimmed, lower-case, `ё`→`е`.
pub fn norm(s: &str) -> String {
    s.trim().to_lowercase().replace('ё', "е")
}

fn author_topic_key(author: &str, topic: &str) -> Vec<u8> {
    format!("{}\u{0}{}", norm(author), norm(topic)).into_bytes()
}

fn due_key(d: &Due) -> Vec<u8> {
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
struct DueRecord {
    at: DateTime<Utc>,
    case: u64,
    step: usize,
    kind: DeadlineKind,
    deadline: DateTime<Utc>,
}

fn enc<T: Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(StoreError::Encode)
}

fn dec<T: for<'de> Deserialize<'de>>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        source,
    })
}

/// The sled store. Single writer: the daemon, or a CLI command while the daemon is down.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    cases: sled::Tree,
    inbound: sled::Tree,
    sources: sled::Tree,
    links: sled::Tree,
    authors: sled::Tree,
    outbox: sled::Tree,
    due: sled::Tree,
    due_by_case: sled::Tree,
    meta: sled::Tree,
    /// Numbers of the open cases (not closed, not excluded): rescheduling, digests and
    /// queues read these instead of every case ever opened.
    open: sled::Tree,
    writer: std::sync::Arc<std::sync::Mutex<()>>,
}

/// Held by whoever reads a case, decides and commits (the mail handler, the escalation
/// timer, rescheduling): one writer at a time, so no decision is made on a stale case.
pub struct WriterGuard<'a>(#[allow(dead_code)] std::sync::MutexGuard<'a, ()>);

const NEXT_CASE: &[u8] = b"next_case";
const OPEN_CASES: &[u8] = b"open_cases";

/// Only the state of a stored case (to keep the open-case count without decoding it all).
#[derive(Deserialize)]
struct StateOnly {
    state: crate::workflow::State,
}

impl Store {
    /// Opens (creating) the store in `dir`. The page cache is kept small: the working set
    /// is the open cases and the outbox, not the archive.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join("store");
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(8 * 1024 * 1024)
            .flush_every_ms(Some(500))
            .mode(sled::Mode::LowSpace)
            .open()
            .map_err(|source| StoreError::Open {
                path: path.display().to_string(),
                source,
            })?;
        let tree = |name: &str| db.open_tree(name);
        Ok(Store {
            cases: tree("cases")?,
            inbound: tree("inbound")?,
            sources: tree("sources")?,
            links: tree("links")?,
            authors: tree("authors")?,
            outbox: tree("outbox")?,
            due: tree("due")?,
            due_by_case: tree("due_by_case")?,
            meta: tree("meta")?,
            open: tree("open")?,
            writer: std::sync::Arc::new(std::sync::Mutex::new(())),
            db,
        })
    }

    /// Takes the writer lock (blocking). A panic of an earlier holder does not poison it:
    /// the store itself is transactional.
    pub fn writer(&self) -> WriterGuard<'_> {
        WriterGuard(
            self.writer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// Durably writes everything committed so far.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.db.flush_async().await?;
        Ok(())
    }

    pub fn flush_blocking(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        Ok(())
    }

    /// A unique, ever-increasing number (outbox sequence and Message-ID nonce).
    pub fn generate_id(&self) -> Result<u64, StoreError> {
        Ok(self.db.generate_id()?)
    }

    /// The number the next new case will get.
    pub fn peek_next_case(&self) -> Result<u64, StoreError> {
        Ok(match self.meta.get(NEXT_CASE)? {
            Some(v) => u64_from(&v).unwrap_or(1),
            None => 1,
        })
    }

    pub fn inbound(&self, key: &str) -> Result<Option<InboundRecord>, StoreError> {
        match self.inbound.get(key.as_bytes())? {
            Some(v) => Ok(Some(dec(key.as_bytes(), &v)?)),
            None => Ok(None),
        }
    }

    pub fn case(&self, number: u64) -> Result<Option<Case>, StoreError> {
        let key = number.to_be_bytes();
        match self.cases.get(key)? {
            Some(v) => Ok(Some(dec(&key, &v)?)),
            None => Ok(None),
        }
    }

    fn case_via(&self, tree: &sled::Tree, key: &[u8]) -> Result<Option<Case>, StoreError> {
        match tree.get(key)? {
            Some(v) => match u64_from(&v) {
                Some(n) => self.case(n),
                None => Ok(None),
            },
            None => Ok(None),
        }
    }

    pub fn case_by_source_id(&self, source_id: &str) -> Result<Option<Case>, StoreError> {
        self.case_via(&self.sources, norm(source_id).as_bytes())
    }

    pub fn case_by_link(&self, link: &str) -> Result<Option<Case>, StoreError> {
        self.case_via(&self.links, norm(link).as_bytes())
    }

    /// The latest case by this author on this topic.
    pub fn latest_by_author_topic(
        &self,
        author: &str,
        topic: &str,
    ) -> Result<Option<Case>, StoreError> {
        self.case_via(&self.authors, &author_topic_key(author, topic))
    }

    /// All cases, oldest first.
    pub fn cases(&self) -> impl Iterator<Item = Result<Case, StoreError>> + '_ {
        self.cases.iter().map(|kv| {
            let (k, v) = kv?;
            dec(&k, &v)
        })
    }

    /// How many cases are open (not closed, not excluded): O(1), kept by every commit.
    pub fn open_case_count(&self) -> usize {
        self.meta
            .get(OPEN_CASES)
            .ok()
            .flatten()
            .and_then(|v| u64_from(&v))
            .unwrap_or(0) as usize
    }

    /// How many cases there are: O(1), since numbers have no gaps and cases are never
    /// deleted (sled's `len` would scan the whole tree).
    pub fn case_count(&self) -> usize {
        self.peek_next_case()
            .map(|next| next.saturating_sub(1) as usize)
            .unwrap_or(0)
    }

    /// Absences announced by email.
    pub fn absences(&self) -> Result<BTreeMap<String, NaiveDate>, StoreError> {
        let mut out = BTreeMap::new();
        for kv in self.meta.scan_prefix(b"absent:") {
            let (k, v) = kv?;
            let id = String::from_utf8_lossy(&k[b"absent:".len()..]).into_owned();
            let date: NaiveDate = dec(&k, &v)?;
            out.insert(id, date);
        }
        Ok(out)
    }

    /// Writes one event atomically.
    pub fn commit(&self, commit: Commit) -> Result<(), StoreError> {
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
            case_rows.push((
                case.number,
                enc(case)?,
                due_rows,
                enc(&due_keys)?,
                case.clone(),
            ));
        }
        let inbound_row = match &commit.inbound {
            Some((k, rec)) => Some((k.clone(), enc(rec)?)),
            None => None,
        };
        let outbox_rows: Vec<(u64, Vec<u8>)> = commit
            .outbox
            .iter()
            .map(|m| Ok((m.seq, enc(m)?)))
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
                    for (seq, bytes) in &outbox_rows {
                        outbox.insert(&seq.to_be_bytes(), bytes.as_slice())?;
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
                    for (k, v) in &absence_rows {
                        match v {
                            Some(v) => meta.insert(k.as_slice(), v.as_slice())?,
                            None => meta.remove(k.as_slice())?,
                        };
                    }
                    Ok::<_, ConflictableTransactionError<StoreError>>(())
                },
            );
        match result {
            Ok(()) => Ok(()),
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(StoreError::Sled(e)),
        }
    }

    /// Outbox messages in order.
    pub fn outbox(&self) -> Result<Vec<OutMail>, StoreError> {
        self.outbox
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                dec(&k, &v)
            })
            .collect()
    }

    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    /// The message was accepted by the SMTP server: it leaves the outbox.
    pub fn outbox_sent(&self, seq: u64, at: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(v) = self.outbox.remove(seq.to_be_bytes())? {
            let mail: OutMail = dec(&seq.to_be_bytes(), &v)?;
            let key = format!("sent:{:020}", seq);
            self.meta
                .insert(key.as_bytes(), enc(&(mail.message_id, at))?)?;
        }
        Ok(())
    }

    /// A failed attempt: try again at `next`, or give up (`next` None: permanent failure).
    pub fn outbox_failed(
        &self,
        mail: &OutMail,
        error: &str,
        next: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let key = mail.seq.to_be_bytes();
        match next {
            Some(next) => {
                let mut m = mail.clone();
                m.attempts += 1;
                m.next_attempt = next;
                m.last_error = Some(error.to_string());
                self.outbox.insert(key, enc(&m)?)?;
            }
            None => {
                self.outbox.remove(key)?;
                let mut m = mail.clone();
                m.last_error = Some(error.to_string());
                self.meta
                    .insert(format!("dead:{:020}", mail.seq).as_bytes(), enc(&m)?)?;
            }
        }
        Ok(())
    }

    /// Messages that could not be delivered at all.
    pub fn dead_letters(&self) -> Result<Vec<OutMail>, StoreError> {
        self.meta
            .scan_prefix(b"dead:")
            .map(|kv| {
                let (k, v) = kv?;
                dec(&k, &v)
            })
            .collect()
    }

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

    /// A string kept in the store's meta tree (e.g. the config fingerprint of the due index).
    pub fn meta_get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .meta
            .get(key.as_bytes())?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    pub fn meta_set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.meta.insert(key.as_bytes(), value.as_bytes())?;
        Ok(())
    }

    /// Cases that still have due steps (for re-scheduling after a config change).
    pub fn open_case_numbers(&self) -> Result<Vec<u64>, StoreError> {
        self.open
            .iter()
            .keys()
            .map(|k| Ok(u64_from(&k?).unwrap_or(0)))
            .filter(|n| !matches!(n, Ok(0)))
            .collect()
    }

    /// The open cases, oldest first: O(open cases), not O(all cases).
    pub fn open_cases(&self) -> Result<Vec<Case>, StoreError> {
        let mut out = Vec::new();
        for n in self.open_case_numbers()? {
            if let Some(c) = self.case(n)? {
                out.push(c);
            }
        }
        Ok(out)
    }
}

fn put_if_absent(
    tree: &TransactionalTree,
    key: &[u8],
    value: &[u8],
) -> Result<(), sled::transaction::UnabortableTransactionError> {
    if tree.get(key)?.is_none() {
        tree.insert(key, value)?;
    }
    Ok(())
}

fn u64_from(v: &[u8]) -> Option<u64> {
    let arr: [u8; 8] = v.try_into().ok()?;
    Some(u64::from_be_bytes(arr))
}
