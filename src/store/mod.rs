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

use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sled::transaction::TransactionError;

mod answered;
pub use answered::ArchiveChange;
mod archive;
mod blobs;
mod cases;
mod check;
mod commit;
mod due;
mod gather;
mod ledger;
mod meta;
mod nearby;
mod outbox;
mod progress;
mod training;

pub use cases::norm;
pub use commit::Commit;
pub use ledger::{InboundRecord, inbound_key};
pub use meta::{MetaKey, MetaPrefix};
pub use outbox::{Queued, Resend};
pub use progress::InProgress;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be opened.
    #[error("store at {path}: {source}")]
    Open {
        /// The store's directory.
        path: String,
        /// What the database reported.
        source: sled::Error,
    },
    /// The database failed.
    #[error("store: {0}")]
    Sled(#[from] sled::Error),
    /// A record cannot be read.
    #[error("store record {key} is unreadable: {source}")]
    Corrupt {
        /// The record's key.
        key: String,
        /// What the JSON reader reported.
        source: serde_json::Error,
    },
    /// Another writer took the case number meanwhile.
    #[error(
        "store: case number {expected} was taken meanwhile (next is {found}); is a second writer running?"
    )]
    CaseNumber {
        /// The number this writer took.
        expected: u64,
        /// The next number in the store.
        found: u64,
    },
    /// A record cannot be encoded.
    #[error("store: cannot encode a record: {0}")]
    Encode(serde_json::Error),
    /// A case refers to attachment bytes that are not stored.
    #[error("store: case {case} refers to attachment {sha256}, whose bytes are not stored")]
    MissingAttachment {
        /// The case number.
        case: u64,
        /// The attachment's hash.
        sha256: String,
    },
    /// A record is damaged.
    #[error("store record {key} is damaged: {reason}")]
    Damaged {
        /// The record's key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The store was written by a later version.
    #[error(
        "store at {path} has format {found}, newer than this otklik reads (up to {known}): it was written by a later version; install that version again, or restore the backup taken before the upgrade"
    )]
    NewerFormat {
        /// The store's directory.
        path: String,
        /// The store's format.
        found: u32,
        /// The newest format this version reads.
        known: u32,
    },
}

impl StoreError {
    /// One record is damaged (unreadable, or it names attachment bytes that are not
    /// stored): the store itself can still be written, so only what needs that record is
    /// set aside. Everything else means the store cannot be used (stop, restart).
    pub fn is_damaged(&self) -> bool {
        matches!(
            self,
            StoreError::Corrupt { .. }
                | StoreError::MissingAttachment { .. }
                | StoreError::Damaged { .. }
        )
    }

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
    /// Imported earlier posts and their approved answers, by id (JSON of
    /// `otklik_core::archive::Entry`). Our own approved cases are in `answered`.
    archive: sled::Tree,
    /// Our cases whose answer was approved, by case number: what the archive of earlier
    /// answers needs of them (see [`answered`]), written with the case.
    answered: sled::Tree,
    /// Every change to the archive's rows (`answered` and `archive`) by an increasing
    /// sequence number: what an index snapshot taken at some number lacks (see
    /// [`ArchiveChange`]). Trimmed up to what the newest snapshot covers.
    answered_log: sled::Tree,
    /// Numbers of the open cases (not closed, not excluded): rescheduling, digests and
    /// queues read these instead of every case ever opened.
    open: sled::Tree,
    /// Attachment bytes by the hex SHA-256 of their content, each stored once, as is.
    attachments: sled::Tree,
    /// Outbox mails' bytes by sequence number (see [`encode_body`]).
    outbox_body: sled::Tree,
    /// The outbox by when each mail is due: `due ms ‖ seq` (see [`Queued`]).
    outbox_due: sled::Tree,
    /// The training examples of the routing model cases confirmed (see [`training`]).
    training: sled::Tree,
    writer: std::sync::Arc<std::sync::Mutex<()>>,
}

/// Held by whoever reads a case, decides and commits (the mail handler, the escalation
/// timer, rescheduling): one writer at a time, so no decision is made on a stale case.
pub struct WriterGuard<'a>(#[allow(dead_code)] std::sync::MutexGuard<'a, ()>);

/// The format this version writes, and the newest it reads. A change of layout raises it
/// and adds a step to [`Store::migrate`]; `tests/data/store-v1/` keeps a store of format 1
/// that every later version must open and read whole.
///
/// - 1: the first (the outbox with its bodies apart).
/// - 2: the `answered` tree, what the archive needs of each case whose answer was
///   approved, so that start-up does not read every case.
pub const FORMAT_VERSION: u32 = 2;

/// How long [`Store::open_waiting`] waits between attempts.
const LOCK_RETRY: Duration = Duration::from_millis(250);

fn u64_from(v: &[u8]) -> Option<u64> {
    let arr: [u8; 8] = v.try_into().ok()?;
    Some(u64::from_be_bytes(arr))
}

fn transaction_result(result: Result<(), TransactionError<StoreError>>) -> Result<(), StoreError> {
    match result {
        Ok(()) => Ok(()),
        Err(TransactionError::Abort(e)) => Err(e),
        Err(TransactionError::Storage(e)) => Err(StoreError::Sled(e)),
    }
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
            archive: tree("archive")?,
            answered: tree("answered")?,
            answered_log: tree("answered_log")?,
            open: tree("open")?,
            attachments: tree("attachments")?,
            outbox_body: tree("outbox_body")?,
            outbox_due: tree("outbox_due")?,
            training: tree("training")?,
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
        // Format 2 keeps the approved answers apart: filled once from every case.
        if found < 2 {
            let started = Instant::now();
            let answered = self.fill_answered()?;
            tracing::info!(
                answered,
                ms = started.elapsed().as_millis() as u64,
                "store upgraded to format 2: approved answers indexed apart from the cases"
            );
        }
        // A store without the key is of the first format (written before the key existed).
        let key = MetaKey::FormatVersion.encode();
        if self.meta.get(&key)?.as_deref() != Some(FORMAT_VERSION.to_string().as_bytes()) {
            self.meta
                .insert(key, FORMAT_VERSION.to_string().as_bytes())?;
            self.db.flush()?;
        }
        Ok(())
    }

    /// The format version the store says it has (1 when it says nothing).
    pub fn format_version(&self) -> Result<u32, StoreError> {
        match self.meta.get(MetaKey::FormatVersion.encode())? {
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

    /// Makes every write so far durable (blocks).
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
        Ok(match self.meta.get(MetaKey::NextCase.encode())? {
            Some(v) => u64_from(&v).unwrap_or(1),
            None => 1,
        })
    }

    /// A string kept in the store's meta tree (e.g. the config fingerprint of the due index).
    pub fn meta_get(&self, key: &MetaKey) -> Result<Option<String>, StoreError> {
        Ok(self
            .meta
            .get(key.encode())?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Removes a record of the meta tree.
    pub fn meta_remove(&self, key: &MetaKey) -> Result<(), StoreError> {
        self.meta.remove(key.encode())?;
        Ok(())
    }

    /// Writes a string to the meta tree, on its own (not in a [`Commit`]).
    pub fn meta_set(&self, key: &MetaKey, value: &str) -> Result<(), StoreError> {
        self.meta.insert(key.encode(), value.as_bytes())?;
        Ok(())
    }
}
