//! The archive of earlier approved answers in the service: imported entries live in the
//! store's `archive` tree, our own approved cases in `answered` (written with each case);
//! the index
//! ([`otklik_core::archive::Archive`]: ids and stems, not the posts and answers) lives in
//! memory, built once at start-up from both and kept current as answers are approved
//! ([`Archive::add_case`], called by the handler after its commit) and files imported
//! ([`Archive::import`], through the control socket while the service runs). The few
//! entries a case is shown are read back from the store ([`Archive::candidates`]).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Instant;

use chrono_tz::Tz;

use otklik_core::archive::{self as core, Entry, Hit, MAX_OFFERED, Query, Similar};
use otklik_core::workflow::Case;

use crate::store::{Store, StoreError};

mod snapshot;
pub use snapshot::{SNAPSHOT_EVERY, SNAPSHOT_FILE, SnapshotFailed, TRIM_AT_MOST, snapshots};

/// Why an import was refused after the file itself was read.
#[derive(Debug, thiserror::Error)]
pub enum ImportRefused {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An id of the file is already in the archive (imported earlier): nothing imported.
    /// Two rows (or a row and a stored entry) have the same id.
    #[error("line {line}: id {id:?} is already in the archive; nothing imported")]
    Duplicate {
        /// The line of the row.
        line: usize,
        /// The id.
        id: String,
    },
}

/// The in-memory index, shared by the handler and the control socket.
#[derive(Default)]
pub struct Archive {
    inner: RwLock<Inner>,
    /// The calendar's zone, for the dates of our own cases.
    zone: Option<Tz>,
    /// Where the entries found are read from; none for an archive built without a store
    /// (which then offers nothing).
    store: Option<Store>,
    /// Where its snapshot is kept (the service's); none for an archive that keeps none.
    snapshot: Option<PathBuf>,
    /// Entries indexed since the last snapshot (see [`SNAPSHOT_EVERY`]).
    since: AtomicUsize,
    /// Held while a snapshot is taken: one at a time.
    saving: Mutex<()>,
    /// The newest change the snapshot on disk covers, plus one (0: none is known).
    on_disk: AtomicU64,
    /// It was read from its snapshot at start-up (not built from the rows).
    from_snapshot: bool,
    /// Told when [`SNAPSHOT_EVERY`] entries were indexed since the last snapshot.
    wanted: tokio::sync::Notify,
}

/// The index and how far the store's change log is in it.
#[derive(Debug, Default)]
struct Inner {
    index: core::Archive,
    /// Every logged change up to this sequence number is in the index (later ones may be
    /// too: reading a change again changes nothing).
    applied: u64,
}

/// The entry the index should hold under `id`: our own case of that id when it has an
/// approved answer (a case replaces an imported entry of its id, as at start-up), else the
/// imported entry, else none.
fn current_entry(store: &Store, zone: Tz, id: &str) -> Result<Option<Entry>, StoreError> {
    // A case id is the configured prefix and the case number: `OTK-17`.
    let number = id.rsplit_once('-').and_then(|(_, n)| n.parse::<u64>().ok());
    if let Some(e) = number
        .map(|n| store.answered_entry(n, zone))
        .transpose()?
        .flatten()
        && e.id == id
    {
        return Ok(Some(e));
    }
    store.archive_entry(id)
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("inner", &self.inner)
            .field("zone", &self.zone)
            .field("store", &self.store.as_ref().map(|_| "…"))
            .field("snapshot", &self.snapshot)
            .finish_non_exhaustive()
    }
}

impl Archive {
    /// An empty archive (cases' dates in `zone`).
    pub fn empty(zone: Tz) -> Archive {
        Archive {
            zone: Some(zone),
            ..Archive::default()
        }
    }

    /// Builds the index from the store: every imported entry and every case whose answer
    /// was approved (the `answered` tree, not the cases). A damaged record is left out
    /// and logged (`otklik check-store` names it); a store that cannot be read is an error.
    pub fn load(store: &Store, zone: Tz) -> Result<Archive, StoreError> {
        let (index, applied) = Archive::build(store, zone)?;
        Ok(Archive {
            inner: RwLock::new(Inner { index, applied }),
            zone: Some(zone),
            store: Some(store.clone()),
            ..Archive::default()
        })
    }

    /// The index built from every row, and the newest change of the log it includes
    /// (taken before the rows are read).
    fn build(store: &Store, zone: Tz) -> Result<(core::Archive, u64), StoreError> {
        let started = Instant::now();
        let applied = store.archive_changes_last()?;
        let mut a = core::Archive::new();
        let add = |a: &mut core::Archive, e: Result<Entry, StoreError>| match e {
            Ok(e) => {
                a.add(e);
                Ok(())
            }
            Err(e) if e.is_damaged() => {
                tracing::warn!(error = %e, "an earlier answer could not be read; it is left out of the archive");
                Ok(())
            }
            Err(e) => Err(e),
        };
        for e in store.archive_entries() {
            add(&mut a, e)?;
        }
        let imported = a.len();
        // Our own answers from their own tree: reading every case (history and all) took
        // ~700 ms and took the daemon to 221 MB RSS at 100,000 cases.
        for e in store.answered_entries(zone) {
            add(&mut a, e)?;
        }
        a.shrink_to_fit();
        tracing::info!(
            imported,
            cases = a.len() - imported,
            ms = started.elapsed().as_millis() as u64,
            "archive of earlier answers indexed"
        );
        Ok((a, applied))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts `n` entries indexed; past [`SNAPSHOT_EVERY`] since the last snapshot, the
    /// snapshot task is told (it takes one off the mail path).
    fn indexed(&self, n: usize) {
        if self.snapshot.is_some()
            && self.since.fetch_add(n, Ordering::Relaxed) + n >= SNAPSHOT_EVERY
        {
            self.wanted.notify_one();
        }
    }

    /// Whether it was read from its snapshot (and the changes since) rather than built
    /// from every row.
    pub fn from_snapshot(&self) -> bool {
        self.from_snapshot
    }

    /// How many entries are indexed.
    pub fn len(&self) -> usize {
        self.read().index.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.read().index.is_empty()
    }

    /// The candidates the core chooses from for a new post: the best few, any score, each
    /// read back from the store (a hit the store no longer has, or cannot read, is left
    /// out and logged).
    pub fn candidates(&self, q: &Query) -> Vec<Similar> {
        let hits = self.read().index.similar(q, MAX_OFFERED + 1);
        hits.into_iter()
            .filter_map(|h| match self.entry(&h) {
                Ok(Some(e)) => Some(Similar::of(&e, h.score)),
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!(id = %h.id, error = %e, "an earlier answer could not be read");
                    None
                }
            })
            .collect()
    }

    /// The entry of a hit as the index has it: our own case of that id when it has an
    /// approved answer (a case replaces an imported entry of its id, as at start-up),
    /// else the imported entry.
    fn entry(&self, hit: &Hit) -> Result<Option<Entry>, StoreError> {
        let Some(store) = &self.store else {
            return Ok(None);
        };
        current_entry(store, self.zone.unwrap_or(chrono_tz::UTC), &hit.id)
    }

    /// Indexes a case whose answer is approved (nothing for any other case; the same
    /// answer again changes nothing).
    pub fn add_case(&self, case: &Case) {
        if let Some(e) = Entry::of_case(case, self.zone.unwrap_or(chrono_tz::UTC)) {
            self.write().index.add(e);
            self.indexed(1);
        }
    }

    /// Imports read rows (line, entry): refused whole when an id is already in the store;
    /// else written in one transaction, then indexed.
    pub fn import(&self, store: &Store, rows: Vec<(usize, Entry)>) -> Result<usize, ImportRefused> {
        for (line, e) in &rows {
            if store.archive_has(&e.id)? {
                return Err(ImportRefused::Duplicate {
                    line: *line,
                    id: e.id.clone(),
                });
            }
        }
        let entries: Vec<Entry> = rows.into_iter().map(|(_, e)| e).collect();
        match store.import_archive(&entries)? {
            Ok(n) => {
                let mut a = self.write();
                for e in entries {
                    a.index.add(e);
                }
                drop(a);
                self.indexed(n);
                Ok(n)
            }
            Err(id) => Err(ImportRefused::Duplicate { line: 0, id }),
        }
    }
}
