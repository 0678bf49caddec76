//! Any incoming message, parsed once: the headers otklik needs, loop signals, the body as
//! plain text (HTML turned into text, any charset), attachments. Pure.
//!
//! Parsing is done by `mail-parser` (with `full_encoding`, so windows-1251, koi8-r and the
//! other legacy Cyrillic charsets decode). It never panics on malformed input; a message
//! without any header it can read is [`InboundError::Unparseable`], a message with headers
//! but broken MIME yields whatever can be read.
//!
//! ## Loop signals (docs/keywords.md)
//!
//! [`Inbound::automatic`] is set, in this order of precedence, by:
//! - `Auto-Submitted` with any value other than `no` (RFC 3834);
//! - `Precedence: bulk | junk | list`;
//! - a delivery status notification: `multipart/report; report-type=delivery-status`, a
//!   null return path (`Return-Path: <>`, which RFC 5321 reserves for bounces and RFC 3834
//!   auto-responses), or mail from `MAILER-DAEMON@…` / `postmaster@…` whose subject looks
//!   like a bounce;
//! - `List-Id` or `List-Unsubscribe` (mailing lists, newsletters);
//! - `X-Autoreply`, `X-Autorespond`, `X-Autoreply-From`, `X-Mail-Autoreply` (any value
//!   other than `no`/`false`), or `X-Auto-Response-Suppress: All|OOF` **together with** an
//!   auto-reply subject ("Automatic reply:", "Out of office", "Автоответ", …).
//!
//! `X-Auto-Response-Suppress` alone is deliberately **not** a signal: Outlook and Exchange
//! put it on ordinary mail written by people (and on meeting requests), so treating it as
//! "automatic" would silently drop real replies from executors.

use chrono::{DateTime, Utc};
use mail_parser::{HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType};

use crate::address::{self, Address};

mod depth;
mod loops;

pub use depth::mime_depth;
use loops::automatic;
pub use loops::autoreply_subject;

/// The most body text kept, in bytes: [`Inbound::text`] is never longer, so that no parser
/// downstream (intake, the reply parser, the exclusion lexicon) ever works on more. A
/// longer body is cut at a character boundary and ends with [`TEXT_CUT_MARK`]. One MiB is
/// hundreds of pages: no post, notification or reply written by a person comes near it.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// The most HTML handed to [`crate::text::html_to_text`], in bytes (markup, styles and
/// inline images weigh several times the text they carry); the text that comes out is
/// then held to [`MAX_TEXT_BYTES`] like any other.
pub const MAX_HTML_BYTES: usize = 4 * MAX_TEXT_BYTES;

/// The last line of a body text that was cut to [`MAX_TEXT_BYTES`]: the reader sees that
/// something is missing.
pub const TEXT_CUT_MARK: &str = "\n\n[… текст письма обрезан: он длиннее 1 МиБ]";

/// An attachment, kept byte for byte.
///
/// Serialised, it is a reference only — name, type, SHA-256 and size, never the bytes: the
/// store keeps each attachment's bytes once, by hash, and puts `data` back when it reads a
/// case. (Records written before carried the bytes inline; those are still read.)
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Attachment {
    /// The name the sender gave, trimmed; `attachment-N.ext` when it gave none.
    pub filename: String,
    /// e.g. `image/png`.
    pub content_type: String,
    /// The decoded content; empty in a serialised record until the store puts it back.
    #[serde(default, skip_serializing)]
    pub data: Vec<u8>,
    /// Lower-case hex SHA-256 of `data`.
    #[serde(default)]
    pub sha256: String,
    /// Length of `data` in bytes.
    #[serde(default)]
    pub size: u64,
}

impl Attachment {
    /// An attachment with its hash and size computed from `data`.
    pub fn new(filename: String, content_type: String, data: Vec<u8>) -> Attachment {
        Attachment {
            filename,
            content_type,
            sha256: sha256_hex(&data),
            size: data.len() as u64,
            data,
        }
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Why a message is machine-generated (docs/keywords.md): never answer it, never open a case.
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

/// One incoming message as otklik reads it, whatever it turns out to be (notification,
/// reply, request or noise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// Without angle brackets.
    pub message_id: Option<String>,
    /// Without angle brackets.
    pub in_reply_to: Vec<String>,
    /// Without angle brackets, in header order.
    pub references: Vec<String>,
    /// The single sender, address lower-cased; `None` when there is no `From`, several
    /// senders, or an address that could not be mailed.
    pub from: Option<Address>,
    /// Decoded (RFC 2047), unfolded.
    pub subject: String,
    /// The `Date` header in UTC, to the second; `None` when absent or invalid.
    pub date: Option<DateTime<Utc>>,
    /// Why the message is machine-generated, if it is; such a message is never answered.
    pub automatic: Option<Automatic>,
    /// The body as plain text: the text/plain part, or the HTML part through
    /// [`crate::text::html_to_text`] when there is no plain part. `\n` line ends. At most
    /// [`MAX_TEXT_BYTES`] long (see [`Inbound::text_was_cut`]).
    pub text: String,
    /// True when `text` came from HTML.
    pub from_html: bool,
    /// Every non-body part, inline images and attached messages included, in MIME order.
    pub attachments: Vec<Attachment>,
    /// A `From` whose address appears only inside RFC 2047 encoded words of the form
    /// `Name <addr>` (the whole field encoded, as some robots write it): no sender of
    /// anything, but the monitoring platform's notifications are recognised by it (see
    /// `decide`). `from` is `None` then.
    pub from_encoded: Option<Address>,
    /// The `Authentication-Results` fields, top first: the position of each among all the
    /// header fields (to tell neighbours apart) and its unfolded value. At most
    /// [`MAX_AUTH_RESULTS`]; read by [`crate::authres`].
    pub auth_results: Vec<(usize, String)>,
}

/// The most `Authentication-Results` fields kept of a message.
pub const MAX_AUTH_RESULTS: usize = 32;

/// Why raw bytes could not be read as a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    /// Not a message at all: no recognised header field, or the parser gave up.
    #[error("not a parseable RFC 5322 message")]
    Unparseable,
    /// Its MIME structure (multiparts and attached messages within each other) nests
    /// deeper than [`MAX_MIME_DEPTH`]: refused before it is parsed (see [`mime_depth`]).
    #[error("its MIME structure nests more than {limit} levels deep; not read")]
    TooDeep {
        /// [`MAX_MIME_DEPTH`].
        limit: usize,
    },
}

/// The deepest MIME structure [`Inbound::parse`] reads: multiparts and attached messages
/// (`message/rfc822`) within each other, the message itself not counted. A notification is
/// 1–3 deep (mixed ⊃ related ⊃ alternative); each "forward as attachment" adds about 4 (the
/// attached message and its own parts), so 32 holds a chain of seven forwards. A hostile
/// message nests hundreds of thousands of levels in a few megabytes: the parser keeps each
/// attached message inside its parent, and freeing such a chain recurses once a level,
/// which overflows any thread's stack — a crash no `catch_unwind` stops.
pub const MAX_MIME_DEPTH: usize = 32;

impl Inbound {
    /// Whether [`Inbound::text`] was cut to [`MAX_TEXT_BYTES`] (it ends with
    /// [`TEXT_CUT_MARK`]).
    pub fn text_was_cut(&self) -> bool {
        self.text.ends_with(TEXT_CUT_MARK)
    }

    /// Parse raw RFC 5322 bytes. A message whose MIME structure nests deeper than
    /// [`MAX_MIME_DEPTH`] is refused before the parser sees it ([`InboundError::TooDeep`]).
    pub fn parse(raw: &[u8]) -> Result<Inbound, InboundError> {
        if mime_depth(raw, MAX_MIME_DEPTH) > MAX_MIME_DEPTH {
            return Err(InboundError::TooDeep {
                limit: MAX_MIME_DEPTH,
            });
        }
        // mail-parser asserts on some malformed structures (found by fuzzing: "Invalid part
        // ID" in debug builds); a message it cannot read must not take the service down.
        match std::panic::catch_unwind(|| Inbound::parse_inner(raw)) {
            Ok(result) => result,
            Err(_) => Err(InboundError::Unparseable),
        }
    }

    fn parse_inner(raw: &[u8]) -> Result<Inbound, InboundError> {
        let msg = FlatDrop(
            MessageParser::default()
                .parse(raw)
                .ok_or(InboundError::Unparseable)?,
        );
        let msg = &msg.0;
        let root = msg.parts.first().ok_or(InboundError::Unparseable)?;
        // mail-parser reads almost anything as "headers"; a message must have at least one
        // header field of RFC 5322 / MIME that it recognises (From, Date, Subject, …).
        if !root.headers.iter().any(|h| !h.name.is_other()) {
            return Err(InboundError::Unparseable);
        }

        let message_id = msg
            .message_id()
            .map(strip_brackets)
            .filter(|s| !s.is_empty());
        let in_reply_to = ids(msg.in_reply_to());
        let references = ids(msg.references());
        // Several From fields, or several addresses in one, name nobody we could hold to
        // account: such a message has no sender.
        let single_from = msg.header_values(mail_parser::HeaderName::From).count() == 1
            && msg.from().is_some_and(|a| a.iter().count() == 1);
        // Some generators (the monitoring platform among them) encode the whole
        // `Name <addr>` as RFC 2047 words: the address only shows up once the "name" is
        // decoded. That is display text, no sender; it is kept apart, for the platform only.
        let from_encoded = msg
            .from()
            .filter(|_| single_from)
            .and_then(|a| a.first())
            .filter(|a| a.address().is_none())
            .and_then(|a| a.name())
            .filter(|n| n.trim_end().ends_with('>') && n.contains('<'))
            .and_then(address::parse_address)
            .filter(|a| a.email.is_ascii() && a.name.is_some());
        let from = msg
            .from()
            .filter(|_| single_from)
            .and_then(|a| a.first())
            .and_then(|a| {
                let name = a
                    .name()
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty());
                // Only the structured address counts, never display text: a `From` that is
                // one RFC 2047 encoded word decoding to `boss@example.ru` names nobody (the
                // address would come from text anyone can dress up). Addresses are ASCII
                // (no SMTPUTF8 here) and compared lower-cased in ASCII only: `to_lowercase`
                // would turn the Kelvin sign `K` (U+212A) into `k` and let a look-alike
                // pass as a configured address.
                let email = a
                    .address()
                    .map(|e| e.trim().to_ascii_lowercase())
                    .filter(|e| !e.is_empty() && e.is_ascii())?;
                // An address the SMTP library would refuse is no address: such a sender can
                // be neither recognised nor answered.
                address::is_email(&email).then_some(Address { name, email })
            });
        let subject = unfold(msg.subject().unwrap_or_default());
        let date = msg
            .date()
            .filter(|d| d.is_valid())
            .and_then(|d| DateTime::<Utc>::from_timestamp(d.to_timestamp(), 0));
        let automatic = automatic(msg, from.as_ref(), &subject);
        let auth_results = auth_results(msg);
        let (text, from_html, body_part) = body(msg);
        let attachments = attachments(msg, body_part);

        Ok(Inbound {
            message_id,
            in_reply_to,
            references,
            from,
            subject,
            date,
            automatic,
            text,
            from_html,
            attachments,
            auth_results,
            from_encoded,
        })
    }
}

/// A parsed message that is freed level by level: dropping mail-parser's `Message` as is
/// recurses once per attached message within an attached message, and a chain deeper than
/// [`MAX_MIME_DEPTH`] must never reach that (the pre-scan keeps it out; this is the second
/// line, for any structure the pre-scan reads differently from the parser).
struct FlatDrop<'x>(Message<'x>);

impl<'x> Drop for FlatDrop<'x> {
    fn drop(&mut self) {
        /// Moves the attached messages out of `m`'s parts (each freed on its own later).
        fn take<'x>(m: &mut Message<'x>, pending: &mut Vec<Message<'x>>) {
            for part in &mut m.parts {
                if let PartType::Message(_) = part.body
                    && let PartType::Message(inner) = std::mem::take(&mut part.body)
                {
                    pending.push(inner);
                }
            }
        }
        let mut pending: Vec<Message<'x>> = Vec::new();
        take(&mut self.0, &mut pending);
        while let Some(mut m) = pending.pop() {
            take(&mut m, &mut pending);
        }
    }
}

fn strip_brackets(s: &str) -> String {
    s.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

fn ids(value: &HeaderValue<'_>) -> Vec<String> {
    let raw: Vec<&str> = match value {
        HeaderValue::Text(t) => vec![t.as_ref()],
        HeaderValue::TextList(list) => list.iter().map(|t| t.as_ref()).collect(),
        _ => Vec::new(),
    };
    raw.into_iter()
        .flat_map(|s| s.split_whitespace())
        .map(strip_brackets)
        .filter(|s| !s.is_empty())
        .collect()
}

fn unfold(s: &str) -> String {
    s.replace(['\r', '\n'], "").trim().to_string()
}

/// The root's `Authentication-Results` fields, top first, with their positions.
fn auth_results(msg: &Message<'_>) -> Vec<(usize, String)> {
    let Some(root) = msg.parts.first() else {
        return Vec::new();
    };
    root.headers
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            h.name
                .as_str()
                .eq_ignore_ascii_case("Authentication-Results")
        })
        .take(MAX_AUTH_RESULTS)
        .filter_map(|(i, h)| {
            let bytes = msg
                .raw_message
                .get(h.offset_start as usize..h.offset_end as usize)?;
            Some((i, unfold_spaces(&String::from_utf8_lossy(bytes))))
        })
        .collect()
}

/// A folded header value on one line, each line break read as a space.
fn unfold_spaces(s: &str) -> String {
    s.replace("\r\n", " ")
        .replace(['\r', '\n'], " ")
        .trim()
        .to_string()
}

fn normalise_newlines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The body text held to [`MAX_TEXT_BYTES`]: a longer one (or one made from a source that
/// was itself cut, `source_cut`) keeps what fits before [`TEXT_CUT_MARK`].
fn capped(text: String, source_cut: bool) -> String {
    if text.len() <= MAX_TEXT_BYTES && !source_cut {
        return text;
    }
    let mut out = prefix(&text, MAX_TEXT_BYTES - TEXT_CUT_MARK.len())
        .trim_end()
        .to_string();
    out.push_str(TEXT_CUT_MARK);
    out
}

/// The body text, whether it came from HTML, and the index of the part it came from.
fn body(msg: &Message<'_>) -> (String, bool, Option<usize>) {
    // The first genuine text/plain body part. mail-parser lists an HTML part among the text
    // bodies when there is no plain alternative, so check the part's own type.
    // An empty plain alternative next to a real HTML part (some platforms send one) does
    // not count.
    let has_html = msg.html_body.iter().any(|&id| {
        msg.parts
            .get(id as usize)
            .is_some_and(|p| matches!(p.body, PartType::Html(_)))
    });
    for &id in &msg.text_body {
        if let Some(part) = msg.parts.get(id as usize)
            && let PartType::Text(t) = &part.body
            && !(has_html && t.trim().is_empty())
        {
            // Cut before normalising, so that the copy is bounded too (a `\r\n` pair cut in
            // two keeps its `\r`, which normalising turns into the same `\n`).
            let kept = prefix(t, MAX_TEXT_BYTES);
            let text = capped(normalise_newlines(kept), kept.len() < t.len());
            return (text, false, Some(id as usize));
        }
    }
    for &id in &msg.html_body {
        if let Some(part) = msg.parts.get(id as usize)
            && let PartType::Html(h) = &part.body
        {
            let kept = prefix(h, MAX_HTML_BYTES);
            let text = crate::text::html_to_text(&normalise_newlines(kept));
            return (capped(text, kept.len() < h.len()), true, Some(id as usize));
        }
    }
    (String::new(), false, None)
}

fn content_type_of(part: &MessagePart<'_>) -> String {
    match part.content_type() {
        Some(ct) => match ct.c_subtype.as_deref() {
            Some(sub) => format!("{}/{}", ct.c_type, sub).to_lowercase(),
            None => ct.c_type.to_lowercase(),
        },
        None => match part.body {
            PartType::Text(_) => "text/plain".into(),
            PartType::Html(_) => "text/html".into(),
            PartType::Message(_) => "message/rfc822".into(),
            _ => "application/octet-stream".into(),
        },
    }
}

fn extension_for(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/heic" => "heic",
        "application/pdf" => "pdf",
        "video/mp4" => "mp4",
        "text/plain" => "txt",
        "text/html" => "html",
        "message/rfc822" => "eml",
        _ => "bin",
    }
}

/// The part's body as sent, with only the transfer encoding undone (text attachments keep
/// their own charset, byte for byte).
fn raw_body(msg: &Message<'_>, part: &MessagePart<'_>) -> Option<Vec<u8>> {
    let raw = msg
        .raw_message
        .get(part.offset_body as usize..part.offset_end as usize)?;
    match part.encoding {
        mail_parser::Encoding::Base64 => mail_parser::decoders::base64::base64_decode(raw),
        mail_parser::Encoding::QuotedPrintable => {
            mail_parser::decoders::quoted_printable::quoted_printable_decode(raw)
        }
        mail_parser::Encoding::None => Some(raw.to_vec()),
    }
}

fn attachments(msg: &Message<'_>, body_part: Option<usize>) -> Vec<Attachment> {
    let mut out = Vec::new();
    for (i, part) in msg.parts.iter().enumerate() {
        if Some(i) == body_part {
            continue;
        }
        let disposition_attachment = part
            .content_disposition()
            .is_some_and(|cd| cd.is_attachment());
        let name = part
            .attachment_name()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty());
        let data: Vec<u8> = match &part.body {
            PartType::Multipart(_) => continue,
            PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
            PartType::Text(_) | PartType::Html(_) => {
                if name.is_none() && !disposition_attachment {
                    // An inline text part (a signature, the other alternative): not an
                    // attachment.
                    continue;
                }
                raw_body(msg, part).unwrap_or_else(|| part.contents().to_vec())
            }
            // The nested message's own `raw_message` is the whole outer buffer: take the
            // part's body instead.
            PartType::Message(_) => raw_body(msg, part).unwrap_or_default(),
        };
        if i == 0 && data.is_empty() {
            continue;
        }
        let content_type = content_type_of(part);
        let filename = name.unwrap_or_else(|| {
            format!(
                "attachment-{}.{}",
                out.len() + 1,
                extension_for(&content_type)
            )
        });
        out.push(Attachment::new(filename, content_type, data));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The second line: a chain the pre-scan did not stop (here it is not asked) is parsed
    /// and freed without recursing, on a small stack.
    #[test]
    fn a_deep_chain_that_reaches_the_parser_is_freed_without_recursion() {
        let mut raw = b"From: a@b.example\r\nSubject: nest\r\n".to_vec();
        for _ in 0..100_000 {
            raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
        }
        raw.extend_from_slice(b"Content-Type: text/plain\r\n\r\nhello\r\n");
        let parsed = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || Inbound::parse_inner(&raw).map(|m| m.attachments.len()))
            .unwrap()
            .join();
        assert!(matches!(parsed, Ok(Ok(1))), "{parsed:?}");
    }
}
