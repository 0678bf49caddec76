//! What an archive of 100,000 entries costs in memory: the service keeps the archive (the
//! entries' ids and their index; the posts and answers stay in the store) in memory for as
//! long as it runs, so this is its idle growth.
//!
//! `cargo run --release --example archive_memory [N]` builds the archive from the bench's
//! synthetic entries (`benches/archive/entries.rs`) the way start-up does (one `add` per
//! entry, then `shrink_to_fit`) and prints:
//! - the heap the archive holds (bytes asked of the allocator and not given back, counted
//!   by a wrapper around the system allocator), how much of it is the index, and what the
//!   entries themselves would take (which the archive no longer holds);
//! - the process's resident set (`VmRSS` in `/proc/self/status`) before and after, what
//!   `ps` and systemd show, allocator overhead included.
#![allow(unsafe_code)] // the counting allocator (`support/counting.rs`): GlobalAlloc is an unsafe trait

use otklik_core::archive::{Archive, Index};

#[path = "../benches/archive/entries.rs"]
mod entries;

#[path = "../crates/otklik-core/examples/support/counting.rs"]
mod counting;
use counting::live;

/// `VmRSS` of this process in kB (0 where /proc is not there).
fn rss_kb() -> usize {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let rss_before = rss_kb();

    // What start-up does: each entry read from the store and added (it moves into the
    // archive), one at a time.
    let heap_start = live();
    let mut archive = Archive::new();
    for e in entries::stream(n) {
        archive.add(e);
    }
    archive.shrink_to_fit();
    let heap_archive = live() - heap_start;
    let rss_after = rss_kb();

    // The entries alone, as read (all at once, to weigh them).
    let heap_before = live();
    let all = entries::entries(n);
    let heap_entries = live() - heap_before;
    drop(all);

    // The index alone (stems, postings, per-entry terms), without the ids.
    let heap_before = live();
    let mut index = Index::new();
    for e in entries::stream(n) {
        index.add(&e.searchable());
    }
    index.shrink_to_fit();
    let heap_index = live() - heap_before;
    drop(index);

    println!("{} entries", archive.len());
    println!(
        "heap held by the archive: {:.1} MB, of which the index {:.1} MB (the entries as read, not held: {:.1} MB)",
        mb(heap_archive),
        mb(heap_index),
        mb(heap_entries),
    );
    println!(
        "VmRSS: {:.1} MB before, {:.1} MB after: +{:.1} MB",
        rss_before as f64 / 1e3,
        rss_after as f64 / 1e3,
        rss_after.saturating_sub(rss_before) as f64 / 1e3,
    );
    std::hint::black_box(&mut archive);
}
