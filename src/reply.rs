//! Replies by email (SPEC §6, §8): which case, which action, the reply's own text. Pure.
//!
//! STUB: types fixed; the reply helper writes the parser.

use chrono::NaiveDate;

use crate::inbound::Inbound;

/// The action asked for (SPEC §6 table, §8 self-service).
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
}

/// Where the keyword was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeywordSource {
    Subject,
    Body,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedReply {
    /// N of the `[PREFIX-N]` tag in the subject, if any.
    pub case_number: Option<u64>,
    pub keyword: Option<(Keyword, KeywordSource)>,
    /// The reply's own text: quoted text and signature cut off, and the keyword line
    /// removed when the keyword came from the body (the rest is the draft or comments).
    pub text: String,
    /// Every action-code token (`#` + 8 characters of [a-z2-9], case-insensitive) found in
    /// the subject or anywhere in the body, lower-cased, without `#`.
    pub codes: Vec<String>,
}

/// Parse a reply; `prefix` is `service.case_prefix` (`OTK`).
pub fn parse_reply(mail: &Inbound, prefix: &str) -> ParsedReply {
    let _ = (mail, prefix);
    todo!("reply helper")
}
