//! A crash of the service — an abort, which is also how Rust ends a thread that overflowed
//! its stack — leaves the file `state_dir/crashed` behind; a kill from outside (SIGKILL, the
//! OOM killer, a power cut) leaves none. At the next start the daemon takes the file
//! ([`take`]): with a message still marked "in progress" it says that this message took
//! the process down (see `docs/reliability.md`).
//!
//! The SIGABRT handler only opens the file by a path prepared beforehand, closes it and
//! lets the default action end the process: calls that are async-signal-safe.
#![allow(unsafe_code)] // sigaction(2), open(2), raise(3): libc without a safe wrapper.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::OnceLock;

/// The flag file's name in `state_dir`.
pub const FILE: &str = "crashed";

static FLAG: OnceLock<CString> = OnceLock::new();

/// Installs the SIGABRT handler that leaves the flag in `state_dir` (once a process).
pub fn arm(state_dir: &Path) {
    let Ok(path) = CString::new(state_dir.join(FILE).as_os_str().as_bytes()) else {
        return;
    };
    if FLAG.set(path).is_err() {
        return;
    }
    // SAFETY: a zeroed sigaction is valid; the handler is an `extern "C"` fn that only
    // makes async-signal-safe calls; SA_RESETHAND restores the default action before it
    // runs, so its `raise` ends the process as the abort would have.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_abort as *const () as usize;
        sa.sa_flags = libc::SA_ONSTACK | libc::SA_RESETHAND;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGABRT, &sa, std::ptr::null_mut());
    }
}

extern "C" fn on_abort(sig: libc::c_int) {
    if let Some(path) = FLAG.get() {
        // SAFETY: open(2) and close(2) on a NUL-terminated path made before the signal.
        unsafe {
            let fd = libc::open(
                path.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC,
                0o600,
            );
            if fd >= 0 {
                libc::close(fd);
            }
        }
    }
    // SAFETY: the default action is back (SA_RESETHAND): this ends the process.
    unsafe {
        libc::raise(sig);
    }
}

/// Whether the last run left the flag (it crashed); the flag is removed.
pub fn take(state_dir: &Path) -> bool {
    std::fs::remove_file(state_dir.join(FILE)).is_ok()
}
