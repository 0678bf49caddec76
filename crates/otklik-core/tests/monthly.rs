//! The month's report by mail: when it is due, and what the supervisor gets — the chart
//! decodes as a PNG, the attached CSV parses with the documented separators, the HTML
//! shows the table and the chart inline.
mod fixtures;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use otklik_core::auth::Secret;
use otklik_core::config::{Config, SecretCheck};
use otklik_core::monthly;
use otklik_core::report::{self, Row};

fn config(language: &str) -> Config {
    let text = format!(
        r#"
[service]
language = "{language}"
digest_at = "08:30"
[imap]
host = "localhost"
tls = "none"
username = "svc"
password_env = "NONE"
[smtp]
host = "localhost"
tls = "none"
from = "Обратная связь <svc@example.ru>"
[calendar]
timezone = "Asia/Barnaul"
preset = "ru"
[people]
coordinator = {{ name = "Балакирева О.В.", email = "coord@example.ru" }}
supervisor = {{ name = "Шевич Наталья Александровна", email = "super@example.ru", position = "Управляющий делами" }}
[[executors]]
id = "housing"
name = "Шишова Татьяна Михайловна"
email = "housing@example.ru"
[[executors]]
id = "economy"
name = "Никитин; Сергей \"мл.\""
email = "economy@example.ru"
[intake]
senders = ["*@monitoring.example"]
"#
    );
    match fixtures::load_str(
        &text,
        std::path::Path::new("/tmp/monthly.toml"),
        SecretCheck::Lenient,
    ) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn barnaul(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Barnaul
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            executor: "economy".into(),
            name: "Никитин; Сергей \"мл.\"".into(),
            cases: 3,
            answered_on_time: 2,
            answered_late: 1,
            posted_on_time: 1,
            posted_late: 2,
            on_time_rate: Some(66.7),
            posted_rate: Some(33.3),
            closed_unanswered: 1,
            closed_reasons: vec!["OTK-9: автор удалил пост <script>".into()],
            ..Row::default()
        },
        Row {
            executor: "housing".into(),
            name: "Шишова Татьяна Михайловна".into(),
            cases: 4,
            answered_on_time: 4,
            posted_on_time: 4,
            on_time_rate: Some(100.0),
            posted_rate: Some(100.0),
            ..Row::default()
        },
    ]
}

/// A CSV parser by RFC 4180 with the given separator: quoted fields, doubled quotes.
fn parse_csv(s: &str, sep: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, c) if c == sep => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted, "unterminated quote");
    rows
}

#[test]
fn the_month_report_is_due_on_the_first_working_day_once() {
    let c = config("ru");
    // 1 January 2027 is a holiday; the first working day is Monday 11 January.
    assert_eq!(monthly::due(&c, None, barnaul(2027, 1, 1, 9, 0)), None);
    assert_eq!(monthly::due(&c, None, barnaul(2027, 1, 11, 8, 0)), None);
    let (from, to, key) = monthly::due(&c, None, barnaul(2027, 1, 11, 8, 30)).unwrap();
    assert_eq!(
        (from, to),
        (
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        )
    );
    assert_eq!(key, "2026-12");
    // Sent: not again; a service down that day sends it when back.
    assert_eq!(
        monthly::due(&c, Some("2026-12"), barnaul(2027, 1, 12, 9, 0)),
        None
    );
    assert!(monthly::due(&c, Some("2026-11"), barnaul(2027, 1, 13, 9, 0)).is_some());
    // Tuesday 1 December 2026 is a working day: November's report at 08:30.
    let (from, _, _) = monthly::due(&c, Some("2026-10"), barnaul(2026, 12, 1, 8, 31)).unwrap();
    assert_eq!(from, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
}

#[test]
fn the_supervisor_gets_the_table_the_chart_and_the_csv() {
    for (lang, sep) in [("ru", ';'), ("en", ',')] {
        let c = config(lang);
        assert_eq!(report::csv_dialect(&c).0, sep);
        let secret = Secret::new(vec![7; 32]);
        let from = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let out = monthly::mail(
            &c,
            &secret,
            &rows(),
            &otklik_core::learning::report::FirstChoice::default(),
            from,
            to,
            "super@example.ru",
            1,
            barnaul(2026, 12, 1, 8, 30),
        )
        .unwrap();
        let msg = MessageParser::default().parse(&out.raw).unwrap();
        assert!(
            msg.subject().unwrap().contains("01.11.2026"),
            "{:?}",
            msg.subject()
        );
        let html = msg.body_html(0).unwrap();
        assert!(html.contains("cid:chart"), "{html}");
        assert!(html.contains("Шишова Татьяна Михайловна"));
        // Cases closed unanswered are listed with their reasons, in both parts.
        assert!(
            html.contains("<li>OTK-9: автор удалил пост &lt;script&gt; (economy)</li>"),
            "{html}"
        );
        let text = msg.body_text(0).unwrap();
        assert!(
            text.contains("OTK-9: автор удалил пост <script> (economy)"),
            "{text}"
        );
        let mut png = None;
        let mut csv = None;
        for part in msg.parts.iter() {
            let ct = part
                .content_type()
                .map(|t| format!("{}/{}", t.ctype(), t.subtype().unwrap_or("")));
            match ct.as_deref() {
                Some("image/png") => {
                    assert_eq!(part.content_id(), Some("chart"));
                    png = Some(part.contents().to_vec());
                }
                Some("text/csv") => csv = Some(part.contents().to_vec()),
                _ => {}
            }
        }
        // The chart decodes: a PNG of the size drawn, not blank.
        let png = png.expect("an inline PNG");
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("a frame");
        assert_eq!((info.width, info.height), (760, 420));
        let bytes = &buf[..info.buffer_size()];
        assert!(bytes.iter().any(|b| *b < 200), "the chart is blank");
        // The CSV parses with the dialect's separator, one header line and one per row.
        let csv = String::from_utf8(csv.expect("a CSV attachment")).unwrap();
        let csv = csv.strip_prefix('\u{feff}').expect("a BOM for Excel");
        let table = parse_csv(csv, sep);
        assert_eq!(table.len(), 3, "{table:?}");
        assert!(table.iter().all(|r| r.len() == table[0].len()));
        assert_eq!(table[0], report::headers(&c));
        assert_eq!(table[1][1], "Никитин; Сергей \"мл.\"");
        let rate = if lang == "ru" { "66,7" } else { "66.7" };
        assert!(table[1].contains(&rate.to_string()), "{:?}", table[1]);
        if lang == "ru" {
            assert_eq!(table[0][0], "Исполнитель");
        }
    }
}
