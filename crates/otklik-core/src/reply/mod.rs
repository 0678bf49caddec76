//! Replies by email (docs/keywords.md): which case, which action, the reply's own text. Pure.
//!
//! [`parse_reply`] is the entry point. The pieces are public too, for the workflow and the
//! templates (e.g. to check that an outgoing subject carries no keyword by accident):
//! [`find_tag`], [`subject_keyword`], [`line_keyword`], [`find_codes`], [`own_text`].

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;

use crate::inbound::Inbound;

pub mod keyword;
mod quote;

pub use keyword::{line_keyword, subject_keyword};
pub use quote::own_text;

/// The action asked for (docs/keywords.md, with self-service).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Keyword {
    /// ПРОМЕЖУТОЧНЫЙ / INTERIM
    Interim,
    /// УТОЧНЕНИЕ / QUERY
    Query,
    /// НЕ МОЯ КОМПЕТЕНЦИЯ / DECLINE
    Decline,
    /// СОГЛАСОВАНО / APPROVE
    Approve,
    /// ДОРАБОТАТЬ / REWORK
    Rework,
    /// НАЗНАЧИТЬ <id or email> / ASSIGN <…>
    Assign(String),
    /// ИСКЛЮЧИТЬ / EXCLUDE
    Exclude,
    /// ЗАКРЫТЬ / CLOSE
    Close,
    /// ОПУБЛИКОВАНО / PUBLISHED
    Published,
    /// МОИ ДЕЛА / MY CASES
    MyCases,
    /// ОТСУТСТВУЮ ДО ДД.ММ.ГГГГ / ABSENT UNTIL YYYY-MM-DD
    AbsentUntil(NaiveDate),
    /// НА МЕСТЕ / BACK
    Back,
    /// ОТЧЁТ ДД.ММ.ГГГГ-ДД.ММ.ГГГГ / REPORT YYYY-MM-DD..YYYY-MM-DD: the report by mail
    /// (first and last day, inclusive).
    Report(NaiveDate, NaiveDate),
    /// ПОВТОР OTK-17 / REPEAT OTK-17: link the case to the earlier case with this number,
    /// which it was flagged as a possible repeat of.
    RepeatOf(u64),
    /// The subject (a `mailto:` link's keyword) and the first word of the text name two
    /// different keywords: which one was meant is asked back, nothing is done. The keywords
    /// as written, upper-cased.
    Conflict {
        /// The keyword in the subject.
        subject: String,
        /// The keyword starting the text.
        body: String,
    },
    /// A keyword was clearly meant but is malformed (`НАЗНАЧИТЬ` without a target,
    /// `ОТСУТСТВУЮ ДО 31.02.2026`). The text says what was wrong, quoting the input, so
    /// that the workflow can explain it to the sender instead of treating the mail as a
    /// draft.
    Invalid(String),
}

/// Where the keyword was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeywordSource {
    /// In the subject, right after the case tag (or at its start when there is no tag).
    Subject,
    /// At the start of the first non-empty line of the reply's own text.
    Body,
}

/// What a reply says: which case, which action, its own text and its action codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedReply {
    /// N of the `[PREFIX-N]` tag in the subject, if any.
    pub case_number: Option<u64>,
    /// The action asked for and where it was found; `None`: no keyword, so a plain draft.
    pub keyword: Option<(Keyword, KeywordSource)>,
    /// The reply's own text: quoted text and signature cut off, and the keyword line
    /// removed when the keyword came from the body (the rest is the draft or comments).
    pub text: String,
    /// The action-code tokens (`#` + 8 characters of [a-z2-9], case-insensitive) found in
    /// the subject or anywhere in the body, lower-cased, without `#`: the first
    /// [`MAX_CODES`] different ones (see [`find_codes`]).
    pub codes: Vec<String>,
}

/// Parse a reply; `prefix` is `service.case_prefix` (`OTK`).
///
/// The keyword on the first non-empty line of the reply's own text wins; otherwise the
/// one right after the tag in the subject (or, with no tag, at the start of the subject
/// after `Re:`/`Fwd:`…), see [`subject_keyword`]. When both are there and name different
/// keywords, the reply's keyword is [`Keyword::Conflict`].
pub fn parse_reply(mail: &Inbound, prefix: &str) -> ParsedReply {
    let body = normalise_newlines(&mail.text);
    let case_number = find_tag(&mail.subject, prefix).map(|t| t.number);
    let sender_name = mail.from.as_ref().and_then(|a| a.name.as_deref());
    let own = own_text(&body, sender_name);
    let codes = find_codes(&mail.subject, &body);

    let (keyword, text) = match keyword::body_keyword(&own) {
        Some((kw, rest)) => match keyword::conflict(&mail.subject, prefix, &own) {
            Some((subject, body)) => (
                Some((Keyword::Conflict { subject, body }, KeywordSource::Body)),
                own,
            ),
            None => (Some((kw, KeywordSource::Body)), rest),
        },
        None => match keyword::subject_keyword_raw(&mail.subject, prefix) {
            Some(keyword::Found::AssignWithoutTarget) => {
                // A `mailto:` link can carry `НАЗНАЧИТЬ` but not the target: take it from
                // a first line that is nothing but an id or an address.
                match keyword::leading_target(&own) {
                    Some((target, rest)) => (
                        Some((Keyword::Assign(target), KeywordSource::Subject)),
                        rest,
                    ),
                    None => (
                        Some((
                            Keyword::Invalid(keyword::ASSIGN_WITHOUT_TARGET.to_string()),
                            KeywordSource::Subject,
                        )),
                        own,
                    ),
                }
            }
            Some(keyword::Found::Keyword(kw)) => (Some((kw, KeywordSource::Subject)), own),
            None => (None, own),
        },
    };

    ParsedReply {
        case_number,
        keyword,
        text,
        codes,
    }
}

/// A `[PREFIX-N]` tag found in a subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    /// The case number N.
    pub number: u64,
    /// Byte offset just after the closing `]`.
    pub end: usize,
}

/// The first `[PREFIX-N]` tag anywhere in `subject`, the prefix matched
/// case-insensitively. A tag whose N does not fit in a `u64`, or has no digits, is no tag.
pub fn find_tag(subject: &str, prefix: &str) -> Option<Tag> {
    if prefix.is_empty() {
        return None;
    }
    let mut search = 0;
    while let Some(rel) = subject.get(search..).and_then(|s| s.find('[')) {
        let open = search + rel;
        search = open + 1;
        let after = &subject[open + 1..];
        let Some(rest) = strip_prefix_ci(after, prefix) else {
            continue;
        };
        let Some(rest) = rest.strip_prefix('-') else {
            continue;
        };
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || !rest[digits..].starts_with(']') {
            continue;
        }
        let Ok(number) = rest[..digits].parse::<u64>() else {
            continue;
        };
        let end = subject.len() - rest.len() + digits + 1;
        return Some(Tag { number, end });
    }
    None
}

/// `s` without a leading `prefix`, compared case-insensitively char by char.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let mut chars = s.char_indices();
    for p in prefix.chars() {
        let (_, c) = chars.next()?;
        if !c.to_lowercase().eq(p.to_lowercase()) {
            return None;
        }
    }
    match chars.next() {
        Some((i, _)) => Some(&s[i..]),
        None => Some(""),
    }
}

/// How many different action codes a message may offer: each one costs a check, and a
/// genuine reply carries one or two (the subject's and the quoted message's).
pub const MAX_CODES: usize = 8;

/// Action codes: `#` (or its URL-encoded form `%23`, as it stands in a quoted `mailto:`
/// link) followed by exactly 8 characters of `[a-z2-9]`, in the subject then the body,
/// lower-cased, deduplicated, in order of appearance; the first [`MAX_CODES`] of them, the
/// rest not even looked for.
pub fn find_codes(subject: &str, body: &str) -> Vec<String> {
    // No `(?i)`: Unicode case folding would let `K` (Kelvin sign) in. `\b` is Unicode-aware,
    // so a ninth letter, digit or Cyrillic letter right after rejects the token.
    static CODE: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"(?:#|%23)([a-zA-Z2-9]{8})\b").ok());
    let Some(re) = CODE.as_ref() else {
        return Vec::new();
    };
    let mut codes: Vec<String> = Vec::new();
    for text in [subject, body] {
        for cap in re.captures_iter(text) {
            if let Some(m) = cap.get(1) {
                let code = m.as_str().to_ascii_lowercase();
                // At most MAX_CODES entries: the duplicate check stays constant-time.
                if !codes.contains(&code) {
                    codes.push(code);
                    if codes.len() == MAX_CODES {
                        return codes;
                    }
                }
            }
        }
    }
    codes
}

/// `\r\n` and lone `\r` to `\n`, a leading BOM dropped.
fn normalise_newlines(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_string()
    }
}
