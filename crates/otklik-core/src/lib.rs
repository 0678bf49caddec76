//! The functional core of otklik: every decision the service makes about a message, a
//! case or a deadline, as pure code. Time is passed in, never read; nothing here opens a
//! file, a socket or a store — this crate's manifest has no dependency that could, and
//! `clippy.toml` beside it forbids the standard library's clock, files and environment.
//!
//! Read in this order:
//! - [`decide`]: one inbound message and the facts the shell looked up → one decision;
//!   [`triage`] reads the message once for it, [`explain`] says what the decision means.
//! - [`workflow`]: `(case, event, now) → (case, notices)`, the case's states and deadlines.
//! - [`inbound`] (a raw message read once), [`intake`] (the monitoring notification),
//!   [`reply`] (tag, keyword, action code, own text), [`routing`], [`lexicon`] (clause 12).
//! - [`calendar`]: working-time arithmetic; [`config`]: the typed configuration and its checks.
//!   [`address`]: e-mail addresses and hosts, a leaf both the configuration and [`inbound`] use.
//! - [`templates`], [`compose`], [`ics`], [`html`], [`digest`], [`report`]: what officials read.
//! - [`auth`]: HMAC proofs that a reply answers our own mail; [`authres`]: the receiving
//!   server's word on a sender (`Authentication-Results`); [`sender`]: what a sender may do
//!   without either (confirmations, links, detection times).
//! - [`gather`]: new-case notices to the coordinator gathered during a burst.
//! - [`archive`]: earlier approved answers, found for a new post (BM25 over stems).
//! - [`repeat`]: a possible repeat by another author (same place, alike texts), flagged.
//! - [`related`]: what a case holds of both (a leaf the case record and they share).

#![forbid(unsafe_code)]

pub mod address;
pub mod archive;
pub mod auth;
pub mod authres;
pub mod calendar;
pub mod classifier;
pub mod compose;
pub mod config;
pub mod decide;
pub mod digest;
pub mod explain;
pub mod forward;
pub mod gather;
pub mod html;
pub mod ics;
pub mod inbound;
pub mod intake;
pub mod learning;
pub mod lexicon;
pub mod monthly;
pub mod related;
pub mod repeat;
pub mod reply;
pub mod report;
pub mod routing;
pub mod sender;
pub mod status;
pub mod stem;
pub mod templates;
pub mod text;
pub mod triage;
pub mod workflow;
