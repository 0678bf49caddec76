//! The archive's index saved beside the store (`archive-index.bin` in the state
//! directory, never in sled), so that start-up reads one file instead of every archived
//! row and builds nothing.
//!
//! Every change to the archive's rows is numbered in the store's `answered_log`
//! ([`Store::archive_changes_after`]), in the transaction that makes it; a snapshot says
//! up to which number it holds every change. Start-up loads it and reads again only the
//! rows of the changes after that number. A missing snapshot, a damaged one, one of
//! another format or build, or one from another store (or ahead of this one: a store put
//! back from a backup) is not used: the index is built from the rows as before, and a
//! fresh snapshot written. Snapshots are written off the mail path by [`snapshots`]: after
//! such a start-up, every [`SNAPSHOT_EVERY`] entries indexed, and at a clean stop
//! ([`Archive::save`]); each one trims the log it covers, [`TRIM_AT_MOST`] changes at a
//! time.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use chrono_tz::Tz;
use tokio::sync::watch;

use otklik_core::archive as core;

use super::{Archive, Inner, current_entry};
use crate::store::{ArchiveChange, Store, StoreError};

/// The snapshot's file name in the state directory.
pub const SNAPSHOT_FILE: &str = "archive-index.bin";

/// A snapshot is taken after this many entries are indexed since the last one.
pub const SNAPSHOT_EVERY: usize = 1_000;

/// A start-up that read more changes again than this writes a fresh snapshot.
const REPLAYED_ENOUGH: usize = 2_000;

/// At most this many logged changes a snapshot covers are trimmed each time one is written
/// or found current (at a clean stop): sled replays every write since its last opening at
/// the next start, and 5,000 removals cost it a few milliseconds where an import's
/// 99,000 at once cost ~130 ms. What is left is trimmed by the next ones; entries a
/// snapshot covers are never read again, so they only take room until then.
pub const TRIM_AT_MOST: usize = 5_000;

/// Why a snapshot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotFailed {
    /// The store failed (reading the changes, or trimming them).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Why the snapshot on disk is not used.
#[derive(Debug, thiserror::Error)]
enum Unusable {
    #[error("there is none")]
    Missing,
    #[error("it cannot be read: {0}")]
    Unreadable(std::io::Error),
    #[error(transparent)]
    Refused(core::SnapshotError),
    #[error("it does not say which store it is of")]
    NoTag,
    #[error("it is of another store")]
    OtherStore,
    #[error("it covers changes up to {covers}, and the store has none past {next}")]
    Ahead { covers: u64, next: u64 },
}

/// The snapshot's tag: the newest change it covers (8 bytes, big-endian), then the
/// store's identity.
fn tag(covers: u64, identity: &str) -> Vec<u8> {
    [&covers.to_be_bytes()[..], identity.as_bytes()].concat()
}

/// The snapshot at `path`, if it is of this store and usable, with the newest change it
/// covers.
fn read(
    path: &Path,
    identity: &str,
    store: &Store,
) -> Result<Result<(core::Archive, u64), Unusable>, StoreError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Err(Unusable::Missing)),
        Err(e) => return Ok(Err(Unusable::Unreadable(e))),
    };
    let (index, tag) = match core::Archive::from_bytes(&bytes) {
        Ok(x) => x,
        Err(e) => return Ok(Err(Unusable::Refused(e))),
    };
    let Some((covers, of)) = tag.split_at_checked(8) else {
        return Ok(Err(Unusable::NoTag));
    };
    let covers = u64::from_be_bytes(covers.try_into().unwrap_or_default());
    if of != identity.as_bytes() {
        return Ok(Err(Unusable::OtherStore));
    }
    // Every number the store gave is below the next: a snapshot covering more is of a
    // later state of this store than the one here.
    let next = store.generate_id()?;
    if covers >= next {
        return Ok(Err(Unusable::Ahead { covers, next }));
    }
    Ok(Ok((index, covers)))
}

/// Brings the index up to the store's log: each change after `inner.applied` is read
/// again from its row (added, replaced or removed). Returns how many.
fn replay(inner: &mut Inner, store: &Store, zone: Tz) -> Result<usize, StoreError> {
    let mut n = 0usize;
    for change in store.archive_changes_after(inner.applied) {
        let (seq, change) = change?;
        let id = match &change {
            ArchiveChange::Case { id, .. } | ArchiveChange::Imported { id } => id,
        };
        match current_entry(store, zone, id) {
            Ok(Some(e)) => inner.index.add(e),
            Ok(None) => {
                inner.index.remove(id);
            }
            Err(e) if e.is_damaged() => {
                tracing::warn!(id = %id, error = %e, "an earlier answer could not be read; it is left out of the archive");
                inner.index.remove(id);
            }
            Err(e) => return Err(e),
        }
        inner.applied = seq;
        n += 1;
    }
    Ok(n)
}

/// Writes `bytes` to `path` whole or not at all: a temporary file beside it, synced,
/// renamed over it, and the directory synced.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SnapshotFailed> {
    let tmp = path.with_extension("bin.tmp");
    let io = |p: &Path| {
        let path = p.display().to_string();
        move |source| SnapshotFailed::Io { path, source }
    };
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io(path))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(())
}

impl Archive {
    /// The service's archive: read from its snapshot at `path` and the store's changes
    /// since, or (no usable snapshot) built from the store; a fresh snapshot is then
    /// asked of [`snapshots`]. A store that cannot be read is an error.
    pub fn open(store: &Store, zone: Tz, path: PathBuf) -> Result<Archive, StoreError> {
        let started = Instant::now();
        let identity = store.identity()?;
        let from_snapshot = match read(&path, &identity, store)? {
            Ok((index, covers)) => {
                let mut inner = Inner {
                    index,
                    applied: covers,
                };
                match replay(&mut inner, store, zone) {
                    Ok(n) => Ok((inner, n)),
                    Err(e) if e.is_damaged() => Err(Some(e.to_string())),
                    Err(e) => return Err(e),
                }
            }
            Err(Unusable::Missing) => Err(None),
            Err(why) => Err(Some(why.to_string())),
        };
        let mut on_disk = 0;
        let read_it = from_snapshot.is_ok();
        let (inner, fresh) = match from_snapshot {
            Ok((inner, replayed)) => {
                on_disk = if replayed == 0 { inner.applied + 1 } else { 0 };
                tracing::info!(
                    entries = inner.index.len(),
                    replayed,
                    ms = started.elapsed().as_millis() as u64,
                    "archive of earlier answers read from its snapshot"
                );
                (inner, replayed > REPLAYED_ENOUGH)
            }
            Err(why) => {
                // None yet (a new service, the first start after an upgrade) is expected; one
                // that cannot be used is worth a look.
                match why {
                    None => {
                        tracing::info!(path = %path.display(), "no snapshot of the archive yet; the index is built from the store")
                    }
                    Some(why) => {
                        tracing::warn!(path = %path.display(), reason = %why, "the archive's snapshot is not used; the index is built from the store")
                    }
                }
                let (index, applied) = Archive::build(store, zone)?;
                (Inner { index, applied }, true)
            }
        };
        let a = Archive {
            inner: RwLock::new(inner),
            zone: Some(zone),
            store: Some(store.clone()),
            snapshot: Some(path),
            on_disk: on_disk.into(),
            from_snapshot: read_it,
            ..Archive::default()
        };
        if fresh {
            // The snapshot task takes it as soon as it runs (the permit waits for it).
            a.wanted.notify_one();
        }
        Ok(a)
    }

    /// Writes the snapshot now (after reading the store's latest changes into the index)
    /// and trims the log it covers; `Ok(false)` for an archive that keeps none, or when
    /// the one on disk already holds every change. Blocks: run it off the mail path.
    /// Never takes the store's writer lock.
    pub fn save(&self) -> Result<bool, SnapshotFailed> {
        let (Some(path), Some(store)) = (&self.snapshot, &self.store) else {
            return Ok(false);
        };
        let _one = self.saving.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        let identity = store.identity()?;
        // Entries indexed from here on count towards the next snapshot.
        self.since.store(0, Ordering::Relaxed);
        replay(
            &mut self.write(),
            store,
            self.zone.unwrap_or(chrono_tz::UTC),
        )?;
        let (bytes, covers) = {
            let inner = self.read();
            let covers = inner.applied;
            if self.on_disk.load(Ordering::Relaxed) == covers + 1 {
                drop(inner);
                // Current already: what an earlier one left of the log it covers goes now.
                let trimmed = store.trim_archive_changes(covers, TRIM_AT_MOST)?;
                if trimmed > 0 {
                    tracing::info!(covers, trimmed, "archive changes a snapshot covers trimmed");
                }
                return Ok(false);
            }
            (inner.index.to_bytes(&tag(covers, &identity)), covers)
        };
        write_atomically(path, &bytes)?;
        self.on_disk.store(covers + 1, Ordering::Relaxed);
        let trimmed = store.trim_archive_changes(covers, TRIM_AT_MOST)?;
        tracing::info!(
            bytes = bytes.len(),
            covers,
            trimmed,
            ms = started.elapsed().as_millis() as u64,
            "archive snapshot written"
        );
        Ok(true)
    }
}

/// Takes the archive's snapshots when it asks for one (after a start-up that built or
/// read many changes, every [`SNAPSHOT_EVERY`] entries), each in a blocking task, until
/// `stop` turns true. A snapshot that fails is logged: the next start reads more again.
pub async fn snapshots(archive: Arc<Archive>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = archive.wanted.notified() => {}
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    return;
                }
                continue;
            }
        }
        let a = archive.clone();
        match tokio::task::spawn_blocking(move || a.save()).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "the archive's snapshot could not be written"),
            Err(e) => tracing::warn!(error = %e, "the archive's snapshot task failed"),
        }
    }
}
