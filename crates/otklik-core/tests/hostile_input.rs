//! Inputs built to be slow: every parser must run in time linear in its input.
//!
//! Each input here is large enough that a quadratic step (a `Vec::remove(0)` in a loop, a
//! search over the whole rest of the input for each element, a list scanned for every
//! candidate) would take minutes; the tests assert only on the results. How long each step
//! took is printed (`cargo test --test hostile_input -- --nocapture`) for the record, never
//! checked.

use std::time::Instant;

use chrono::{TimeZone, Utc};
use otklik_core::config::Address;
use otklik_core::config::Labels;
use otklik_core::inbound::{
    Inbound, InboundError, MAX_HTML_BYTES, MAX_MIME_DEPTH, MAX_TEXT_BYTES, TEXT_CUT_MARK,
    mime_depth,
};
use otklik_core::intake::{Notification, parse_notification};
use otklik_core::lexicon::Lexicon;
use otklik_core::reply::{Keyword, KeywordSource, ParsedReply, parse_reply};
use otklik_core::text::{MAX_QUOTE_MARKS, html_to_text};

/// Runs `f`, printing how long it took under `what` (the test measures, the core does not).
#[allow(clippy::disallowed_methods)]
fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    eprintln!("{what}: {:.3} s", start.elapsed().as_secs_f64());
    out
}

/// A message as `Inbound::parse` would hand it over, with `text` as given.
fn mail(subject: &str, text: String) -> Inbound {
    Inbound {
        message_id: Some("hostile@client.example".to_string()),
        in_reply_to: Vec::new(),
        references: Vec::new(),
        from: Some(Address {
            name: Some("Шишова Татьяна Михайловна".to_string()),
            email: "shishova@volchiha.example".to_string(),
        }),
        subject: subject.to_string(),
        date: None,
        automatic: None,
        text,
        from_html: false,
        attachments: Vec::new(),
        auth_results: Vec::new(),
        from_encoded: None,
    }
}

/// A raw RFC 5322 message with one body part.
fn raw_message(subject: &str, content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Monitoring <noreply@monitoring.example>\r\n\
         To: incidents@volchiha.example\r\n\
         Subject: {subject}\r\n\
         Date: Tue, 1 Dec 2026 10:15:00 +0300\r\n\
         Message-ID: <hostile@monitoring.example>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: {content_type}; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\
         \r\n\
         {body}"
    )
    .into_bytes()
}

fn notification(what: &str, mail: &Inbound) -> Notification {
    let arrival = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
    timed(what, || {
        parse_notification(mail, &Labels::builtin(), chrono_tz::Europe::Moscow, arrival)
    })
    .unwrap_or_else(|e| panic!("{what}: {e}"))
}

fn reply(what: &str, subject: &str, body: String) -> ParsedReply {
    let m = mail(subject, body);
    timed(what, || parse_reply(&m, "OTK"))
}

fn html(what: &str, source: &str) -> String {
    timed(what, || html_to_text(source))
}

// ---- intake ----

#[test]
fn notification_with_a_million_blank_lines_around_its_text() {
    let blank = "\n".repeat(1_000_000);
    let text = format!("Тематика: ЖКХ\nТекст:{blank}Воды нет\nтретий день{blank}Автор: Иван");
    let n = notification("intake, 2×10⁶ blank lines", &mail("Инцидент №1", text));
    assert_eq!(n.text, "Воды нет\nтретий день");
    assert_eq!(n.topic.as_deref(), Some("ЖКХ"));
    assert_eq!(n.author.as_deref(), Some("Иван"));
}

#[test]
fn notification_through_the_parser_with_blank_lines() {
    let blank = "\r\n".repeat(400_000);
    let body = format!("Тематика: ЖКХ\r\nТекст:{blank}Воды нет\r\n");
    let raw = raw_message("Инцидент №2", "text/plain", &body);
    let m = timed("Inbound::parse, 4×10⁵ blank lines", || {
        Inbound::parse(&raw)
    })
    .unwrap();
    let n = notification("intake, 4×10⁵ blank lines", &m);
    assert_eq!(n.text, "Воды нет");
}

#[test]
fn notification_link_with_a_million_closing_parentheses() {
    let parens = ")".repeat(1_000_000);
    let text = format!("Тематика: ЖКХ\nТекст: воды нет\nhttps://vk.com/wall-1_2{parens}.");
    let n = notification("intake, URL + 10⁶ ')'", &mail("Инцидент №3", text));
    assert_eq!(n.link.as_deref(), Some("https://vk.com/wall-1_2"));
    let text = format!("Ссылка: https://vk.com/wall-1_2{parens}\nТекст: воды нет");
    let n = notification("intake, link label + 10⁶ ')'", &mail("Инцидент №4", text));
    assert_eq!(n.link.as_deref(), Some("https://vk.com/wall-1_2"));
}

#[test]
fn notification_quoted_a_hundred_thousand_levels_deep() {
    let q = "> ".repeat(100_000);
    let text = format!("{q}Тематика: ЖКХ\n{q}Текст: воды нет\n{q}третий день\n");
    let n = notification("intake, 10⁵ quote levels", &mail("Инцидент №5", text));
    assert_eq!(n.text, "воды нет\nтретий день");
    assert_eq!(n.topic.as_deref(), Some("ЖКХ"));
}

#[test]
fn notification_with_many_labels_and_link_targets() {
    let mut text = String::from("Тематика: ЖКХ\n");
    text.push_str("Автор: ");
    text.push_str(&"Иван <https://vk.com/id1> ".repeat(50_000));
    text.push('\n');
    for _ in 0..50_000 {
        text.push_str("Источник: ВК\nСрок отработки: 9 часов\n");
    }
    text.push_str("Текст: воды нет\n");
    let n = notification("intake, 10⁵ label lines", &mail("Инцидент №6", text));
    assert_eq!(n.text, "воды нет");
    assert_eq!(n.source.as_deref(), Some("ВК"));
    let author = n.author.unwrap_or_default();
    assert_eq!(author.matches("Иван").count(), 50_000);
    assert!(!author.contains("http"), "{author:.80}");
}

#[test]
fn notification_with_a_long_line_without_spaces() {
    let word = "ж".repeat(1_000_000);
    let text = format!("Тематика: {word}\nТекст: {word}\n");
    let n = notification("intake, 2 lines of 2 MB", &mail("Инцидент №7", text));
    assert_eq!(n.text, word);
    assert_eq!(n.topic.as_deref(), Some(word.as_str()));
}

// ---- HTML ----

#[test]
fn html_with_many_script_style_and_title_elements() {
    let src = "<script>var a = '<b>';</script><STYLE>p{}</STYLE ><title>t</title>x".repeat(60_000);
    let text = html("html, 6×10⁴ × script+style+title", &src);
    assert_eq!(text, "x".repeat(60_000));
}

#[test]
fn html_with_megabytes_of_style_openers() {
    let openers = "<style>".repeat(300_000);
    let text = html(
        "html, 3×10⁵ <style> then a close",
        &format!("до{openers}</style>после"),
    );
    assert_eq!(text, "допосле");
    let text = html("html, 3×10⁵ unclosed <style>", &format!("до{openers}после"));
    assert_eq!(text, "до");
    let text = html(
        "html, 10⁵ unclosed <title x=\"…\">",
        &format!("до{}", "<title x=\"a\">t".repeat(100_000)),
    );
    assert_eq!(text, "до");
}

#[test]
fn html_with_deeply_nested_blocks() {
    let depth = 100_000;
    let src = format!("{}глубоко{}", "<div>".repeat(depth), "</div>".repeat(depth));
    assert_eq!(html("html, 10⁵ nested <div>", &src), "глубоко");
    let src = format!("{}глубоко", "<p><span><b><i>".repeat(depth / 4));
    assert_eq!(html("html, 10⁵ unclosed inline tags", &src), "глубоко");
}

#[test]
fn html_with_deeply_nested_tables_with_text_at_every_level() {
    let depth = 50_000;
    let src = "<table><tr><td>Ячейка</td><td>x".repeat(depth);
    let text = html("html, 5×10⁴ nested tables", &src);
    assert_eq!(text.matches('x').count(), depth);
    assert_eq!(text.matches("Ячейка").count(), depth);
    let src = format!("{}{}", src, "</td></tr></table>".repeat(depth));
    let text = html("html, 5×10⁴ nested tables, closed", &src);
    assert_eq!(text.matches('x').count(), depth);
}

#[test]
fn html_with_nested_links() {
    let n = 50_000;
    let src = format!(
        "{}текст{}",
        "<a href=\"https://e.example/\">".repeat(n),
        "</a>".repeat(n)
    );
    let text = html("html, 5×10⁴ nested links", &src);
    assert_eq!(text.matches("https://e.example/").count(), n);
    assert!(
        text.ends_with("текст <https://e.example/>"),
        "{:?}",
        text.get(text.len().saturating_sub(80)..)
    );
}

#[test]
fn html_with_a_hundred_thousand_line_breaks() {
    let src = format!("начало{}конец", "<br>".repeat(100_000));
    assert_eq!(html("html, 10⁵ <br>", &src), "начало\n\nконец");
    let src = format!("<pre>начало{}конец</pre>", "\n".repeat(1_000_000));
    assert_eq!(
        html("html, <pre> with 10⁶ newlines", &src),
        "начало\n\nконец"
    );
}

#[test]
fn html_with_long_runs_of_one_thing() {
    let word = "ж".repeat(1_000_000);
    assert_eq!(html("html, a 2 MB word", &word), word);
    let lt = "<".repeat(1_000_000);
    assert_eq!(html("html, 10⁶ lone '<'", &lt), lt);
    let amp = "&amp;".repeat(300_000);
    assert_eq!(html("html, 3×10⁵ &amp;", &amp), "&".repeat(300_000));
    let bare = "&".repeat(500_000);
    assert_eq!(html("html, 5×10⁵ bare '&'", &bare), bare);
    let spaces = format!("a{}b", " \t\n".repeat(500_000));
    assert_eq!(html("html, 1.5×10⁶ whitespace", &spaces), "a b");
}

#[test]
fn html_with_unterminated_constructs() {
    let tail = "x".repeat(1_000_000);
    assert_eq!(html("html, open comment", &format!("a<!--{tail}")), "a");
    assert_eq!(html("html, open <!", &format!("a<!{tail}")), "a");
    assert_eq!(
        html("html, open quote in a tag", &format!("a<a href=\"{tail}")),
        "a"
    );
    let comments = "<!-- c -->".repeat(100_000);
    assert_eq!(html("html, 10⁵ comments", &format!("a{comments}b")), "ab");
    let attrs = format!(
        "<a {}href=\"https://e.example/\">t</a>",
        "hrefx ".repeat(200_000)
    );
    assert_eq!(
        html("html, 2×10⁵ attribute names", &attrs),
        "t <https://e.example/>"
    );
}

// ---- replies ----

/// The n-th action code: 8 characters of the code alphabet.
fn code(mut n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut out = String::new();
    for _ in 0..8 {
        out.push(char::from(ALPHABET[n % ALPHABET.len()]));
        n /= ALPHABET.len();
    }
    out
}

#[test]
fn reply_with_a_hundred_thousand_candidate_codes() {
    let body: String = (0..100_000).map(|i| format!("#{} ", code(i))).collect();
    let r = reply("reply, 10⁵ codes", "Re: [OTK-1] x", body);
    assert!(
        !r.codes.is_empty() && r.codes.len() <= 8,
        "{}",
        r.codes.len()
    );
    let want: Vec<String> = (0..r.codes.len()).map(code).collect();
    assert_eq!(r.codes, want);
}

#[test]
fn reply_subject_with_many_tags_and_brackets() {
    let subject = format!("Re: {}Согласовано", "[OTK-1] ".repeat(100_000));
    let r = reply("reply, 10⁵ tags in the subject", &subject, String::new());
    assert_eq!(r.case_number, Some(1));
    assert_eq!(r.keyword, Some((Keyword::Approve, KeywordSource::Subject)));
    let subject = format!("Re: [OTK-{}] x", "9".repeat(1_000_000));
    assert_eq!(
        reply("reply, 10⁶ digits", &subject, String::new()).case_number,
        None
    );
    let subject = "[".repeat(500_000);
    assert_eq!(
        reply("reply, 5×10⁵ '['", &subject, String::new()).case_number,
        None
    );
    let subject = format!("Re: [OTK-7]{} Согласовано", " [x]".repeat(200_000));
    let r = reply("reply, 2×10⁵ [x] groups", &subject, String::new());
    assert_eq!(r.case_number, Some(7));
    assert_eq!(r.keyword, Some((Keyword::Approve, KeywordSource::Subject)));
}

#[test]
fn reply_with_a_million_blank_lines_in_all() {
    let blank = "\n".repeat(400_000);
    let r = reply(
        "reply, 3 × 4×10⁵ blank lines",
        "Re: [OTK-1] x",
        format!("{blank}Согласовано{blank}> цитата{blank}"),
    );
    assert_eq!(r.keyword, Some((Keyword::Approve, KeywordSource::Body)));
    assert_eq!(r.text, "");
    let half = "\n".repeat(300_000);
    let r = reply(
        "reply, 3×10⁵ blank lines in a draft",
        "Re: [OTK-1] x",
        format!("Вода будет.{half}Завтра.\r\n{}", "\r\n".repeat(300_000)),
    );
    assert_eq!(r.text, format!("Вода будет.{half}Завтра."));
}

#[test]
fn reply_with_a_deep_and_long_quote_chain() {
    let deep = ">".repeat(100_000);
    let mut body = String::new();
    for _ in 0..10 {
        body.push_str(&deep);
        body.push_str(" цитата\n");
    }
    for _ in 0..100_000 {
        body.push_str("> > строка цитаты\n\n");
    }
    body.push_str("\nДОРАБОТАТЬ: сроки\n");
    let r = reply(
        "reply, 10⁵-level and 10⁵-line quotes",
        "Re: [OTK-1] x",
        body,
    );
    assert_eq!(r.keyword, Some((Keyword::Rework, KeywordSource::Body)));
    assert_eq!(r.text, "сроки");
}

#[test]
fn reply_with_many_marker_like_lines() {
    let body = "From: x\n".repeat(50_000);
    let r = reply("reply, 5×10⁴ From: lines", "Re: [OTK-1] x", body.clone());
    assert_eq!(r.text, body.trim_end());
    let body = format!(
        "Вода будет.\n\n{}",
        "Житель написал 10:00:\n\n\n\n> вопрос\n".repeat(50_000)
    );
    let r = reply("reply, 5×10⁴ attributions", "Re: [OTK-1] x", body);
    assert_eq!(r.text, "Вода будет.");
    let body = "Список:\n\n\n\n\n".repeat(50_000);
    let r = reply("reply, 5×10⁴ lines ending in ':'", "Re: [OTK-1] x", body);
    assert_eq!(r.text.lines().filter(|l| !l.is_empty()).count(), 50_000);
    let body = "-----\n\n\n\n\nтекст\n".repeat(30_000);
    let r = reply("reply, 3×10⁴ dashed rules", "Re: [OTK-1] x", body.clone());
    assert_eq!(r.text, body.trim_end());
    let body = "С уважением,\n".repeat(50_000);
    let r = reply("reply, 5×10⁴ closings", "Re: [OTK-1] x", body.clone());
    assert_eq!(r.text, body.trim_end());
}

#[test]
fn reply_keywords_with_huge_gaps() {
    let gap = " ".repeat(1_000_000);
    let r = reply(
        "reply, 10⁶ spaces in a phrase",
        "Re: [OTK-1] x",
        format!("НЕ{gap}МОЯ КОМПЕТЕНЦИЯ"),
    );
    assert_eq!(r.keyword, Some((Keyword::Decline, KeywordSource::Body)));
    let r = reply(
        "reply, 10⁶ spaces before a date",
        "Re: [OTK-1] x",
        format!("ОТСУТСТВУЮ{gap}ДО{gap}25.12.2026"),
    );
    let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 25).unwrap();
    assert_eq!(
        r.keyword,
        Some((Keyword::AbsentUntil(date), KeywordSource::Body))
    );
    let r = reply(
        "reply, 10⁶ spaces before a target",
        "Re: [OTK-1] x",
        format!("НАЗНАЧИТЬ{gap}housing"),
    );
    assert_eq!(
        r.keyword,
        Some((Keyword::Assign("housing".into()), KeywordSource::Body))
    );
    let word = "ж".repeat(1_000_000);
    let r = reply("reply, a 2 MB word", "Re: [OTK-1] x", word.clone());
    assert_eq!(r.text, word);
}

// ---- the exclusion lexicon ----

#[test]
fn lexicon_on_a_long_text() {
    let lexicon = Lexicon::parse("мудак\nубить тебя\n/угро[зж]/\n").unwrap();
    let text = format!("{}убить    тебя", "Слово, ".repeat(100_000));
    let found = timed("lexicon, 1.3 MB", || lexicon.find(&text));
    assert_eq!(found.as_deref(), Some("убить тебя"));
    let text = "xyz ".repeat(200_000);
    assert_eq!(timed("lexicon, 0.8 MB clean", || lexicon.find(&text)), None);
}

// ---- the cap on the body text, and the whole way from raw bytes ----

#[test]
fn a_body_over_the_cap_is_cut_at_a_character_boundary() {
    // One ASCII byte first: the cut falls inside a two-byte letter.
    let post = format!("x{}", "ж".repeat(MAX_TEXT_BYTES));
    let body = format!("Тематика: ЖКХ\r\nТекст: {post}\r\n");
    let raw = raw_message("Инцидент №8", "text/plain", &body);
    let m = timed("Inbound::parse, 2 MiB of text", || Inbound::parse(&raw)).unwrap();
    assert!(m.text.len() <= MAX_TEXT_BYTES, "{}", m.text.len());
    assert!(m.text_was_cut());
    let kept = m.text.strip_suffix(TEXT_CUT_MARK).unwrap_or_default();
    assert!(kept.ends_with('ж'), "{:?}", kept.get(kept.len() - 10..));
    assert!(kept.len() + TEXT_CUT_MARK.len() > MAX_TEXT_BYTES - 4);
    // The executor reads that the post was cut.
    let n = notification("intake, a cut text", &m);
    assert!(n.text.starts_with("xжж"));
    assert!(
        n.text.ends_with(TEXT_CUT_MARK.trim_start()),
        "{:?}",
        n.text.get(n.text.len() - 80..)
    );

    // Exactly at the cap: kept whole.
    let post = "ж".repeat(MAX_TEXT_BYTES / 2);
    let raw = raw_message("Инцидент №9", "text/plain", &post);
    let m = Inbound::parse(&raw).unwrap();
    assert_eq!(m.text, post);
    assert!(!m.text_was_cut());
}

#[test]
fn an_html_body_over_the_caps_is_cut() {
    // Over the HTML cap: the source is cut before conversion.
    let big = format!("<p>{}</p>", "ж".repeat(MAX_HTML_BYTES / 2 + 10));
    let raw = raw_message("Инцидент №10", "text/html", &big);
    let m = timed("Inbound::parse, 4 MiB of HTML", || Inbound::parse(&raw)).unwrap();
    assert!(m.from_html);
    assert!(m.text.len() <= MAX_TEXT_BYTES);
    assert!(m.text_was_cut());
    // Under the HTML cap, but more text than the text cap.
    let line = "ж".repeat(64);
    let big = format!(
        "<div>{}</div>",
        format!("{line}<br>").repeat(MAX_TEXT_BYTES / 100)
    );
    let raw = raw_message("Инцидент №11", "text/html", &big);
    let m = timed("Inbound::parse, 1.4 MiB of HTML", || Inbound::parse(&raw)).unwrap();
    assert!(m.text.len() <= MAX_TEXT_BYTES);
    assert!(m.text_was_cut());
    assert!(m.text.starts_with(&format!("{line}\n{line}\n")));
}

#[test]
fn an_html_reply_built_to_be_slow_all_the_way_from_raw_bytes() {
    let mut src = String::from("<div>Согласовано</div><div>Замечаний нет.</div>");
    src.push_str(&"<script>x</script><style>y</style>".repeat(20_000));
    src.push_str(&"<blockquote>x<br>".repeat(20_000));
    src.push_str(&"<table><tr><td>Ячейка</td><td>".repeat(5_000));
    src.push_str(&"<a href=\"https://e.example/\">".repeat(5_000));
    src.push_str(&"<br>".repeat(100_000));
    let raw = raw_message("Re: [OTK-42] На согласование", "text/html", &src);
    let m = timed("Inbound::parse, a slow HTML reply", || Inbound::parse(&raw)).unwrap();
    assert!(!m.text_was_cut());
    let mut lines = m.text.lines();
    assert_eq!(lines.next(), Some("Согласовано"));
    assert_eq!(lines.next(), Some("Замечаний нет."));
    for line in lines.filter(|l| !l.is_empty()) {
        let marks = line.matches("> ").count();
        assert!((1..=MAX_QUOTE_MARKS).contains(&marks), "{line:.80}");
    }
    let r = timed("parse_reply, a slow HTML reply", || parse_reply(&m, "OTK"));
    assert_eq!(r.case_number, Some(42));
    assert_eq!(r.keyword, Some((Keyword::Approve, KeywordSource::Body)));
    assert_eq!(r.text, "Замечаний нет.");
}

/// `levels` attached messages within each other, each only a Content-Type line: 87 bytes
/// a level in the hostile mail (100,000 of them are 8.7 MB).
fn nested_messages(levels: usize) -> Vec<u8> {
    let mut raw = b"From: stranger@example.org\r\nSubject: nest\r\nMIME-Version: 1.0\r\n".to_vec();
    for _ in 0..levels {
        raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
    }
    raw.extend_from_slice(b"Content-Type: text/plain\r\n\r\nhello\r\n");
    raw
}

/// `levels` multiparts within each other, the innermost holding a text part.
fn nested_multiparts(levels: usize) -> Vec<u8> {
    let mut raw = b"From: stranger@example.org\r\nSubject: nest\r\nMIME-Version: 1.0\r\n".to_vec();
    for i in 0..levels {
        raw.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n")
                .as_bytes(),
        );
    }
    raw.extend_from_slice(b"Content-Type: text/plain\r\n\r\nhello\r\n");
    for i in (0..levels).rev() {
        raw.extend_from_slice(format!("--b{i}--\r\n").as_bytes());
    }
    raw
}

#[test]
fn a_hundred_thousand_nested_messages_are_refused_before_parsing() {
    let raw = nested_messages(100_000);
    assert!(raw.len() > 3_000_000);
    // On a small stack: the refusal must not recurse either.
    let got = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            timed("Inbound::parse, 100,000 nested messages", || {
                Inbound::parse(&raw)
            })
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(
        got,
        Err(InboundError::TooDeep {
            limit: MAX_MIME_DEPTH
        })
    );
}

#[test]
fn nesting_is_counted_by_multiparts_and_attached_messages() {
    assert_eq!(mime_depth(&nested_messages(0), 100), 0);
    assert_eq!(mime_depth(&nested_messages(5), 100), 5);
    assert_eq!(mime_depth(&nested_multiparts(7), 100), 7);
    // Counting stops just past the limit.
    assert_eq!(mime_depth(&nested_messages(100_000), 20), 21);
    assert!(Inbound::parse(&nested_multiparts(MAX_MIME_DEPTH)).is_ok());
    assert_eq!(
        Inbound::parse(&nested_multiparts(MAX_MIME_DEPTH + 1)),
        Err(InboundError::TooDeep {
            limit: MAX_MIME_DEPTH
        })
    );
    assert!(Inbound::parse(&nested_messages(MAX_MIME_DEPTH)).is_ok());
    assert!(Inbound::parse(&nested_messages(MAX_MIME_DEPTH + 1)).is_err());
    // Siblings are not depth: fifty attached messages side by side are one level of
    // multipart and one of message.
    let mut digest =
        b"From: a@b.example\r\nSubject: many\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
            .to_vec();
    for i in 0..50 {
        digest.extend_from_slice(
            format!("--x\r\nContent-Type: message/rfc822\r\n\r\nSubject: {i}\r\n\r\nbody {i}\r\n")
                .as_bytes(),
        );
    }
    digest.extend_from_slice(b"--x--\r\n");
    assert_eq!(mime_depth(&digest, 100), 2);
    assert_eq!(Inbound::parse(&digest).unwrap().attachments.len(), 50);
}

#[test]
fn nesting_inside_an_encoded_attached_message_counts_too() {
    // The parser decodes a base64 message/rfc822 part and reads it: so does the count.
    let inner = nested_messages(MAX_MIME_DEPTH * 2);
    let b64: String = {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for (i, c) in inner.chunks(3).enumerate() {
            if i > 0 && i % 19 == 0 {
                out.push_str("\r\n");
            }
            let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for (k, shift) in [18, 12, 6, 0].into_iter().enumerate() {
                out.push(if k <= c.len() {
                    T[((n >> shift) & 63) as usize] as char
                } else {
                    '='
                });
            }
        }
        out
    };
    let raw = format!(
        "From: a@b.example\r\nSubject: wrapped\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n\
         --x\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
         --x\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--x--\r\n"
    );
    assert!(mime_depth(raw.as_bytes(), 1000) > MAX_MIME_DEPTH);
    assert!(matches!(
        Inbound::parse(raw.as_bytes()),
        Err(InboundError::TooDeep { .. })
    ));
}
