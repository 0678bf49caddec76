//! Keywords (docs/keywords.md): at the start of a line, case-insensitive, `ё` = `е`, Russian and
//! English equal, a whole word or phrase, trailing punctuation allowed.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;

use super::{Keyword, find_tag, quote::trim_block};

/// The explanation carried by [`Keyword::Invalid`] for an `НАЗНАЧИТЬ` with no target.
pub(super) const ASSIGN_WITHOUT_TARGET: &str = "НАЗНАЧИТЬ / ASSIGN needs an executor id or an email address after it, \
     e.g. «НАЗНАЧИТЬ housing»";

/// A keyword officials write, whatever its language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    /// `ПРОМЕЖУТОЧНЫЙ` / `INTERIM`: the executor's text is a draft interim answer.
    Interim,
    /// `УТОЧНЕНИЕ` / `QUERY`: the executor's text is a draft clarifying question to the author.
    Query,
    /// `НЕ МОЯ КОМПЕТЕНЦИЯ` / `DECLINE`: the executor hands the case back to the coordinator.
    Decline,
    /// `СОГЛАСОВАНО` / `APPROVE`: the coordinator approves the pending draft.
    Approve,
    /// `ДОРАБОТАТЬ` / `REWORK`: the coordinator returns the draft with comments.
    Rework,
    /// `НАЗНАЧИТЬ` / `ASSIGN`: the coordinator (re)assigns the case to an executor.
    Assign,
    /// `ИСКЛЮЧИТЬ` / `EXCLUDE`: the coordinator excludes the post under clause 12.
    Exclude,
    /// `ЗАКРЫТЬ` / `CLOSE`: the coordinator closes the case without an answer.
    Close,
    /// `ОПУБЛИКОВАНО` / `PUBLISHED`: the approved text has been posted.
    Published,
    /// `МОИ ДЕЛА` / `MY CASES`: a request for open cases (an executor's own, or all of them
    /// for the coordinator and supervisor).
    MyCases,
    /// `ОТСУТСТВУЮ` / `ABSENT` with `ДО` / `UNTIL` and a date: an executor is away through it.
    Absent,
    /// `НА МЕСТЕ` / `BACK`: ends the absence an executor announced by mail.
    Back,
    /// `ОТЧЁТ` / `REPORT` with a date range: the report by mail, for the coordinator or the
    /// supervisor.
    Report,
    /// `ПОВТОР` / `REPEAT` with the earlier case (`ПОВТОР OTK-17`): the coordinator links a
    /// case flagged as a possible repeat to that earlier case.
    Repeat,
}

/// Every keyword, as the mails print it in Russian and in English. The parser reads exactly
/// these words (case-insensitive, `ё` = `е`, any whitespace between words); the templates
/// print them with [`word`]. `ОТСУТСТВУЮ` / `ABSENT` is followed by `ДО` / `UNTIL` and a date,
/// read with the date, so that a bare `ОТСУТСТВУЮ` is explained too.
pub const KEYWORDS: &[(Word, &str, &str)] = &[
    (Word::Interim, "ПРОМЕЖУТОЧНЫЙ", "INTERIM"),
    (Word::Query, "УТОЧНЕНИЕ", "QUERY"),
    (Word::Decline, "НЕ МОЯ КОМПЕТЕНЦИЯ", "DECLINE"),
    (Word::Approve, "СОГЛАСОВАНО", "APPROVE"),
    (Word::Rework, "ДОРАБОТАТЬ", "REWORK"),
    (Word::Assign, "НАЗНАЧИТЬ", "ASSIGN"),
    (Word::Exclude, "ИСКЛЮЧИТЬ", "EXCLUDE"),
    (Word::Close, "ЗАКРЫТЬ", "CLOSE"),
    (Word::Published, "ОПУБЛИКОВАНО", "PUBLISHED"),
    (Word::MyCases, "МОИ ДЕЛА", "MY CASES"),
    (Word::Absent, "ОТСУТСТВУЮ", "ABSENT"),
    (Word::Back, "НА МЕСТЕ", "BACK"),
    (Word::Report, "ОТЧЁТ", "REPORT"),
    (Word::Repeat, "ПОВТОР", "REPEAT"),
];

/// The keyword as the mails print it: Russian, or English.
pub fn word(w: Word, english: bool) -> &'static str {
    KEYWORDS
        .iter()
        .find(|(k, _, _)| *k == w)
        .map(|(_, ru, en)| if english { *en } else { *ru })
        .unwrap_or("")
}

/// The table as the parser matches it: lower-case, `ё` as `е`, split into words; Russian
/// then English, in the table's order.
static PHRASES: LazyLock<Vec<(Vec<String>, Word)>> = LazyLock::new(|| {
    KEYWORDS
        .iter()
        .flat_map(|&(kind, ru, en)| {
            [ru, en].map(|phrase| {
                let words = phrase
                    .to_lowercase()
                    .replace('ё', "е")
                    .split_whitespace()
                    .map(str::to_string)
                    .collect();
                (words, kind)
            })
        })
        .collect()
});

/// What a keyword position held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Found {
    Keyword(Keyword),
    /// `НАЗНАЧИТЬ` with nothing after it: the caller may find the target elsewhere.
    AssignWithoutTarget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Body,
    Subject,
}

/// The keyword at the start of `line` and the rest of the line after it (its argument and
/// the punctuation after it skipped). An `НАЗНАЧИТЬ` without a target and a bad date give
/// [`Keyword::Invalid`].
pub fn line_keyword(line: &str) -> Option<(Keyword, &str)> {
    let (found, rest) = match_line(line, Context::Body)?;
    let kw = match found {
        Found::Keyword(kw) => kw,
        Found::AssignWithoutTarget => Keyword::Invalid(ASSIGN_WITHOUT_TARGET.to_string()),
    };
    Some((kw, &line[rest..]))
}

/// The keyword in a subject: right after the `[PREFIX-N]` tag (other `[…]` groups and
/// action codes in between are skipped), or, when there is no tag, at the start after any
/// `Re:`/`Fwd:`/`Отв:`… prefixes. A keyword word followed straight by `:` is a title, as
/// in our own subjects (`[OTK-42] Уточнение: …`), not a command.
pub fn subject_keyword(subject: &str, prefix: &str) -> Option<Keyword> {
    match subject_keyword_raw(subject, prefix)? {
        Found::Keyword(kw) => Some(kw),
        Found::AssignWithoutTarget => Some(Keyword::Invalid(ASSIGN_WITHOUT_TARGET.to_string())),
    }
}

pub(super) fn subject_keyword_raw(subject: &str, prefix: &str) -> Option<Found> {
    match_line(subject_rest(subject, prefix), Context::Subject).map(|(found, _)| found)
}

/// Where a subject's keyword would start: after the tag (or the `Re:`… prefixes) and the
/// `[…]` groups and codes after it.
fn subject_rest<'a>(subject: &'a str, prefix: &str) -> &'a str {
    let rest = match find_tag(subject, prefix) {
        Some(tag) => &subject[tag.end..],
        None => strip_reply_prefixes(subject),
    };
    skip_subject_noise(rest)
}

/// The keyword on the first non-empty line of `own`, and the text that remains: the rest
/// of that line and the lines after it.
pub(super) fn body_keyword(own: &str) -> Option<(Keyword, String)> {
    let mut lines = own.split('\n');
    let first = lines.by_ref().find(|l| !l.trim().is_empty())?;
    let (found, rest_at) = match_line(first, Context::Body)?;
    let mut text = first[rest_at..].trim().to_string();
    for line in lines {
        text.push('\n');
        text.push_str(line);
    }
    let text = trim_block(&text);
    match found {
        Found::Keyword(kw) => Some((kw, text)),
        Found::AssignWithoutTarget => match leading_target(&text) {
            Some((target, rest)) => Some((Keyword::Assign(target), rest)),
            None => Some((Keyword::Invalid(ASSIGN_WITHOUT_TARGET.to_string()), text)),
        },
    }
}

/// The keyword words of a reply's subject and of its text's first line when they name two
/// different keywords (`ДОРАБОТАТЬ` in the subject, a text starting `Согласовано частично…`):
/// each as written, upper-cased. `None` when either has no keyword or both name the same one
/// (`НАЗНАЧИТЬ` in the subject and `НАЗНАЧИТЬ housing` in the text agree).
pub(super) fn conflict(subject: &str, prefix: &str, own: &str) -> Option<(String, String)> {
    let first = own.split('\n').find(|l| !l.trim().is_empty())?;
    let (body_word, body_written) = word_at(first)?;
    // Only a subject keyword the parser would act on: not a title like `Согласовано: …`.
    subject_keyword_raw(subject, prefix)?;
    let (subject_word, subject_written) = word_at(subject_rest(subject, prefix))?;
    (subject_word != body_word).then_some((subject_written, body_written))
}

/// The keyword word at the start of `line` and the words as written (spaces collapsed,
/// upper-cased).
fn word_at(line: &str) -> Option<(Word, String)> {
    let chars = normalise(line);
    let start = leading_noise(&chars);
    let (kind, after) = PHRASES
        .iter()
        .find_map(|(words, kind)| match_words(&chars, start, words).map(|a| (*kind, a)))?;
    let from = offset(line, &chars, start);
    let to = offset(line, &chars, after);
    let written = line[from..to]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_uppercase();
    Some((kind, written))
}

/// Spaces, `*` and invisible characters before a keyword.
fn leading_noise(chars: &[(usize, char)]) -> usize {
    chars
        .iter()
        .take_while(|&&(_, c)| c.is_whitespace() || matches!(c, '*' | '\u{200b}' | '\u{feff}'))
        .count()
}

/// A first non-empty line that is a lone executor id or email address, and the text after
/// that line.
pub(super) fn leading_target(own: &str) -> Option<(String, String)> {
    let mut lines = own.split('\n');
    let first = lines.by_ref().find(|l| !l.trim().is_empty())?;
    let token = first.trim();
    if token.split_whitespace().count() != 1 {
        return None;
    }
    let target = clean_target(token)?;
    if !target
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._@+-".contains(c))
    {
        return None;
    }
    let rest: Vec<&str> = lines.collect();
    Some((target, trim_block(&rest.join("\n"))))
}

/// Drops `Re:`, `RE[2]:`, `Fwd:`, `Отв:`, `Пересл:`, `AW:`, `SV:`, `VS:`… repeated.
fn strip_reply_prefixes(subject: &str) -> &str {
    static PREFIXES: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(
            r"(?i)^(?:\s*(?:re|fwd?|aw|sv|vs|wg|tr|rv|antw|odp|отв|ответ|пересл|переслать)\s*(?:\[\d+\]|\(\d+\))?\s*:)*",
        )
        .ok()
    });
    match PREFIXES.as_ref().and_then(|re| re.find(subject)) {
        Some(m) => &subject[m.end()..],
        None => subject,
    }
}

/// Whitespace, `[…]` groups (`[EXTERNAL]`) and action codes between the tag and a keyword.
fn skip_subject_noise(mut s: &str) -> &str {
    loop {
        let t = s.trim_start();
        if t.starts_with('[')
            && let Some(close) = t.find(']')
        {
            s = &t[close + 1..];
            continue;
        }
        if let Some(after) = t.strip_prefix('#') {
            let len = after
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            if len == 8 {
                s = &after[len..];
                continue;
            }
        }
        return t;
    }
}

/// `line` as (byte offset, normalised char): lower case, `ё` as `е`.
fn normalise(line: &str) -> Vec<(usize, char)> {
    line.char_indices()
        .map(|(i, c)| {
            let c = c.to_lowercase().next().unwrap_or(c);
            (i, if c == 'ё' { 'е' } else { c })
        })
        .collect()
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Matches `words` at `start`; returns the index just after the phrase when it ends on a
/// word boundary (`Согласованность` and `back-office` do not match).
fn match_words<S: AsRef<str>>(chars: &[(usize, char)], start: usize, words: &[S]) -> Option<usize> {
    let mut i = start;
    for (n, word) in words.iter().enumerate() {
        if n > 0 {
            let ws = chars[i..]
                .iter()
                .take_while(|(_, c)| c.is_whitespace())
                .count();
            if ws == 0 {
                return None;
            }
            i += ws;
        }
        for wc in word.as_ref().chars() {
            match chars.get(i) {
                Some(&(_, c)) if c == wc => i += 1,
                _ => return None,
            }
        }
    }
    match chars.get(i).map(|&(_, c)| c) {
        Some(c) if is_word_char(c) => None,
        Some('-') if chars.get(i + 1).is_some_and(|&(_, c)| is_word_char(c)) => None,
        _ => Some(i),
    }
}

/// Separator characters after a keyword: `Согласовано.`, `ДОРАБОТАТЬ: …`, `APPROVE!`.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || ".,!?:;…-—–*".contains(c)
}

fn offset(line: &str, chars: &[(usize, char)], i: usize) -> usize {
    chars.get(i).map_or(line.len(), |&(o, _)| o)
}

/// The keyword at the start of `line` and the byte offset of what follows it.
fn match_line(line: &str, ctx: Context) -> Option<(Found, usize)> {
    let chars = normalise(line);
    let start = leading_noise(&chars);
    let (kind, after) = PHRASES
        .iter()
        .find_map(|(words, kind)| match_words(&chars, start, words).map(|a| (*kind, a)))?;
    let after_off = offset(line, &chars, after);
    let skip_sep = |from: usize| -> usize {
        let n = line[from..]
            .chars()
            .take_while(|&c| is_separator(c))
            .map(char::len_utf8)
            .sum::<usize>();
        from + n
    };
    let simple = |kw: Keyword| -> Option<(Found, usize)> {
        if ctx == Context::Subject && line[after_off..].starts_with(':') {
            return None;
        }
        Some((Found::Keyword(kw), skip_sep(after_off)))
    };
    match kind {
        Word::Interim => simple(Keyword::Interim),
        Word::Query => simple(Keyword::Query),
        Word::Decline => simple(Keyword::Decline),
        Word::Approve => simple(Keyword::Approve),
        Word::Rework => simple(Keyword::Rework),
        Word::Exclude => simple(Keyword::Exclude),
        Word::Close => simple(Keyword::Close),
        Word::Published => simple(Keyword::Published),
        Word::MyCases => simple(Keyword::MyCases),
        Word::Back => simple(Keyword::Back),
        Word::Assign => {
            let (token, end) = next_token(line, skip_sep(after_off));
            match token.and_then(clean_target) {
                Some(target) => Some((Found::Keyword(Keyword::Assign(target)), skip_sep(end))),
                None => Some((Found::AssignWithoutTarget, skip_sep(after_off))),
            }
        }
        Word::Absent => Some(absent(line, &chars, after)),
        Word::Report => Some(report_range(line, skip_sep(after_off))),
        Word::Repeat => {
            if ctx == Context::Subject && line[after_off..].starts_with(':') {
                return None;
            }
            // `ПОВТОР` is a keyword only with the earlier case after it, or with nothing (then
            // explained): «Repeat without an earlier case», one of our own subjects, and an
            // English draft starting «Repeat inspections…» are no keyword.
            let (token, end) = next_token(line, skip_sep(after_off));
            match token {
                Some(t) if !t.starts_with('#') => {
                    earlier_case(t).map(|n| (Found::Keyword(Keyword::RepeatOf(n)), skip_sep(end)))
                }
                _ => Some((
                    Found::Keyword(Keyword::Invalid(REPEAT_WITHOUT_CASE.to_string())),
                    skip_sep(after_off),
                )),
            }
        }
    }
}

/// `ОТЧЁТ 01.11.2026-30.11.2026` / `REPORT 2026-11-01..2026-11-30`: the period, first day
/// and last day inclusive (either date form, `-`, `..`, `–` or a space between them).
fn report_range(line: &str, from: usize) -> (Found, usize) {
    const HOW: &str =
        "write ОТЧЁТ ДД.ММ.ГГГГ-ДД.ММ.ГГГГ or REPORT YYYY-MM-DD..YYYY-MM-DD (first and last day)";
    let rest = &line[from..];
    let end = from + rest.len();
    let spec: String = rest
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    let split = |s: &str| -> Option<(NaiveDate, NaiveDate)> {
        for sep in ["..", "–", "—", " - ", " "] {
            if let Some((a, b)) = s.split_once(sep)
                && let (Some(a), Some(b)) = (parse_date(a.trim()), parse_date(b.trim()))
            {
                return Some((a, b));
            }
        }
        // `01.11.2026-30.11.2026`: the hyphen between two dotted dates.
        let (a, b) = s.split_once('-').filter(|(a, _)| a.contains('.'))?;
        Some((parse_date(a)?, parse_date(b)?))
    };
    let found = match split(spec.trim()) {
        Some((a, b)) if a <= b => Keyword::Report(a, b),
        Some(_) => Keyword::Invalid(format!("the period starts after it ends: {HOW}")),
        None if spec.is_empty() => {
            Keyword::Invalid(format!("ОТЧЁТ / REPORT needs a period: {HOW}"))
        }
        None => Keyword::Invalid(format!("«{spec}» is not a period: {HOW}")),
    };
    (Found::Keyword(found), end)
}

/// The explanation carried by [`Keyword::Invalid`] for a `ПОВТОР` without the earlier case.
const REPEAT_WITHOUT_CASE: &str =
    "ПОВТОР / REPEAT needs the earlier case after it, e.g. «ПОВТОР OTK-17»";

/// The earlier case's number as written after `ПОВТОР`: `OTK-17`, `[OTK-17]` or `17`.
fn earlier_case(token: &str) -> Option<u64> {
    let t = token.trim_matches(|c: char| "<>\"'«»()[],;.!?:".contains(c));
    let digits = match t.rsplit_once('-') {
        Some((prefix, n)) if !prefix.is_empty() && prefix.chars().all(char::is_alphanumeric) => n,
        Some(_) => return None,
        None => t,
    };
    if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The whitespace-delimited token at `from` (after any whitespace) and the offset after it.
fn next_token(line: &str, from: usize) -> (Option<&str>, usize) {
    let rest = &line[from..];
    let lead = rest.len() - rest.trim_start().len();
    let start = from + lead;
    let len = line[start..]
        .find(char::is_whitespace)
        .unwrap_or(line.len() - start);
    if len == 0 {
        (None, start)
    } else {
        (Some(&line[start..start + len]), start + len)
    }
}

/// An executor id or address as written after `НАЗНАЧИТЬ`, without brackets, quotes,
/// `mailto:` and trailing punctuation; addresses lower-cased. An action code is no target.
fn clean_target(token: &str) -> Option<String> {
    let t = token.trim_matches(|c: char| "<>\"'«»()[],;.!?:".contains(c));
    let t = match t.get(..7) {
        Some(head) if head.eq_ignore_ascii_case("mailto:") => &t[7..],
        _ => t,
    };
    let t = t.trim_matches(|c: char| "<>\"'«»()[],;.!?:".contains(c));
    if t.is_empty() || t.starts_with('#') {
        return None;
    }
    Some(if t.contains('@') {
        t.to_lowercase()
    } else {
        t.to_string()
    })
}

/// `ОТСУТСТВУЮ [ДО] <date>` / `ABSENT [UNTIL] <date>`; `after` is the index after the verb.
fn absent(line: &str, chars: &[(usize, char)], after: usize) -> (Found, usize) {
    let ws = chars[after..]
        .iter()
        .take_while(|(_, c)| c.is_whitespace())
        .count();
    let mut at = offset(line, chars, after);
    for connector in [&["до"][..], &["until"], &["till"], &["to"]] {
        if let Some(end) = match_words(chars, after + ws, connector) {
            at = offset(line, chars, end);
            break;
        }
    }
    let from = at + line[at..].len() - line[at..].trim_start_matches([' ', '\t', ':']).len();
    let (token, end) = next_token(line, from);
    let Some(token) = token else {
        return (
            Found::Keyword(Keyword::Invalid(
                "ОТСУТСТВУЮ ДО / ABSENT UNTIL needs a date: ДД.ММ.ГГГГ or YYYY-MM-DD".to_string(),
            )),
            at,
        );
    };
    let Some(date) = parse_date(token) else {
        return (
            Found::Keyword(Keyword::Invalid(format!(
                "«{token}» is not a date: write ОТСУТСТВУЮ ДО ДД.ММ.ГГГГ or ABSENT UNTIL YYYY-MM-DD"
            ))),
            end,
        );
    };
    // `25.12.2026 г.`: the year abbreviation belongs to the date.
    let mut end = end;
    let rest = &line[end..];
    let trimmed = rest.trim_start();
    if let Some(after_g) = trimmed.strip_prefix('г')
        && !after_g.starts_with(is_word_char)
    {
        end += rest.len() - after_g.len();
    }
    let n = line[end..]
        .chars()
        .take_while(|&c| is_separator(c))
        .map(char::len_utf8)
        .sum::<usize>();
    (Found::Keyword(Keyword::AbsentUntil(date)), end + n)
}

/// `ДД.ММ.ГГГГ` (also `Д.М.ГГГГ`, `ДД.ММ.ГГГГг.`) or `YYYY-MM-DD`, trailing punctuation
/// ignored; an impossible date is `None`.
pub(super) fn parse_date(token: &str) -> Option<NaiveDate> {
    let punct = |c: char| ".,;:!?)»\"'".contains(c);
    let t = token.trim_end_matches(punct);
    let t = t.strip_suffix('г').unwrap_or(t).trim_end_matches(punct);
    let num = |s: &str, max_len: usize| -> Option<u32> {
        if s.is_empty() || s.len() > max_len || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let parts: Vec<&str> = t.split(['.', '-']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let (y, m, d) = if t.contains('.') && !t.contains('-') && c.len() == 4 {
        (num(c, 4)?, num(b, 2)?, num(a, 2)?)
    } else if t.contains('-') && !t.contains('.') && a.len() == 4 {
        (num(a, 4)?, num(b, 2)?, num(c, 2)?)
    } else {
        return None;
    };
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}
