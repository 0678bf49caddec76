//! Giving the heap back to the system once a burst of work is done.
//!
//! glibc keeps what a program frees for its next allocations, and by default it learns
//! from the program: once a large block (the archive's 10 MB snapshot, read at start-up)
//! is freed, it serves every block up to that size from its heaps and lets twice that much
//! lie free at a heap's top before returning any. An idle daemon that will not need that
//! room again kept megabytes of it (measured with 100,000 archived cases: see
//! `docs/archive.md`). So the thresholds are fixed ([`fix_thresholds`], at start), and after
//! each burst of start-up work the free pages are returned ([`give_back`]). Elsewhere
//! (another libc) both do nothing.
#![allow(unsafe_code)] // mallopt(3), malloc_trim(3): libc without a safe wrapper.

/// Blocks from this size up are mapped on their own and unmapped when freed, and a heap
/// gives back what lies free at its top beyond this: glibc's own defaults, kept fixed
/// instead of rising with the largest block freed so far.
const THRESHOLD: i32 = 128 * 1024;

/// Fixes glibc's mmap and trim thresholds at [`THRESHOLD`]; call before threads start.
pub fn fix_thresholds() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets the allocator's parameters (it takes the main arena's
    // lock); called before the runtime's threads exist.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, THRESHOLD);
    }
}

/// Returns the free pages of the heap to the system (glibc `malloc_trim(0)`: it walks
/// the free lists of every arena).
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds free; it touches no
    // live allocation and is thread-safe (it takes each arena's lock).
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Lets go of the resident pages of built-in text the program is done reading (the
/// training corpora compiled into the binary, read once to train the models): the whole
/// pages inside `text` are dropped from the process (`madvise(MADV_DONTNEED)`); read again,
/// they come back from the binary's file, as any page of it would. Elsewhere, nothing.
pub fn let_go(text: &'static str) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf only reads a system constant.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
            .ok()
            .filter(|p| *p > 0)
            .unwrap_or(4096);
        let start = text.as_ptr() as usize;
        let first = start.div_ceil(page) * page;
        let end = (start + text.len()) / page * page;
        if end > first {
            // SAFETY: the range is whole pages inside a `'static` text of the binary's
            // read-only data, which nothing writes: dropping them only makes the next
            // read fault them in again from the mapped file, with the same bytes.
            unsafe {
                libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_DONTNEED);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = text;
}

/// [`let_go`] of the built-in corpora once the models that learn from them are trained:
/// the routing starter corpus and the clause 12 model's labelled posts.
pub fn let_go_of_corpora() {
    let_go(otklik_core::classifier::STARTER_CORPUS);
    for text in otklik_core::lexicon::model::CORPUS {
        let_go(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checksum(text: &str) -> u64 {
        text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    #[test]
    fn corpora_let_go_read_the_same_afterwards() {
        let starter = otklik_core::classifier::STARTER_CORPUS;
        let before = checksum(starter);
        let labelled: Vec<u64> = otklik_core::lexicon::model::CORPUS
            .iter()
            .map(|t| checksum(t))
            .collect();
        let_go_of_corpora();
        assert_eq!(checksum(starter), before);
        let after: Vec<u64> = otklik_core::lexicon::model::CORPUS
            .iter()
            .map(|t| checksum(t))
            .collect();
        assert_eq!(after, labelled);
        assert!(starter.lines().count() > 9000);
    }
}
