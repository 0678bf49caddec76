//! otklik: answers critical social-media posts on time, by email.
//!
//! The pure core (no I/O, no clock): [`calendar`], [`config`] validation, [`inbound`],
//! [`intake`], [`lexicon`], [`routing`], [`reply`], [`workflow`].
//! The shell around it: [`store`], [`outbox`], [`mailbox`], [`escalation`],
//! [`daemon`], [`cli`].

pub mod calendar;
pub mod config;
pub mod inbound;
pub mod intake;
pub mod lexicon;
pub mod mailbox;
pub mod reply;
pub mod smtp;
pub mod text;
pub mod tls;
