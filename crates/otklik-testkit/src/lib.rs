//! The test harness of otklik, compiled once for every test binary.
//!
//! - [`mailstack`]: a real, isolated Dovecot + Postfix on loopback ports, with test actors
//!   that read their mailboxes over IMAP and send over SMTP.
//! - [`service`]: the otklik service started in-process against that stack, with its own
//!   users, state directory and config, and helpers to wait for its mail and cases.
//! - [`offline`]: the usual config for tests that need no mail stack (handler, store).
//!
//! Nothing here is a fake server: the tests talk to the real daemons.

use std::path::{Path, PathBuf};

pub mod mailstack;
pub mod offline;
pub mod service;

/// The repository's root directory (where `config/`, `tests/` and `docs/` are).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
