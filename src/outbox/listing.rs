//! What `otklik outbox` lists and does: the queued mails and dead letters, and a dead
//! letter queued again.

use chrono::Utc;

use otklik_core::compose::OutMail;

use super::PAGE;
use crate::store::{Resend, Store, StoreError};

/// Where a mail listed by `otklik outbox` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailState {
    /// Waiting to be sent (or retried).
    Queued,
    /// Refused for good: kept until resent.
    Dead,
}

impl MailState {
    /// The state as `otklik outbox` prints it: `queued` or `dead`.
    pub fn as_str(self) -> &'static str {
        match self {
            MailState::Queued => "queued",
            MailState::Dead => "dead",
        }
    }
}

/// One mail as `otklik outbox` lists it: no bytes, the subject decoded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Listed {
    /// The mail's outbox number.
    pub seq: u64,
    /// Queued (being tried) or dead (given up until resent).
    pub state: MailState,
    /// The recipients.
    pub to: Vec<String>,
    /// The case number the mail belongs to, if any.
    pub case: Option<u64>,
    /// The decoded Subject.
    pub subject: String,
    /// How many times sending was tried.
    pub attempts: u32,
    /// The last attempt's error, if it failed.
    pub last_error: Option<String>,
    /// None for a dead letter: nothing is tried until it is resent.
    pub next_attempt: Option<chrono::DateTime<Utc>>,
}

impl Listed {
    /// The listing of `mail` in `state`.
    pub fn new(mail: &OutMail, state: MailState) -> Listed {
        Listed {
            seq: mail.seq,
            state,
            to: mail.to.clone(),
            case: mail.case,
            subject: subject(&mail.raw),
            attempts: mail.attempts,
            last_error: mail.last_error.clone(),
            next_attempt: (state == MailState::Queued).then_some(mail.next_attempt),
        }
    }
}

/// The decoded `Subject:` of a stored message ("" when it has none).
pub fn subject(raw: &[u8]) -> String {
    mail_parser::MessageParser::new()
        .parse_headers(raw)
        .and_then(|m| m.subject().map(str::to_string))
        .unwrap_or_default()
}

/// The queued mails, soonest due first (unless `dead_only`), then the dead letters in the
/// order they were written. One mail's bytes in memory at a time.
pub fn list(store: &Store, dead_only: bool) -> Result<Vec<Listed>, StoreError> {
    let mut out = Vec::new();
    if !dead_only {
        let mut after = None;
        loop {
            let page = store.outbox_queue(after, PAGE)?;
            for q in &page {
                if let Some(mail) = store.outbox_mail(q.seq)? {
                    out.push(Listed::new(&mail, MailState::Queued));
                }
            }
            if page.len() < PAGE {
                break;
            }
            after = page.last().copied();
        }
    }
    for seq in store.dead_letter_seqs()? {
        if let Some(mail) = store.dead_letter(seq)? {
            out.push(Listed::new(&mail, MailState::Dead));
        }
    }
    Ok(out)
}

/// Why a dead letter could not be resent.
#[derive(Debug, thiserror::Error)]
pub enum ResendError {
    /// The mail is still being tried.
    #[error("mail {0} is queued, not dead: the sender is already trying it")]
    Queued(u64),
    /// No mail of that number.
    #[error("no mail {0} in the outbox (`otklik outbox --dead` lists the dead letters)")]
    Unknown(u64),
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Puts dead letter `seq` back in the queue, due now, and makes it durable. The sender
/// must be woken afterwards when it runs.
pub fn resend(store: &Store, seq: u64) -> Result<(), ResendError> {
    match store.outbox_resend(seq, Utc::now())? {
        Resend::Done => {
            store.flush_blocking()?;
            tracing::info!(seq, "dead letter queued again");
            Ok(())
        }
        Resend::Queued => Err(ResendError::Queued(seq)),
        Resend::Unknown => Err(ResendError::Unknown(seq)),
    }
}
