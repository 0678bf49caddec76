//! The reply's own text: what the sender wrote, without the quoted message, forwarded
//! messages and signature, as the common mail clients lay them out.
//!
//! Top-posted and interleaved replies keep the text before the first quote or marker.
//! A bottom-posted reply (nothing before the quote) keeps the first unquoted block after
//! the quote. A `С уважением,` / `Best regards,` block is cut only when it is a personal
//! signature: a short block at the end that carries a phone number, an email address or a
//! word of the sender's name. A closing like `С уважением, администрация района` is part of
//! a draft answer meant for publication and stays.

use std::sync::LazyLock;

use regex::Regex;

/// The reply's own text of `body` (lines separated by `\n`), trimmed: trailing whitespace
/// off each line, blank lines off both ends. `sender_name` (the From display name) helps
/// to recognise a personal signature.
pub fn own_text(body: &str, sender_name: Option<&str>) -> String {
    let lines: Vec<&str> = body.split('\n').map(|l| l.trim_end_matches('\r')).collect();
    let segment = own_segment(&lines);
    let segment = cut_regards(segment, sender_name);
    trim_block(&segment.join("\n"))
}

/// Trailing whitespace off every line, blank lines off both ends.
pub(super) fn trim_block(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').map(str::trim_end).collect();
    let first = lines.iter().position(|l| !l.is_empty());
    let last = lines.iter().rposition(|l| !l.is_empty());
    match (first, last) {
        (Some(a), Some(b)) => lines[a..=b].join("\n"),
        _ => String::new(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    /// A `>` line.
    Quote,
    /// `On … wrote:` and kin, spanning `lines` lines.
    Attribution { lines: usize },
    /// Original/forwarded-message separators, Outlook header blocks, signatures.
    Stop,
}

fn own_segment<'a>(lines: &'a [&'a str]) -> &'a [&'a str] {
    let mut from = 0;
    // A lone greeting before the quote (The Bat!'s `Здравствуйте, …` template) with the
    // reply written below the quote: the reply is below, the greeting is the fallback.
    let mut greeting: &[&str] = &[];
    loop {
        let Some((start, marker)) = (from..lines.len()).find_map(|i| marker_at(lines, i)) else {
            return &lines[from..];
        };
        let start = start.max(from);
        let before = &lines[from..start];
        if before.iter().any(|l| !l.trim().is_empty()) {
            if marker == Marker::Stop || !greeting.is_empty() || !is_greeting(before) {
                return before;
            }
            greeting = before;
        }
        // Nothing (or only a greeting) written before it: a bottom-posted reply, or none.
        let mut j = match marker {
            Marker::Quote => start,
            Marker::Attribution { lines: n } => start + n,
            Marker::Stop => return greeting,
        };
        while j < lines.len() && (is_quote(lines[j]) || lines[j].trim().is_empty()) {
            j += 1;
        }
        if j >= lines.len() {
            return greeting;
        }
        from = j;
    }
}

/// One short line of greeting and nothing else.
fn is_greeting(segment: &[&str]) -> bool {
    const GREETINGS: &[&str] = &[
        "здравствуй",
        "добрый день",
        "добрый вечер",
        "доброе утро",
        "привет",
        "hello",
        "hi ",
        "hi,",
        "dear ",
        "good morning",
        "good afternoon",
    ];
    let mut written = segment.iter().map(|l| l.trim()).filter(|l| !l.is_empty());
    match (written.next(), written.next()) {
        (Some(line), None) => {
            let lower = line.to_lowercase();
            line.chars().count() <= 80 && GREETINGS.iter().any(|g| lower.starts_with(g))
        }
        _ => false,
    }
}

fn is_quote(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// The marker starting at line `i`, with the line where the cut goes (an Outlook header
/// block takes the rule line above it along).
fn marker_at(lines: &[&str], i: usize) -> Option<(usize, Marker)> {
    let line = lines[i];
    let trimmed = line.trim();
    if trimmed.starts_with('>') {
        return Some((i, Marker::Quote));
    }
    if trimmed.is_empty() {
        return None;
    }
    if line.trim_end() == "--" || is_separator_line(trimmed) || is_mobile_signature(trimmed) {
        return Some((i, Marker::Stop));
    }
    if is_rule(trimmed) && rule_heads_quote(lines, i) {
        return Some((i, Marker::Stop));
    }
    if is_header_block(lines, i) {
        let mut start = i;
        if let Some(p) = (0..i).rev().find(|&p| !lines[p].trim().is_empty())
            && is_rule(lines[p].trim())
        {
            start = p;
        }
        return Some((start, Marker::Stop));
    }
    if let Some(n) = attribution_len(lines, i) {
        return Some((i, Marker::Attribution { lines: n }));
    }
    None
}

/// `-----Original Message-----`, `-------- Пересылаемое сообщение --------`,
/// `Начало переадресованного письма:` and the like.
fn is_separator_line(trimmed: &str) -> bool {
    const PHRASES: &[&str] = &[
        "original message",
        "forwarded message",
        "исходное сообщение",
        "пересылаемое сообщение",
        "пересланное сообщение",
        "перенаправленное сообщение",
        "переадресованное сообщение",
        "оригинальное сообщение",
        "ursprüngliche nachricht",
        "weitergeleitete nachricht",
    ];
    const LINES: &[&str] = &[
        "начало переадресованного письма",
        "начало пересылаемого сообщения",
        "begin forwarded message",
        "forwarded message",
        "пересылаемое сообщение",
    ];
    let dashed =
        trimmed.starts_with("--") || trimmed.starts_with("__") || trimmed.starts_with("==");
    // The longest of these lines is some 50 characters with its dashes, the longest
    // undashed one 32: most lines are not worth lower-casing.
    if trimmed.len() > if dashed { 400 } else { 80 } {
        return false;
    }
    let lower = trimmed.to_lowercase();
    let inner = lower
        .trim_matches(|c: char| c == '-' || c == '_' || c == '=' || c == '*' || c.is_whitespace())
        .trim_end_matches(':')
        .trim();
    (dashed && PHRASES.iter().any(|p| inner.contains(p))) || LINES.contains(&inner)
}

/// A line of `_` or `-` only, as Outlook puts above a quoted header block.
fn is_rule(trimmed: &str) -> bool {
    trimmed.chars().count() >= 5 && trimmed.chars().all(|c| c == '_' || c == '-')
}

/// Whether the rule at line `i` heads the quoted message: the next non-empty line is a
/// quoted-header line (Yandex puts `----------------`, `Кому: …;`, `Тема: …;` above its
/// attribution line), an attribution or a quote.
fn rule_heads_quote(lines: &[&str], i: usize) -> bool {
    let Some(next) = (i + 1..lines.len()).find(|&j| !lines[j].trim().is_empty()) else {
        return false;
    };
    header_label(lines[next]).is_some()
        || is_quote(lines[next])
        || attribution_len(lines, next).is_some()
}

/// Whether `s` lower-cased starts with `prefix` (lower case), without lower-casing (or
/// even reading) more of `s` than that.
fn starts_with_lower(s: &str, prefix: &str) -> bool {
    if prefix.is_ascii() {
        return s
            .as_bytes()
            .get(..prefix.len())
            .is_some_and(|b| b.eq_ignore_ascii_case(prefix.as_bytes()));
    }
    let mut lower = s.chars().flat_map(char::to_lowercase);
    prefix.chars().all(|p| lower.next() == Some(p))
}

/// `Отправлено с iPhone`, `Sent from my iPhone`, `Отправлено из мобильной Почты Mail.ru`…
fn is_mobile_signature(trimmed: &str) -> bool {
    const STARTS: &[&str] = &[
        "sent from ",
        "sent with ",
        "get outlook for",
        "отправлено с ",
        "отправлено из ",
        "отправлено через ",
        "получено с ",
    ];
    const WORDS: &[&str] = &[
        "iphone",
        "ipad",
        "android",
        "mail.ru",
        "яндекс",
        "yandex",
        "outlook",
        "samsung",
        "galaxy",
        "мобильн",
        "mobile",
        "my ",
        "моего",
        "смартфон",
        "телефон",
        "планшет",
        "почты",
        "mail for",
        "huawei",
        "xiaomi",
    ];
    if !STARTS.iter().any(|s| starts_with_lower(trimmed, s)) || trimmed.chars().count() > 90 {
        return false;
    }
    let lower = trimmed.to_lowercase();
    WORDS.iter().any(|w| lower.contains(w))
}

/// Which quoted-header label a line starts with (`From:`, `*От:*`, …).
fn header_label(line: &str) -> Option<&'static str> {
    const LABELS: &[(&str, &str)] = &[
        ("from:", "from"),
        ("от:", "from"),
        ("от кого:", "from"),
        ("de:", "from"),
        ("von:", "from"),
        ("sent:", "sent"),
        ("отправлено:", "sent"),
        ("date:", "sent"),
        ("дата:", "sent"),
        ("gesendet:", "sent"),
        ("to:", "to"),
        ("кому:", "to"),
        ("an:", "to"),
        ("cc:", "to"),
        ("копия:", "to"),
        ("subject:", "subject"),
        ("тема:", "subject"),
        ("betreff:", "subject"),
    ];
    let line = line.trim_start_matches(|c: char| c.is_whitespace() || c == '*' || c == '_');
    let first = line.chars().next()?.to_lowercase().next()?;
    LABELS
        .iter()
        .filter(|(l, _)| l.starts_with(first))
        .find(|(l, _)| starts_with_lower(line, l))
        .map(|&(_, kind)| kind)
}

/// An Outlook-style quoted header block: a `From:`/`От:` line with a `Sent:`/`Date:`/
/// `To:`/`Subject:` (or Russian) line within the next few lines.
fn is_header_block(lines: &[&str], i: usize) -> bool {
    header_label(lines[i]) == Some("from")
        && lines
            .iter()
            .skip(i + 1)
            .take(6)
            .any(|l| matches!(header_label(l), Some("sent" | "to" | "subject")))
}

static TIME: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\b\d{1,2}:\d{2}\b").ok());
static DATEISH: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b|\b(?:19|20)\d{2}\b|\b\d{1,2}:\d{2}\b").ok()
});

fn matches(re: &LazyLock<Option<Regex>>, s: &str) -> bool {
    re.as_ref().is_some_and(|re| re.is_match(s))
}

/// An attribution line, possibly wrapped onto two lines: how many lines it takes. The
/// shapes of the corpus: `On … wrote:` (Gmail, Apple Mail, Thunderbird `On 12/1/26 10:15
/// AM, Name wrote:`, mutt `On Tue, Dec 01, 2026 at 10:15:00AM +0700, Name wrote:`),
/// `… пишет:` / `… написал(а):` (Thunderbird `01.12.2026 10:15, Name пишет:`), Gmail
/// `вт, 1 дек. 2026 г. в 10:15, Name <a@b>:`, Yandex `01.12.2026, 10:15, "Name" <a@b>:`,
/// Mail.ru `Вторник, 1 декабря 2026, 10:15 +07:00 от Name <a@b>:`, mutt's common
/// `* Name <a@b> [2026-12-01 10:15]:`: a line ending in `:` with an address and a time,
/// or with a verb, or followed by a quote.
fn attribution_len(lines: &[&str], i: usize) -> Option<usize> {
    let next_is_quote = |after: usize| {
        lines
            .iter()
            .skip(after)
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| is_quote(l))
    };
    let one = lines[i].trim();
    if one.ends_with(':') {
        return is_attribution(one, next_is_quote(i + 1)).then_some(1);
    }
    let two = lines.get(i + 1).map(|l| l.trim())?;
    // A quoted line is no second half of a wrapped attribution (the first line would be
    // the reply's last line above a quoted attribution). And two lines longer than an
    // attribution can be (400 characters) are not worth joining.
    if two.starts_with('>') || one.len() + two.len() > 4 * 400 {
        return None;
    }
    if two.ends_with(':') && !two.is_empty() {
        let joined = format!("{one} {two}");
        return is_attribution(&joined, next_is_quote(i + 2)).then_some(2);
    }
    None
}

fn is_attribution(s: &str, next_is_quote: bool) -> bool {
    const VERBS: &[&str] = &[
        "wrote:",
        "writes:",
        "пишет:",
        "написал:",
        "написала:",
        "написал(а):",
        "писал:",
        "писала:",
        "писал(а):",
        "schrieb:",
    ];
    if s.chars().count() > 400 {
        return false;
    }
    let lower = s.to_lowercase();
    let has_at = lower.contains('@');
    if VERBS.iter().any(|v| lower.ends_with(v)) {
        return has_at || next_is_quote || lower.starts_with("on ") || matches(&DATEISH, &lower);
    }
    const VERB_WORDS: &[&str] = &["wrote", "писал", "пишет", "написал"];
    let has_verb = VERB_WORDS.iter().any(|v| lower.contains(v));
    ((has_at || has_verb) && matches(&TIME, &lower))
        || (next_is_quote && (has_at || matches(&DATEISH, &lower)))
}

static PHONE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^\p{L}])(?:тел|tel|phone|моб|mob|факс|fax)\b|\+\d|\d[\d\s()\-]{6,}\d|@")
        .ok()
});

/// Cuts a personal signature that starts with a closing (`С уважением,`, `Best regards,`):
/// only the last such line, only when the block from it to the end is short (at most 7
/// non-empty lines of at most 120 characters) and carries a phone number, an address or a
/// word of the sender's name.
fn cut_regards<'a>(segment: &'a [&'a str], sender_name: Option<&str>) -> &'a [&'a str] {
    const CLOSINGS: &[&str] = &[
        "с уважением",
        "с наилучшими пожеланиями",
        "всего доброго",
        "best regards",
        "kind regards",
        "regards",
        "best wishes",
        "sincerely",
    ];
    let Some(r) = segment.iter().rposition(|l| {
        let l = l.trim();
        CLOSINGS.iter().any(|c| starts_with_lower(l, c))
    }) else {
        return segment;
    };
    let block: Vec<&str> = segment[r..]
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    if block.len() > 7 || block.iter().any(|l| l.chars().count() > 120) {
        return segment;
    }
    let text = block.join("\n");
    let lower = text.to_lowercase();
    let names_sender = sender_name.is_some_and(|name| {
        name.split(|c: char| !c.is_alphabetic())
            .filter(|w| w.chars().count() >= 3)
            .any(|w| {
                let w = w.to_lowercase();
                lower.split(|c: char| !c.is_alphabetic()).any(|t| t == w)
            })
    });
    if names_sender || matches(&PHONE, &text) {
        &segment[..r]
    } else {
        segment
    }
}
