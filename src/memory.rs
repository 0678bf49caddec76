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
