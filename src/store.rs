//! The durable state: cases, their history, the inbound-message ledger,
//! the lookup indexes, the outbox, the escalation due index and email-announced absences,
//! in sled. Every event is one [`Commit`], written in one transaction and flushed before
//! anything is acknowledged (the IMAP move, the timer).
//!
//! Bytes are stored as bytes, and once: a case record carries references to its
//! attachments (hash, name, type, size), whose bytes live in their own tree keyed by
//! SHA-256; an outbox mail keeps the base64 of its case's attachments as references to
//! the same bytes. A case with an 8 MB photo, forwarded to its executor, takes 8 MB on
//! disk (65 MB when both were JSON arrays of numbers).

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

use crate::config::DeadlineKind;
use crate::inbound::{Attachment, sha256_hex};
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
    #[error("store: case {case} refers to attachment {sha256}, whose bytes are not stored")]
    MissingAttachment { case: u64, sha256: String },
    #[error("store record {key} is damaged: {reason}")]
    Damaged { key: String, reason: String },
    #[error(
        "store at {path} has format {found}, newer than this otklik reads (up to {known}): it was written by a later version; install that version again, or restore the backup taken before the upgrade"
    )]
    NewerFormat {
        path: String,
        found: u32,
        known: u32,
    },
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

/// A mail waiting in the outbox, by when it is due: the sender reads the queue in pages of
/// these and loads one whole mail at a time ([`Store::outbox_mail`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Queued {
    /// When it is due (to the millisecond).
    pub due: DateTime<Utc>,
    pub seq: u64,
}

impl Queued {
    fn key(&self) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&(self.due.timestamp_millis().max(0) as u64).to_be_bytes());
        k[8..].copy_from_slice(&self.seq.to_be_bytes());
        k
    }

    fn key_of(mail: &OutMail) -> [u8; 16] {
        Queued {
            due: mail.next_attempt,
            seq: mail.seq,
        }
        .key()
    }

    fn from_key(k: &[u8]) -> Option<Queued> {
        let ms = u64_from(k.get(..8)?)?;
        let seq = u64_from(k.get(8..16)?)?;
        Some(Queued {
            due: DateTime::from_timestamp_millis(i64::try_from(ms).ok()?)?,
            seq,
        })
    }
}

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
    /// Attachment bytes by the hex SHA-256 of their content, each stored once, as is.
    attachments: sled::Tree,
    /// Outbox mails' bytes by sequence number (see [`encode_body`]).
    outbox_body: sled::Tree,
    /// The outbox by when each mail is due: `due ms ‖ seq` (see [`Queued`]).
    outbox_due: sled::Tree,
    /// Imported earlier posts and their approved answers, by id (JSON of
    /// `otklik_core::archive::Entry`). Our own approved cases are read from `cases`.
    archive: sled::Tree,
    writer: std::sync::Arc<std::sync::Mutex<()>>,
}

/// Held by whoever reads a case, decides and commits (the mail handler, the escalation
/// timer, rescheduling): one writer at a time, so no decision is made on a stale case.
pub struct WriterGuard<'a>(#[allow(dead_code)] std::sync::MutexGuard<'a, ()>);

const NEXT_CASE: &[u8] = b"next_case";
/// The store's format version in the meta tree, as decimal text. A store without it is of
/// the first format (written before the key existed): opening it writes the key.
const FORMAT_KEY: &[u8] = b"format_version";
/// The format this version writes, and the newest it reads. A change of layout raises it
/// and adds a step to [`Store::migrate`]; `tests/data/store-v1/` keeps a store of format 1
/// that every later version must open and read whole.
pub const FORMAT_VERSION: u32 = 1;
const OPEN_CASES: &[u8] = b"open_cases";
/// Set once the outbox has its bodies and due index apart (stores written before had
/// neither).
const OUTBOX_SPLIT: &[u8] = b"outbox_split";
/// Prefix of the sent-marks in the meta tree: `sent:{seq:020}` → (Message-ID, when).
const SENT_PREFIX: &[u8] = b"sent:";
/// Prefix of the dead letters in the meta tree: `dead:{seq:020}` → the mail's record (its
/// bytes stay in `outbox_body`).
const DEAD_PREFIX: &[u8] = b"dead:";

fn dead_key(seq: u64) -> String {
    format!("dead:{seq:020}")
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

/// How long [`Store::open_waiting`] waits between attempts.
const LOCK_RETRY: Duration = Duration::from_millis(250);

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
        let store = Store {
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
            attachments: tree("attachments")?,
            outbox_body: tree("outbox_body")?,
            outbox_due: tree("outbox_due")?,
            archive: tree("archive")?,
            writer: std::sync::Arc::new(std::sync::Mutex::new(())),
            db,
        };
        store.migrate(&path)?;
        Ok(store)
    }

    /// Checks the format version and brings an older store to the current one, once. A
    /// newer one is refused before anything is written to it.
    fn migrate(&self, path: &Path) -> Result<(), StoreError> {
        let found = self.format_version()?;
        if found > FORMAT_VERSION {
            return Err(StoreError::NewerFormat {
                path: path.display().to_string(),
                found,
                known: FORMAT_VERSION,
            });
        }
        // Format 1 includes the outbox with its bodies apart (stores from before the
        // version key may still have them inline).
        self.split_outbox()?;
        if self.meta.get(FORMAT_KEY)?.as_deref() != Some(FORMAT_VERSION.to_string().as_bytes()) {
            self.meta
                .insert(FORMAT_KEY, FORMAT_VERSION.to_string().as_bytes())?;
            self.db.flush()?;
        }
        Ok(())
    }

    /// The format version the store says it has (1 when it says nothing).
    pub fn format_version(&self) -> Result<u32, StoreError> {
        match self.meta.get(FORMAT_KEY)? {
            None => Ok(1),
            Some(v) => std::str::from_utf8(&v)
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .ok_or_else(|| StoreError::Damaged {
                    key: "meta format_version".into(),
                    reason: format!("not a version number: {:?}", String::from_utf8_lossy(&v)),
                }),
        }
    }

    /// Opens the store, waiting up to `patience` while another process holds it (an
    /// `otklik show` or `cases` reading it while the service restarts holds it for a
    /// moment): the service starts once it is free instead of failing.
    pub fn open_waiting(dir: &Path, patience: Duration) -> Result<Store, StoreError> {
        let start = Instant::now();
        let mut said = false;
        loop {
            match Store::open(dir) {
                Err(e) if e.is_locked() && start.elapsed() < patience => {
                    if !said {
                        tracing::warn!(error = %e, wait = ?patience, "the store is held by another process (an otklik command?); waiting for it");
                        said = true;
                    }
                    std::thread::sleep(LOCK_RETRY);
                }
                Err(e) => return Err(e),
                Ok(store) => {
                    if said {
                        tracing::info!(waited = ?start.elapsed(), "the store is free; opened");
                    }
                    return Ok(store);
                }
            }
        }
    }

    /// Moves a store written before the outbox kept its bodies apart to that layout: each
    /// queued mail's bytes to `outbox_body`, an entry in `outbox_due`. Once.
    fn split_outbox(&self) -> Result<(), StoreError> {
        if self.meta.contains_key(OUTBOX_SPLIT)? {
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
        self.meta.insert(OUTBOX_SPLIT, &[])?;
        self.db.flush()?;
        Ok(())
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

    /// A case, its attachments with their bytes (to act on it: forwarding them needs them).
    pub fn case(&self, number: u64) -> Result<Option<Case>, StoreError> {
        match self.case_record(number)? {
            Some(mut case) => {
                self.load_attachments(&mut case)?;
                Ok(Some(case))
            }
            None => Ok(None),
        }
    }

    /// A case as recorded: its attachments by reference (name, type, hash, size), `data`
    /// left empty — enough to show or list it. Committing it back keeps the attachments.
    pub fn case_record(&self, number: u64) -> Result<Option<Case>, StoreError> {
        let key = number.to_be_bytes();
        match self.cases.get(key)? {
            Some(v) => Ok(Some(record(&key, &v)?)),
            None => Ok(None),
        }
    }

    /// Puts the bytes of the case's attachments back from the attachment tree.
    fn load_attachments(&self, case: &mut Case) -> Result<(), StoreError> {
        let number = case.number;
        for a in attachments_mut(case) {
            if a.data.len() as u64 == a.size {
                continue;
            }
            let bytes = self.attachments.get(a.sha256.as_bytes())?.ok_or_else(|| {
                StoreError::MissingAttachment {
                    case: number,
                    sha256: a.sha256.clone(),
                }
            })?;
            if bytes.len() as u64 != a.size {
                return Err(StoreError::Damaged {
                    key: format!("attachment {}", a.sha256),
                    reason: format!("{} bytes, the case says {}", bytes.len(), a.size),
                });
            }
            a.data = bytes.to_vec();
        }
        Ok(())
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
        let done = self.archive.transaction(|t| {
            for (id, bytes) in &encoded {
                if t.insert(id.as_bytes(), bytes.as_slice())?.is_some() {
                    return Err(ConflictableTransactionError::Abort(id.clone()));
                }
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

    /// All cases, oldest first, as recorded (attachments by reference, see
    /// [`Store::case_record`]).
    pub fn cases(&self) -> impl Iterator<Item = Result<Case, StoreError>> + '_ {
        self.cases.iter().map(|kv| {
            let (k, v) = kv?;
            record(&k, &v)
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
    fn recorded_hashes(&self, number: u64) -> Result<HashSet<String>, StoreError> {
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

    /// A queued mail's case and first recipient (read without its bytes), or None once it
    /// left: what the sender orders mails by.
    pub fn outbox_lane_key(&self, seq: u64) -> Result<Option<(Option<u64>, String)>, StoreError> {
        let key = seq.to_be_bytes();
        let Some(head) = self.outbox.get(key)? else {
            return Ok(None);
        };
        let mail: OutMail = dec(&key, &head)?;
        Ok(Some((
            mail.case,
            mail.to.into_iter().next().unwrap_or_default(),
        )))
    }

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
        let sent_key = format!("sent:{seq:020}");
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
                meta.insert(sent_key.as_bytes(), mark.as_slice())?;
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
        let dead_key = dead_key(mail.seq);
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
                    meta.insert(dead_key.as_bytes(), record.as_slice())?;
                }
                Ok::<_, ConflictableTransactionError<StoreError>>(())
            });
        transaction_result(result)
    }

    /// The sequence numbers of the dead letters, in order (their records are small; the
    /// bytes stay where they are until [`Store::dead_letter`] reads one).
    pub fn dead_letter_seqs(&self) -> Result<Vec<u64>, StoreError> {
        let mut out = Vec::new();
        for k in self.meta.scan_prefix(DEAD_PREFIX).keys() {
            let k = k?;
            let seq = std::str::from_utf8(&k[DEAD_PREFIX.len()..])
                .ok()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| StoreError::Damaged {
                    key: String::from_utf8_lossy(&k).into_owned(),
                    reason: "not a dead letter's sequence number".into(),
                })?;
            out.push(seq);
        }
        Ok(out)
    }

    /// One dead letter with its bytes, or None when `seq` is not one.
    pub fn dead_letter(&self, seq: u64) -> Result<Option<OutMail>, StoreError> {
        let key = dead_key(seq);
        let Some(v) = self.meta.get(key.as_bytes())? else {
            return Ok(None);
        };
        let mut mail: OutMail = dec(key.as_bytes(), &v)?;
        if let Some(body) = self.outbox_body.get(seq.to_be_bytes())? {
            mail.raw = self.decode_body(seq, &body)?;
        }
        Ok(Some(mail))
    }

    /// Puts dead letter `seq` back in the queue, due at `now` with its attempts reset (the
    /// last error stays, to show what happened before), in one transaction. Its bytes never
    /// left `outbox_body`. Not flushed: the caller flushes before it answers.
    pub fn outbox_resend(&self, seq: u64, now: DateTime<Utc>) -> Result<Resend, StoreError> {
        let dead = dead_key(seq);
        let key = seq.to_be_bytes();
        let Some(v) = self.meta.get(dead.as_bytes())? else {
            return Ok(if self.outbox.contains_key(key)? {
                Resend::Queued
            } else {
                Resend::Unknown
            });
        };
        let mut mail: OutMail = dec(dead.as_bytes(), &v)?;
        mail.attempts = 0;
        mail.next_attempt = now;
        let record = enc(&mail)?;
        let queued = Queued::key_of(&mail);
        let result =
            (&self.outbox, &self.outbox_due, &self.meta).transaction(|(outbox, queue, meta)| {
                // Resent meanwhile by another caller: nothing to do.
                if meta.remove(dead.as_bytes())?.is_none() {
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
        for kv in self.meta.scan_prefix(DEAD_PREFIX) {
            let (k, v) = kv?;
            let mut mail: OutMail = dec(&k, &v)?;
            if let Some(body) = self.outbox_body.get(mail.seq.to_be_bytes())? {
                mail.raw = self.decode_body(mail.seq, &body)?;
            }
            out.push(mail);
        }
        Ok(out)
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
        for kv in self.meta.scan_prefix(SENT_PREFIX) {
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

    /// An outbox body back to the mail's bytes (see [`encode_body`]).
    fn decode_body(&self, seq: u64, body: &[u8]) -> Result<Vec<u8>, StoreError> {
        let damaged = |reason: String| StoreError::Damaged {
            key: format!("outbox_body {seq}"),
            reason,
        };
        let mut out = Vec::new();
        let mut rest = body;
        while let Some((&tag, tail)) = rest.split_first() {
            match tag {
                PIECE_LITERAL => {
                    let (len, tail) = take_u64(tail).ok_or_else(|| damaged("truncated".into()))?;
                    let len = usize::try_from(len).map_err(|_| damaged("too long".into()))?;
                    let bytes = tail.get(..len).ok_or_else(|| damaged("truncated".into()))?;
                    out.extend_from_slice(bytes);
                    rest = &tail[len..];
                }
                PIECE_ATTACHMENT => {
                    let hash = tail
                        .get(..HASH_HEX)
                        .ok_or_else(|| damaged("truncated".into()))?;
                    let (size, tail) =
                        take_u64(&tail[HASH_HEX..]).ok_or_else(|| damaged("truncated".into()))?;
                    let bytes = self.attachments.get(hash)?.ok_or_else(|| {
                        damaged(format!(
                            "attachment {} is not stored",
                            String::from_utf8_lossy(hash)
                        ))
                    })?;
                    if bytes.len() as u64 != size {
                        return Err(damaged(format!(
                            "attachment {} has {} bytes, not {size}",
                            String::from_utf8_lossy(hash),
                            bytes.len()
                        )));
                    }
                    out.extend_from_slice(&base64_lines(&bytes));
                    rest = tail;
                }
                other => return Err(damaged(format!("unknown piece {other}"))),
            }
        }
        Ok(out)
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

    pub fn meta_remove(&self, key: &str) -> Result<(), StoreError> {
        self.meta.remove(key.as_bytes())?;
        Ok(())
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

    /// The open cases, oldest first, as recorded (attachments by reference, see
    /// [`Store::case_record`]): O(open cases), not O(all cases).
    pub fn open_cases(&self) -> Result<Vec<Case>, StoreError> {
        let mut out = Vec::new();
        for n in self.open_case_numbers()? {
            if let Some(c) = self.case_record(n)? {
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

/// An outbox mail as written: its record (without the bytes), its bytes, its queue entry.
struct MailRow {
    key: [u8; 8],
    head: Vec<u8>,
    body: Vec<u8>,
    queued: [u8; 16],
}

fn transaction_result(result: Result<(), TransactionError<StoreError>>) -> Result<(), StoreError> {
    match result {
        Ok(()) => Ok(()),
        Err(TransactionError::Abort(e)) => Err(e),
        Err(TransactionError::Storage(e)) => Err(StoreError::Sled(e)),
    }
}

/// Removes `keys` from `tree` in one batch; how many there were.
fn remove_all(tree: &sled::Tree, keys: &mut Vec<sled::IVec>) -> Result<usize, StoreError> {
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
const SWEEP_BATCH: usize = 1024;

/// A stored case: its attachments by reference (`data` empty). A record from before the
/// bytes were kept apart has them inline: those get their hash and size here.
fn record(key: &[u8], bytes: &[u8]) -> Result<Case, StoreError> {
    let mut case: Case = dec(key, bytes)?;
    for a in attachments_mut(&mut case) {
        if a.sha256.is_empty() {
            a.sha256 = sha256_hex(&a.data);
            a.size = a.data.len() as u64;
        }
    }
    Ok(case)
}

/// Every attachment a case holds: the notification's, the draft's, the approved text's.
fn attachments(case: &Case) -> impl Iterator<Item = &Attachment> {
    case.notification
        .attachments
        .iter()
        .chain(case.draft.iter().flat_map(|d| d.attachments.iter()))
        .chain(case.approved.iter().flat_map(|d| d.attachments.iter()))
}

/// [`attachments`], mutable, in the same order.
fn attachments_mut(case: &mut Case) -> impl Iterator<Item = &mut Attachment> {
    case.notification
        .attachments
        .iter_mut()
        .chain(case.draft.iter_mut().flat_map(|d| d.attachments.iter_mut()))
        .chain(
            case.approved
                .iter_mut()
                .flat_map(|d| d.attachments.iter_mut()),
        )
}

/// Only the attachment hashes of a stored case.
#[derive(Deserialize)]
struct RecordedRefs {
    notification: RefList,
    #[serde(default)]
    draft: Option<RefList>,
    #[serde(default)]
    approved: Option<RefList>,
}

#[derive(Deserialize)]
struct RefList {
    #[serde(default)]
    attachments: Vec<RefOnly>,
}

#[derive(Deserialize)]
struct RefOnly {
    #[serde(default)]
    sha256: String,
}

/// Attachments smaller than this stay inline in an outbox body (a reference saves little).
const SHARED_MIN: usize = 4096;
/// Length of a hex SHA-256.
const HASH_HEX: usize = 64;
/// Outbox body pieces: `0 ‖ u64 length ‖ bytes`, or `1 ‖ hex SHA-256 ‖ u64 size`: the
/// attachment's bytes in base64, 76-column lines joined by CRLF, as MIME bodies are.
const PIECE_LITERAL: u8 = 0;
const PIECE_ATTACHMENT: u8 = 1;

/// An outbox mail's bytes as stored: where `raw` holds one of the `shared` attachments in
/// base64 exactly as [`base64_lines`] writes it, a reference to the stored bytes; the rest
/// as is. `check` confirms an attachment's bytes match its hash before it is referred to,
/// so decoding gives back the same bytes.
fn encode_body(
    raw: &[u8],
    shared: &[(&str, &[u8])],
    check: &mut dyn FnMut(&str, &[u8]) -> bool,
) -> Vec<u8> {
    let mut spans: Vec<(usize, usize, &str, u64)> = Vec::new();
    for (hash, data) in shared {
        if hash.len() != HASH_HEX || base64_len(data.len()) > raw.len() {
            continue;
        }
        let text = base64_lines(data);
        let mut from = 0;
        let mut confirmed = None;
        while let Some(at) = find(raw, &text, from) {
            if !*confirmed.get_or_insert_with(|| check(hash, data)) {
                break;
            }
            spans.push((at, at + text.len(), hash, data.len() as u64));
            from = at + text.len();
        }
    }
    spans.sort_by_key(|s| s.0);
    let mut out = Vec::new();
    let literal = |out: &mut Vec<u8>, bytes: &[u8]| {
        if !bytes.is_empty() {
            out.push(PIECE_LITERAL);
            out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
            out.extend_from_slice(bytes);
        }
    };
    let mut pos = 0;
    for (start, end, hash, size) in spans {
        if start < pos {
            continue;
        }
        literal(&mut out, &raw[pos..start]);
        out.push(PIECE_ATTACHMENT);
        out.extend_from_slice(hash.as_bytes());
        out.extend_from_slice(&size.to_be_bytes());
        pos = end;
    }
    literal(&mut out, &raw[pos..]);
    out
}

fn take_u64(b: &[u8]) -> Option<(u64, &[u8])> {
    let (n, rest) = b.split_at_checked(8)?;
    Some((u64_from(n)?, rest))
}

/// The first `needle` in `hay` at or after `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let last_start = hay.len().checked_sub(needle.len())?;
    let mut i = from;
    while i <= last_start {
        let at = i + hay.get(i..=last_start)?.iter().position(|&b| b == first)?;
        if hay.get(at..at + needle.len()) == Some(needle) {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 (RFC 4648, padded) in lines of 76 characters joined by CRLF, no CRLF at the end.
fn base64_lines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(base64_len(data.len()));
    for (i, line) in data.chunks(57).enumerate() {
        if i > 0 {
            out.extend_from_slice(b"\r\n");
        }
        for group in line.chunks(3) {
            let b = [
                group[0],
                group.get(1).copied().unwrap_or(0),
                group.get(2).copied().unwrap_or(0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            let sextet = |shift: u32| BASE64[((n >> shift) & 63) as usize];
            out.push(sextet(18));
            out.push(sextet(12));
            out.push(if group.len() > 1 { sextet(6) } else { b'=' });
            out.push(if group.len() > 2 { sextet(0) } else { b'=' });
        }
    }
    out
}

fn base64_len(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    n.div_ceil(3) * 4 + (n.div_ceil(57) - 1) * 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_lines_is_how_mime_bodies_are_written() {
        // The encoder lettre uses for attachments: 57 bytes a line, CRLF between lines.
        for n in [0usize, 1, 2, 3, 56, 57, 58, 114, 1000] {
            let data: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
            let body = lettre::message::Body::new_with_encoding(
                data.clone(),
                lettre::message::header::ContentTransferEncoding::Base64,
            )
            .map_err(|_| "not encodable")
            .unwrap();
            assert_eq!(base64_lines(&data), body.as_ref(), "{n} bytes");
            assert_eq!(base64_len(n), body.len(), "{n} bytes");
        }
    }

    #[test]
    fn bodies_give_back_the_same_bytes() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let hash = sha256_hex(&data);
        let text = base64_lines(&data);
        let mut raw = b"Subject: x\r\n\r\n--b\r\n\r\n".to_vec();
        raw.extend_from_slice(&text);
        raw.extend_from_slice(b"\r\n--b\r\nagain\r\n");
        raw.extend_from_slice(&text);
        raw.extend_from_slice(b"\r\n--b--\r\n");
        let shared = [(hash.as_str(), data.as_slice())];
        let body = encode_body(&raw, &shared, &mut |h, d| sha256_hex(d) == h);
        assert!(
            body.len() < 300,
            "both copies referred to: {} bytes",
            body.len()
        );
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .attachments
            .insert(hash.as_bytes(), data.as_slice())
            .unwrap();
        assert_eq!(store.decode_body(1, &body).unwrap(), raw);
        // Bytes that do not match their hash are never referred to.
        let body = encode_body(&raw, &shared, &mut |_, _| false);
        assert_eq!(store.decode_body(1, &body).unwrap(), raw);
        assert!(body.len() > raw.len());
    }
}
