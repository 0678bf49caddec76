//! otklik: answers critical social-media posts on time, by email.
//!
//! The pure core (no I/O, no clock): [`calendar`], [`config`] validation, [`inbound`],
//! [`intake`], [`lexicon`], [`routing`], [`reply`], [`workflow`].
//! The shell around it: [`store`], [`outbox`], [`mailbox`], [`escalation`],
//! [`daemon`], [`cli`].

pub mod auth;
pub mod calendar;
pub mod cli;
pub mod compose;
pub mod config;
pub mod control;
pub mod daemon;
pub mod digest;
pub mod escalation;
pub mod handler;
pub mod ics;
pub mod inbound;
pub mod intake;
pub mod lexicon;
pub mod logging;
pub mod mailbox;
pub mod notify;
pub mod outbox;
pub mod reply;
pub mod report;
pub mod routing;
pub mod signals;
pub mod smtp;
pub mod store;
pub mod templates;
pub mod text;
pub mod tls;
pub mod workflow;
