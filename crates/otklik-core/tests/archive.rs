//! The archive of earlier answers, measured on a labelled set: `tests/data/archive/`
//! holds 150 earlier posts with their approved answers (`archive.jsonl`) and held-out new
//! posts (`queries.tsv`): half are worded differently from an earlier post about the same
//! problem in the same place (its id given), half have nothing fitting in the archive.
//! Printed: recall@3 (the expected answer among those offered) and how often nothing is
//! offered where nothing fits, at the default threshold; the floors are asserted.
//! Also: the import's errors (line numbers, byte order marks, quotes).

use otklik_core::archive::import::{self, Format, Problem};
use otklik_core::archive::{self, Archive, DEFAULT_THRESHOLD, Query};

const ARCHIVE: &str = include_str!("data/archive/archive.jsonl");
const QUERIES: &str = include_str!("data/archive/queries.tsv");

struct Labelled {
    expected: Option<String>,
    query: Query,
}

fn labelled() -> Vec<Labelled> {
    QUERIES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 4, "{l}");
            Labelled {
                expected: (f[0] != "-").then(|| f[0].to_string()),
                query: Query {
                    topic: f[1].into(),
                    location: f[2].into(),
                    text: f[3].into(),
                },
            }
        })
        .collect()
}

fn archive() -> Archive {
    let entries = import::parse(ARCHIVE.as_bytes(), Format::Json).expect("the labelled archive");
    let mut a = Archive::new();
    for e in entries {
        a.add(e);
    }
    a
}

/// (recall@3 over the posts with an answer, share of the others offered nothing).
fn measure(a: &Archive, set: &[Labelled], threshold: f64) -> (f64, f64) {
    let (mut hit, mut with, mut quiet, mut without) = (0, 0, 0, 0);
    for l in set {
        let offered = a.offered(&l.query, threshold);
        match &l.expected {
            Some(id) => {
                with += 1;
                if offered.iter().any(|s| &s.id == id) {
                    hit += 1;
                }
            }
            None => {
                without += 1;
                if offered.is_empty() {
                    quiet += 1;
                }
            }
        }
    }
    (
        f64::from(hit) / f64::from(with),
        f64::from(quiet) / f64::from(without),
    )
}

#[test]
fn earlier_answers_are_found_and_strangers_are_not() {
    let a = archive();
    let set = labelled();
    assert!(a.len() >= 150, "{}", a.len());
    assert!(set.len() >= 60, "{}", set.len());
    let with = set.iter().filter(|l| l.expected.is_some()).count();
    assert!(with * 2 >= set.len() - 4 && with * 2 <= set.len() + 4);
    for t in [0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5] {
        let (recall, quiet) = measure(&a, &set, t);
        println!(
            "threshold {t:.2}: recall@3 {recall:.3}, nothing offered where nothing fits {quiet:.3}"
        );
    }
    let (recall, quiet) = measure(&a, &set, DEFAULT_THRESHOLD);
    println!(
        "default threshold {DEFAULT_THRESHOLD}: recall@3 {recall:.3}, nothing offered where nothing fits {quiet:.3}"
    );
    for l in set.iter() {
        let offered = a.offered(&l.query, DEFAULT_THRESHOLD);
        let ok = match &l.expected {
            Some(id) => offered.iter().any(|s| &s.id == id),
            None => offered.is_empty(),
        };
        if !ok {
            let top: Vec<String> = a
                .similar(&l.query, 3)
                .iter()
                .map(|s| format!("{} {:.2}", s.id, s.score))
                .collect();
            println!(
                "  miss: expected {:?}, top {top:?}: {}",
                l.expected, l.query.text
            );
        }
    }
    assert!(recall >= 0.9, "recall@3 {recall}");
    assert!(quiet >= 0.8, "nothing offered where nothing fits: {quiet}");
}

#[test]
fn every_labelled_id_is_in_the_archive() {
    let a = archive();
    for l in labelled() {
        if let Some(id) = &l.expected {
            assert!(a.get(id).is_some(), "{id}");
        }
    }
}

#[test]
fn training_examples_come_from_rows_with_an_executor() {
    let entries = import::parse(ARCHIVE.as_bytes(), Format::Json).expect("archive");
    let ex = archive::training_examples(&entries);
    let named = entries.iter().filter(|e| e.executor.is_some()).count();
    assert_eq!(ex.len(), named);
    assert!(named > 0 && named < entries.len());
}

const HEADER: &str = "id;topic;location;text;answer;date;executor\r\n";

#[test]
fn excel_csv_with_bom_quotes_and_line_breaks_is_read() {
    let csv = format!(
        "\u{feff}{HEADER}1;ЖКХ;с. Берёзовка;\"Прорвало трубу; вода \"\"рекой\"\"\r\nвторой день\";Устранено.;15.04.2025;zhkh\r\n2;Дороги;;Яма;Засыпали.;;\r\n"
    );
    let got = import::parse(csv.as_bytes(), Format::Csv).expect("csv");
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].id, "1");
    assert_eq!(got[0].text, "Прорвало трубу; вода \"рекой\"\nвторой день");
    assert_eq!(
        got[0].date.map(|d| d.to_string()).as_deref(),
        Some("2025-04-15")
    );
    assert_eq!(got[0].executor.as_deref(), Some("zhkh"));
    assert_eq!(got[1].location, "");
    assert_eq!(got[1].date, None);
    assert_eq!(got[1].executor, None);
    // Without the byte order mark, and with columns in another order.
    let plain = "answer;id;text;location;topic\nОтвет;x;Текст;Место;Тема\n";
    let got = import::parse(plain.as_bytes(), Format::Csv).expect("csv");
    assert_eq!(got[0].id, "x");
    assert_eq!(got[0].answer, "Ответ");
}

#[test]
fn a_bad_csv_row_names_its_line_and_nothing_is_imported() {
    // Row 2 spans lines 2-3 (a quoted line break); row 3, on line 4, has no answer.
    let csv = format!("{HEADER}1;a;b;\"two\nlines\";ok;;\n2;a;b;text;;;\n");
    let e = import::parse(csv.as_bytes(), Format::Csv).unwrap_err();
    assert_eq!(e.line, 4, "{e}");
    assert_eq!(e.problem, Problem::Empty("answer"));
    assert_eq!(e.to_string(), "line 4: answer is empty");
    let bad_date = format!("{HEADER}1;a;b;c;d;31.02.2025;\n");
    let e = import::parse(bad_date.as_bytes(), Format::Csv).unwrap_err();
    assert_eq!((e.line, e.problem), (2, Problem::Date("31.02.2025".into())));
    let wide = format!("{HEADER}1;a;b;c;d;;;extra\n");
    let e = import::parse(wide.as_bytes(), Format::Csv).unwrap_err();
    assert_eq!(e.line, 2, "{e}");
    assert!(matches!(e.problem, Problem::Csv(_)));
    let no_answer_column = "id;topic;location;text\n1;a;b;c\n";
    let e = import::parse(no_answer_column.as_bytes(), Format::Csv).unwrap_err();
    assert_eq!((e.line, e.problem), (1, Problem::MissingColumn("answer")));
    let cp1251 = b"id;topic;location;text;answer\n1;\xc6\xca\xd5;b;c;d\n";
    let e = import::parse(cp1251, Format::Csv).unwrap_err();
    assert_eq!((e.line, e.problem), (2, Problem::NotUtf8));
}

#[test]
fn json_lines_errors_name_their_line() {
    let ok = r#"{"id":"1","topic":"t","location":"l","text":"x","answer":"y","date":"2025-01-02"}"#;
    let missing = r#"{"id":"2","topic":"t","location":"l","text":"x"}"#;
    let file = format!("{ok}\n\n{missing}\n");
    let e = import::parse(file.as_bytes(), Format::Json).unwrap_err();
    assert_eq!((e.line, e.problem), (3, Problem::Missing("answer")));
    let e = import::parse(format!("{ok}\n{{oops\n").as_bytes(), Format::Json).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(matches!(e.problem, Problem::Json(_)));
    let dup = format!("{ok}\n{ok}\n");
    let e = import::parse(dup.as_bytes(), Format::Json).unwrap_err();
    assert_eq!(
        (e.line, e.problem),
        (
            2,
            Problem::Duplicate {
                id: "1".into(),
                first: 1
            }
        )
    );
    let with_bom = format!("\u{feff}{ok}\n");
    assert_eq!(
        import::parse(with_bom.as_bytes(), Format::Json)
            .unwrap()
            .len(),
        1
    );
    let array = format!("[\n  {ok},\n  {missing}\n]");
    let e = import::parse(array.as_bytes(), Format::Json).unwrap_err();
    assert_eq!(e.line, 3, "{e}");
}

#[test]
fn the_format_is_told_by_extension_or_content() {
    assert_eq!(Format::detect("a.CSV", b"{"), Format::Csv);
    assert_eq!(Format::detect("a.jsonl", b"id;"), Format::Json);
    assert_eq!(
        Format::detect("export", b"\xef\xbb\xbf  {\"id\":1}"),
        Format::Json
    );
    assert_eq!(Format::detect("export", b"id;topic"), Format::Csv);
}

#[test]
fn a_hostile_post_is_answered_quickly_enough_to_finish() {
    let a = archive();
    let text: String = (0..200_000)
        .map(|i| format!("слово{} ", i % 5000))
        .collect();
    let q = Query {
        text,
        ..Query::default()
    };
    assert!(a.offered(&q, DEFAULT_THRESHOLD).len() <= 3);
}
