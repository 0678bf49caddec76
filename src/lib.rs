//! otklik: answers critical social-media posts on time, by email.
//!
//! This crate is the imperative shell around the pure core, `otklik_core`, which every
//! module names in its own `use` lines (nothing of the core is re-exported here): it
//! fetches facts, lets the core decide, commits the decision and only then acknowledges
//! the input.
//!
//! - [`mailbox`]: the IMAP watcher (IDLE, fetch, move after commit).
//! - [`handler`]: one message → facts from the store → `decide` → one commit.
//! - [`store`]: sled, one transaction per event; [`outbox`] and [`smtp`]: the only way out;
//!   [`gathering`]: the coordinator's new-case notices gathered during a burst.
//! - [`escalation`] and [`digest`]: the timers; [`daemon`]: starts the tasks, owns reload
//!   and shutdown; [`control`]: the socket the CLI asks; [`cli`]: the subcommands, printed
//!   through [`term`] (no control character of mail text reaches the terminal).
//! - [`archive`]: earlier approved answers, indexed in memory, offered with new cases;
//!   [`memory`]: the freed heap given back after start-up.

pub mod archive;
pub mod cli;
pub mod config;
pub mod control;
pub mod crashflag;
pub mod daemon;
pub mod digest;
pub mod escalation;
pub mod gathering;
pub mod handler;
pub mod logging;
pub mod mailbox;
pub mod memory;
pub mod notify;
// Documented in a change of its own (the module is being reworked meanwhile).
pub mod outbox;
pub mod signals;
// Documented in a change of its own (the module is being reworked meanwhile).
pub mod smtp;
pub mod status;
pub mod store;
pub mod term;
pub mod tls;
