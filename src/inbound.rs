//! Any incoming message, parsed once: the headers otklik needs, loop signals, the body as
//! plain text (HTML turned into text, any charset), attachments. Pure.
//!
//! STUB: types fixed; the intake helper writes `parse`.

use chrono::{DateTime, Utc};

use crate::config::Address;

/// An attachment, kept byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    pub filename: String,
    /// e.g. `image/png`.
    pub content_type: String,
    pub data: Vec<u8>,
}

/// Why a message is machine-generated (SPEC §7): never answer it, never open a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Automatic {
    /// `Auto-Submitted` other than `no` (its value).
    AutoSubmitted(String),
    /// `Precedence: bulk|junk|list`.
    Precedence(String),
    /// A delivery status notification (`multipart/report; report-type=delivery-status`,
    /// or from `MAILER-DAEMON` / an empty return path).
    Bounce,
    /// `List-Id` / `List-Unsubscribe` present.
    MailingList,
    /// `X-Autoreply`, `X-Autorespond`, `X-Auto-Response-Suppress: All` (Outlook OOF).
    AutoReply,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// Without angle brackets.
    pub message_id: Option<String>,
    /// Without angle brackets.
    pub in_reply_to: Vec<String>,
    /// Without angle brackets, in header order.
    pub references: Vec<String>,
    pub from: Option<Address>,
    /// Decoded (RFC 2047), unfolded.
    pub subject: String,
    pub date: Option<DateTime<Utc>>,
    pub automatic: Option<Automatic>,
    /// The body as plain text: the text/plain part, or the HTML part through
    /// [`crate::text::html_to_text`] when there is no plain part. `\n` line ends.
    pub text: String,
    /// True when `text` came from HTML.
    pub from_html: bool,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    #[error("not a parseable RFC 5322 message")]
    Unparseable,
}

impl Inbound {
    /// Parse raw RFC 5322 bytes.
    pub fn parse(raw: &[u8]) -> Result<Inbound, InboundError> {
        let _ = raw;
        todo!("intake helper")
    }
}
