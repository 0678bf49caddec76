//! Inbound mail: headers, loop signals, body choice, attachments, malformed input, and the
//! HTML-to-text converter; plus property tests that nothing panics on arbitrary input.

use chrono::{DateTime, TimeZone, Utc};
use otklik_core::config::Labels;
use otklik_core::inbound::{Automatic, Inbound, InboundError};
use otklik_core::intake::parse_notification;
use otklik_core::text::{MAX_QUOTE_MARKS, html_to_text};
use proptest::prelude::*;

fn parse(raw: &str) -> Inbound {
    Inbound::parse(raw.replace('\n', "\r\n").as_bytes()).unwrap()
}

const REPLY: &str = "\
From: =?utf-8?b?0KjQuNGI0L7QstCwINCiLtCcLg==?= <Shishova@Example.RU>
To: incidents@volchiha.example
Subject: =?utf-8?q?Re=3A_=5BOTK-42=5D_=D0=9D=D0=BE=D0=B2=D0=BE=D0=B5?=
 =?utf-8?q?_=D1=81=D0=BE=D0=BE=D0=B1=D1=89=D0=B5=D0=BD=D0=B8=D0=B5?=
Date: Wed, 02 Dec 2026 15:04:05 +0700
Message-ID: <CAB123@mail.example.ru>
In-Reply-To: <otk-42.1.abc@volchiha.example>
References: <otk-42.0.xyz@volchiha.example>
 <otk-42.1.abc@volchiha.example>
X-Auto-Response-Suppress: All
Content-Type: text/plain; charset=utf-8

Отремонтируем до пятницы.

-- 
Шишова
";

#[test]
fn headers_of_a_reply() {
    let m = parse(REPLY);
    assert_eq!(m.message_id.as_deref(), Some("CAB123@mail.example.ru"));
    assert_eq!(m.in_reply_to, vec!["otk-42.1.abc@volchiha.example"]);
    assert_eq!(
        m.references,
        vec![
            "otk-42.0.xyz@volchiha.example",
            "otk-42.1.abc@volchiha.example"
        ]
    );
    let from = m.from.unwrap();
    assert_eq!(from.email, "shishova@example.ru");
    assert_eq!(from.name.as_deref(), Some("Шишова Т.М."));
    assert_eq!(m.subject, "Re: [OTK-42] Новое сообщение");
    assert_eq!(
        m.date,
        Some(
            DateTime::parse_from_rfc3339("2026-12-02T08:04:05Z")
                .unwrap()
                .with_timezone(&Utc)
        )
    );
    // Outlook's X-Auto-Response-Suppress on a person's mail is not a loop signal.
    assert_eq!(m.automatic, None);
    assert_eq!(m.text, "Отремонтируем до пятницы.\n\n-- \nШишова\n");
    assert!(!m.from_html);
    assert!(m.attachments.is_empty());
}

fn with_headers(extra: &str, subject: &str, from: &str) -> Inbound {
    parse(&format!(
        "From: {from}\nTo: incidents@volchiha.example\nSubject: {subject}\n{extra}Content-Type: text/plain\n\nbody\n"
    ))
}

#[test]
fn loop_signals() {
    let person = "Ivan <ivan@example.ru>";
    let cases: Vec<(&str, &str, &str, Option<Automatic>)> = vec![
        (
            "Auto-Submitted: auto-replied\n",
            "Re: x",
            person,
            // An auto-reply answers something: never a notification, whoever sends it.
            Some(Automatic::AutoReply),
        ),
        (
            "Auto-Submitted: auto-generated; owner-email=x@y\n",
            "x",
            person,
            Some(Automatic::AutoSubmitted(
                "auto-generated; owner-email=x@y".into(),
            )),
        ),
        ("Auto-Submitted: no\n", "x", person, None),
        (
            "Precedence: bulk\n",
            "x",
            person,
            Some(Automatic::Precedence("bulk".into())),
        ),
        (
            "Precedence: JUNK\n",
            "x",
            person,
            Some(Automatic::Precedence("junk".into())),
        ),
        (
            "Precedence: list\n",
            "x",
            person,
            Some(Automatic::Precedence("list".into())),
        ),
        ("Precedence: first-class\n", "x", person, None),
        (
            "",
            "Undelivered Mail Returned to Sender",
            "MAILER-DAEMON@mx.example.ru (Mail Delivery System)",
            Some(Automatic::Bounce),
        ),
        (
            "",
            "Недоставленное сообщение",
            "postmaster@example.ru",
            Some(Automatic::Bounce),
        ),
        ("", "Вопрос по пропуску", "postmaster@example.ru", None),
        ("Return-Path: <>\n", "x", person, Some(Automatic::Bounce)),
        ("Return-Path: <ivan@example.ru>\n", "x", person, None),
        (
            "List-Id: Новости района <news.volchiha.example>\n",
            "x",
            person,
            Some(Automatic::MailingList),
        ),
        (
            "List-Unsubscribe: <mailto:unsub@news.example>\n",
            "x",
            person,
            Some(Automatic::MailingList),
        ),
        (
            "X-Autoreply: yes\n",
            "x",
            person,
            Some(Automatic::AutoReply),
        ),
        (
            "X-Autorespond: 1\n",
            "x",
            person,
            Some(Automatic::AutoReply),
        ),
        (
            "X-Auto-Response-Suppress: All\n",
            "Автоматический ответ: Новое сообщение",
            person,
            Some(Automatic::AutoReply),
        ),
        (
            "X-Auto-Response-Suppress: OOF, DR\n",
            "Automatic reply: [OTK-1]",
            person,
            Some(Automatic::AutoReply),
        ),
        (
            "X-Auto-Response-Suppress: All\n",
            "Re: [OTK-1] Новое сообщение",
            person,
            None,
        ),
        (
            "X-Auto-Response-Suppress: DR, RN\n",
            "Out of office",
            person,
            None,
        ),
    ];
    for (extra, subject, from, want) in cases {
        let m = with_headers(extra, subject, from);
        assert_eq!(m.automatic, want, "{extra:?} {subject:?} {from:?}");
    }
}

#[test]
fn dsn_multipart_report_is_a_bounce() {
    let m = parse(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.ru>
To: incidents@volchiha.example
Subject: Delivery Status Notification (Failure)
Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"

--B
Content-Type: text/plain

Delivery to ivan@example.ru failed.
--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.ru
Final-Recipient: rfc822; ivan@example.ru
Action: failed
Status: 5.1.1
--B--
",
    );
    assert_eq!(m.automatic, Some(Automatic::Bounce));
    assert_eq!(m.text, "Delivery to ivan@example.ru failed.");
}

#[test]
fn alternative_prefers_plain_and_html_only_goes_through_text() {
    let m = parse(
        "From: a@b.example
Subject: x
Content-Type: multipart/alternative; boundary=\"A\"

--A
Content-Type: text/plain; charset=utf-8

Рубрика: ЖКХ
--A
Content-Type: text/html; charset=utf-8

<p>Рубрика: <b>HTML</b></p>
--A--
",
    );
    assert_eq!(m.text, "Рубрика: ЖКХ");
    assert!(!m.from_html);
    assert!(
        m.attachments.is_empty(),
        "the HTML alternative is not an attachment"
    );

    let m = parse(
        "From: a@b.example
Subject: x
Content-Type: text/html; charset=utf-8

<table><tr><td>Рубрика</td><td>Дороги</td></tr></table>
",
    );
    assert_eq!(m.text, "Рубрика: Дороги");
    assert!(m.from_html);
}

#[test]
fn inline_images_and_text_attachments_are_kept_byte_for_byte() {
    // windows-1251 "Привет" in a text attachment, and an inline image of a related body.
    let m = parse(
        "From: a@b.example
Subject: x
Content-Type: multipart/mixed; boundary=\"M\"

--M
Content-Type: multipart/related; boundary=\"R\"

--R
Content-Type: text/html; charset=utf-8

<p>Смотрите фото <img src=\"cid:img1\"></p>
--R
Content-Type: image/jpeg
Content-ID: <img1>
Content-Disposition: inline
Content-Transfer-Encoding: base64

/9j/4AAQ
--R--
--M
Content-Type: text/plain; charset=windows-1251; name=\"note.txt\"
Content-Disposition: attachment; filename=\"note.txt\"
Content-Transfer-Encoding: base64

z/Do4uXy
--M--
",
    );
    assert_eq!(m.text, "Смотрите фото");
    assert!(m.from_html);
    assert_eq!(m.attachments.len(), 2, "{:?}", m.attachments);
    assert_eq!(m.attachments[0].content_type, "image/jpeg");
    assert_eq!(
        m.attachments[0].data,
        vec![0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]
    );
    assert_eq!(m.attachments[0].filename, "attachment-1.jpg");
    assert_eq!(m.attachments[1].filename, "note.txt");
    assert_eq!(m.attachments[1].content_type, "text/plain");
    assert_eq!(
        m.attachments[1].data,
        vec![0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]
    );
}

#[test]
fn windows_1251_and_koi8r_bodies_decode() {
    let raw = b"From: a@b.example\r\nSubject: x\r\nContent-Type: text/plain; charset=windows-1251\r\n\r\n\xd0\xf3\xe1\xf0\xe8\xea\xe0: \xc6\xca\xd5\r\n";
    assert_eq!(Inbound::parse(raw).unwrap().text, "Рубрика: ЖКХ\n");
    let raw = b"From: a@b.example\r\nSubject: x\r\nContent-Type: text/plain; charset=koi8-r\r\n\r\n\xf2\xd5\xc2\xd2\xc9\xcb\xc1: \xf6\xeb\xe8\r\n";
    assert_eq!(Inbound::parse(raw).unwrap().text, "Рубрика: ЖКХ\n");
}

#[test]
fn broken_mime_still_yields_headers_and_text() {
    // The boundary never appears: what can be read is still read.
    let m = parse(
        "From: Monitoring <noreply@monitoring.example>
Subject: Инцидент №777
Message-ID: <broken@x>
Content-Type: multipart/mixed; boundary=\"NEVER\"

Рубрика: ЖКХ
Текст: нет воды
",
    );
    assert_eq!(m.message_id.as_deref(), Some("broken@x"));
    assert_eq!(m.subject, "Инцидент №777");
    assert_eq!(m.from.unwrap().email, "noreply@monitoring.example");
}

#[test]
fn garbage_is_unparseable() {
    for raw in [
        &b""[..],
        b"hello world",
        b"\x00\x01\x02garbage",
        b"no colon line\n\nbody",
        b"X-Custom: only unknown headers\n\nbody",
    ] {
        assert_eq!(
            Inbound::parse(raw),
            Err(InboundError::Unparseable),
            "{:?}",
            String::from_utf8_lossy(raw)
        );
    }
    // One recognised header is enough to read what there is.
    let m = Inbound::parse(b"Subject: only\n").unwrap();
    assert_eq!(m.subject, "only");
    assert_eq!(m.text, "");
}

#[test]
fn html_tables_cells_and_entities() {
    assert_eq!(
        html_to_text("<tr><td>Рубрика</td><td>Дороги</td></tr>"),
        "Рубрика: Дороги"
    );
    assert_eq!(
        html_to_text(
            "<table><tr><td>Рубрика:</td><td>Дороги</td></tr><tr><td>Локация</td><td>с.&nbsp;Волчиха</td></tr></table>"
        ),
        "Рубрика: Дороги\nЛокация: с. Волчиха"
    );
    assert_eq!(
        html_to_text("<table><tr><th>Текст</th><td>Раз.<br>Два.<br><br>Три.</td></tr></table>"),
        "Текст: Раз.\nДва.\n\nТри."
    );
    assert_eq!(
        html_to_text("<table><tr><td>a</td><td></td><td>b</td><td>c</td></tr></table>"),
        "a: b | c"
    );
    assert_eq!(
        html_to_text(
            "&laquo;Да&raquo; &mdash; &ndash; &quot;q&quot; &amp; &lt;&gt; &apos; &hellip; &#8212; &#x2014; &#X2014; &unknown; & x"
        ),
        "«Да» — – \"q\" & <> ' … — — — &unknown; & x"
    );
}

#[test]
fn html_blocks_scripts_and_whitespace() {
    let html = "<html><head><title>T</title><style>td{}</style></head><body>
        <script>var a = '<p>no</p>';</script>
        <!-- a comment <p>no</p> -->
        <h1>Заголовок</h1><p>Первый   абзац
        продолжается.</p><p>Второй</p>
        <div>Блок</div><div>Ещё</div>
        <ul><li>один</li><li>два</li></ul>
        <p></p><p></p><p></p><p>Конец</p>
        </body></html>";
    assert_eq!(
        html_to_text(html),
        "Заголовок\n\nПервый абзац продолжается.\n\nВторой\n\nБлок\nЕщё\nодин\nдва\n\nКонец"
    );
}

#[test]
fn html_links_keep_their_target() {
    assert_eq!(
        html_to_text("Ссылка: <a href=\"https://vk.com/wall-1_2?a=1&amp;b=2\">открыть</a>"),
        "Ссылка: открыть <https://vk.com/wall-1_2?a=1&b=2>"
    );
    assert_eq!(
        html_to_text("<a href='https://ok.ru/x'>https://ok.ru/x</a>"),
        "https://ok.ru/x"
    );
    assert_eq!(html_to_text("<a href=\"mailto:x@y\">x@y</a>"), "x@y");
}

#[test]
fn html_pre_keeps_lines() {
    assert_eq!(
        html_to_text(
            "<html><body><pre>Рубрика: ЖКХ\r\nТекст:\n  Нет   воды.\n\n\n\nКонец</pre>после</body></html>"
        ),
        "Рубрика: ЖКХ\nТекст:\nНет воды.\n\nКонец\nпосле"
    );
}

#[test]
fn html_nested_layout_tables() {
    let html = "<table><tr><td><table>
        <tr><td>Рубрика</td><td>ЖКХ</td></tr>
        <tr><td>Автор</td><td>Иван</td></tr>
        </table></td></tr></table>";
    assert_eq!(html_to_text(html), "Рубрика: ЖКХ\nАвтор: Иван");
}

#[test]
fn html_blockquotes_are_quoted_like_plain_text_mail() {
    assert_eq!(
        html_to_text(
            "<div>Ответ</div><blockquote>Вопрос<br>второй<blockquote>ещё</blockquote>снова</blockquote>после"
        ),
        "Ответ\n> Вопрос\n> второй\n> > ещё\n> снова\nпосле"
    );
    // A table in a quote: each row quoted.
    assert_eq!(
        html_to_text(
            "<blockquote><table><tr><td>Рубрика</td><td>ЖКХ</td></tr><tr><td>Автор</td><td>Иван</td></tr></table></blockquote>"
        ),
        "> Рубрика: ЖКХ\n> Автор: Иван"
    );
    // Blank lines in a quote stay blank; unbalanced closes are ignored.
    assert_eq!(
        html_to_text("</blockquote><blockquote><p>раз</p><p>два</p></blockquote>"),
        "> раз\n\n> два"
    );
    // However deep, at most MAX_QUOTE_MARKS marks.
    let deep = format!("{}x", "<blockquote>".repeat(3 * MAX_QUOTE_MARKS));
    assert_eq!(
        html_to_text(&deep),
        format!("{}x", "> ".repeat(MAX_QUOTE_MARKS))
    );
    // The converter's own quote mark, when it comes in the input, is no quote.
    assert_eq!(html_to_text("a\u{FDD0}b &#xFDD0;c"), "ab c");
}

#[test]
fn html_malformed_does_not_lose_text() {
    assert_eq!(html_to_text("a < b and c > d"), "a < b and c > d");
    assert_eq!(html_to_text("<p>unclosed <b>bold"), "unclosed bold");
    assert_eq!(
        html_to_text("<td>loose cell</td><td>two</td>"),
        "loose cell: two"
    );
    assert_eq!(html_to_text("</td>a</tr>b</table>c"), "a\nb\nc");
    assert_eq!(html_to_text("text <a href=\"x"), "text");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics_on_bytes(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = Inbound::parse(&raw);
    }

    #[test]
    fn parse_never_panics_on_mail_like_text(
        headers in proptest::collection::vec("(From|Subject|Content-Type|Date|References|Auto-Submitted|Return-Path|Content-Transfer-Encoding): [ -~а-я<>\";=]{0,40}", 0..8),
        body in "[ -~а-яё\n<>&#;]{0,400}",
    ) {
        let raw = format!("{}\r\n\r\n{}", headers.join("\r\n"), body);
        if let Ok(m) = Inbound::parse(raw.as_bytes()) {
            let _ = parse_notification(&m, &Labels::builtin(), chrono_tz::Europe::Moscow, Utc.with_ymd_and_hms(2026, 12, 1, 7, 15, 0).unwrap());
        }
    }

    #[test]
    fn notification_parse_never_panics_on_text(text in "\\PC{0,600}", subject in "\\PC{0,60}") {
        let raw = format!("From: a@b.example\r\nSubject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}");
        if let Ok(mut m) = Inbound::parse(raw.as_bytes()) {
            m.text = text.clone();
            m.subject = subject;
            let _ = parse_notification(&m, &Labels::builtin(), chrono_tz::Europe::Moscow, Utc.with_ymd_and_hms(2026, 12, 1, 7, 15, 0).unwrap());
        }
    }

    #[test]
    fn labelled_lines_with_arbitrary_values(
        label in "(Рубрика|Дата выявления|Текст|Ссылка|Повторное|Инцидент №|Detected)",
        sep in "(:|-|—| :| )",
        value in "\\PC{0,80}",
    ) {
        let raw = "From: a@b.example\r\nSubject: x\r\nContent-Type: text/plain\r\n\r\nx";
        let mut m = Inbound::parse(raw.as_bytes()).unwrap();
        m.text = format!("{label}{sep}{value}\nТекст: t\n");
        let _ = parse_notification(&m, &Labels::builtin(), chrono_tz::Asia::Barnaul, Utc.with_ymd_and_hms(2026, 12, 1, 7, 15, 0).unwrap());
    }

    #[test]
    fn html_to_text_never_panics(html in "[ -~а-яё\n]{0,600}") {
        let out = html_to_text(&html);
        prop_assert!(!out.contains("\n\n\n"));
    }
}
