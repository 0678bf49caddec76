//! The archive of earlier approved answers in the service: imported entries live in the
//! store's `archive` tree, our own cases in `cases`; the index
//! ([`otklik_core::archive::Archive`]) lives in memory, built once at start-up from both and
//! kept current as answers are approved ([`Archive::add_case`], called by the handler after
//! its commit) and files imported ([`Archive::import`], through the control socket while
//! the service runs).

use std::sync::RwLock;
use std::time::Instant;

use chrono_tz::Tz;

use otklik_core::archive::{self as core, Entry, MAX_OFFERED, Query, Similar};
use otklik_core::workflow::Case;

use crate::store::{Store, StoreError};

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
#[derive(Debug, Default)]
pub struct Archive {
    inner: RwLock<core::Archive>,
    /// The calendar's zone, for the dates of our own cases.
    zone: Option<Tz>,
}

impl Archive {
    /// An empty archive (cases' dates in `zone`).
    pub fn empty(zone: Tz) -> Archive {
        Archive {
            inner: RwLock::new(core::Archive::new()),
            zone: Some(zone),
        }
    }

    /// Builds the index from the store: every imported entry and every case whose answer
    /// was approved.
    pub fn load(store: &Store, zone: Tz) -> Result<Archive, StoreError> {
        let started = Instant::now();
        let mut a = core::Archive::new();
        for e in store.archive_entries() {
            a.add(e?);
        }
        let imported = a.len();
        for c in store.cases() {
            if let Some(e) = Entry::of_case(&c?, zone) {
                a.add(e);
            }
        }
        tracing::info!(
            imported,
            cases = a.len() - imported,
            ms = started.elapsed().as_millis() as u64,
            "archive of earlier answers indexed"
        );
        Ok(Archive {
            inner: RwLock::new(a),
            zone: Some(zone),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, core::Archive> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, core::Archive> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    /// How many entries are indexed.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// The candidates the core chooses from for a new post: the best few, any score.
    pub fn candidates(&self, q: &Query) -> Vec<Similar> {
        self.read().similar(q, MAX_OFFERED + 1)
    }

    /// Indexes a case whose answer is approved (nothing for any other case; the same
    /// answer again changes nothing).
    pub fn add_case(&self, case: &Case) {
        if let Some(e) = Entry::of_case(case, self.zone.unwrap_or(chrono_tz::UTC)) {
            self.write().add(e);
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
                    a.add(e);
                }
                Ok(n)
            }
            Err(id) => Err(ImportRefused::Duplicate { line: 0, id }),
        }
    }
}
