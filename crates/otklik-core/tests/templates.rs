//! Every outgoing text: each notice renders in Russian and in English, starts with the case
//! tag, carries the action code, and no subject we send reads as a keyword when replied to.
mod fixtures;

use chrono::{TimeZone, Utc};
use otklik_core::config::{Config, DeadlineKind, SecretCheck};
use otklik_core::intake::Notification;
use otklik_core::routing::Absences;
use otklik_core::templates::{self, View};
use otklik_core::workflow::{self, Ctx, Notice, NoticeKind};

fn config(lang: &str) -> Config {
    let lexicon = concat!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
        "/config/exclude-words.txt"
    );
    let text = format!(
        r#"
[service]
state_dir = "/tmp/otklik-templates-test"
language = "{lang}"
[imap]
host = "localhost"
tls = "none"
username = "svc"
password_env = "NONE"
[smtp]
host = "localhost"
tls = "none"
from = "svc@example.ru"
[calendar]
timezone = "Asia/Barnaul"
preset = "ru"
[people]
coordinator = {{ name = "Коорд", email = "coord@example.ru" }}
[[executors]]
id = "housing"
name = "Шишова Т. М."
position = "Председатель комитета"
email = "housing@example.ru"
[[rules]]
name = "ЖКХ"
topic = ["ЖКХ*"]
executor = "housing"
[intake]
senders = ["*@monitoring.example"]
exclude_words_file = "{lexicon}"
"#
    );
    fixtures::load_str(
        &text,
        std::path::Path::new("/tmp/t.toml"),
        SecretCheck::Lenient,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_notice_renders_with_tag_and_code_and_no_keyword_in_its_subject() {
    let now = chrono_tz::Asia::Barnaul
        .with_ymd_and_hms(2026, 12, 1, 10, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    for lang in ["ru", "en"] {
        let c = config(lang);
        let n = Notification {
            source_id: Some("1".into()),
            topic: Some("ЖКХ / Водоснабжение".into()),
            location: Some("с. Волчиха".into()),
            category: Some("Высокая".into()),
            source: Some("ВКонтакте".into()),
            link: Some("https://vk.com/wall-1_1".into()),
            author: Some("Иван".into()),
            detected_at: now,
            text: "Нет воды.".into(),
            repeat: false,
            attachments: vec![],
            warnings: vec![],
        };
        let absences = Absences::new();
        let ctx = Ctx {
            config: &c,
            absences: &absences,
            now,
        };
        let case = workflow::open(42, n.clone(), workflow::classify(&c, &n, None), ctx).case;
        let kinds = [
            NoticeKind::NewCase { absent: None },
            NoticeKind::NewCase {
                absent: Some("economy".into()),
            },
            NoticeKind::NeedsAssignment {
                reason: "no rule".into(),
                suggestions: vec![],
            },
            NoticeKind::Excluded {
                matched: "убью".into(),
            },
            NoticeKind::RepeatUnmatched,
            NoticeKind::ForApproval,
            NoticeKind::Returned {
                comments: "Добавьте сроки".into(),
            },
            NoticeKind::Approved,
            NoticeKind::Declined {
                reason: "housing".into(),
            },
            NoticeKind::Withdrawn {
                reason: "reassigned".into(),
            },
            NoticeKind::Confirmation {
                action: "draft".into(),
            },
            NoticeKind::Refused {
                reason: "not entitled".into(),
                round: 0,
            },
            NoticeKind::Deadline {
                kind: DeadlineKind::Draft,
                deadline: now + chrono::Duration::hours(2),
                late: false,
            },
            NoticeKind::Deadline {
                kind: DeadlineKind::Answer,
                deadline: now - chrono::Duration::hours(2),
                late: true,
            },
        ];
        for kind in kinds {
            let notice = Notice {
                to: vec!["housing@example.ru".into()],
                kind: kind.clone(),
            };
            let view = View {
                config: &c,
                case: &case,
                now,
                recipient: "housing@example.ru",
                code: "k7m2q9xa",
                service_addr: "svc@example.ru",
            };
            let r = templates::render(&view, &notice);
            assert!(
                r.subject.starts_with("[OTK-42] "),
                "{lang} {kind:?}: {}",
                r.subject
            );
            assert!(
                r.text.contains("#k7m2q9xa"),
                "{lang} {kind:?}: the action code"
            );
            let reply_subject = format!("Re: {}", r.subject);
            assert_eq!(
                otklik_core::reply::subject_keyword(&reply_subject, "OTK"),
                None,
                "{lang} {kind:?}: {reply_subject}"
            );
            if lang == "en" {
                let own = r.subject.replace("ЖКХ / Водоснабжение — с. Волчиха", "");
                assert!(
                    !own.chars()
                        .any(|ch| matches!(ch, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё')),
                    "Russian in an English subject: {}",
                    r.subject
                );
            }
        }
        let view = View {
            config: &c,
            case: &case,
            now,
            recipient: "housing@example.ru",
            code: "k7m2q9xa",
            service_addr: "svc@example.ru",
        };
        let forward = templates::render(
            &view,
            &Notice {
                to: vec![],
                kind: NoticeKind::NewCase { absent: None },
            },
        );
        // Category «Высокая» has no override here: 9 h from Tue 10:00 = Wed 11:00; draft Tue 16:00.
        let (draft, answer) = match lang {
            "ru" => ("вт 01.12.2026 16:00", "ср 02.12.2026 11:00"),
            _ => ("Tue 01.12.2026 16:00", "Wed 02.12.2026 11:00"),
        };
        assert!(
            forward.text.contains(draft) && forward.text.contains(answer),
            "{}",
            forward.text
        );
    }
}

#[test]
fn mailto_links_are_percent_encoded_per_rfc6068() {
    let link = templates::mailto("svc@example.ru", "[OTK-1] СОГЛАСОВАНО #k7m2q9xa", "");
    assert!(link.starts_with("mailto:svc@example.ru?subject=%5BOTK-1%5D%20%D0%A1"));
    assert!(link.ends_with("%20%23k7m2q9xa"));
    assert!(!link.contains(' ') && !link.contains('#'));
}

#[test]
fn configured_durations_are_written_in_words_with_russian_plurals() {
    use otklik_core::calendar::WorkDuration::{Days, Seconds};
    use otklik_core::config::Language::{En, Ru};
    use otklik_core::templates::work_duration_words as words;
    assert_eq!(words(Ru, Days(7)), "7 рабочих дней");
    assert_eq!(words(Ru, Days(1)), "1 рабочий день");
    assert_eq!(words(Ru, Days(3)), "3 рабочих дня");
    assert_eq!(words(Ru, Days(11)), "11 рабочих дней");
    assert_eq!(words(Ru, Days(21)), "21 рабочий день");
    assert_eq!(words(Ru, Days(14)), "14 рабочих дней");
    assert_eq!(words(Ru, Seconds(4 * 3600)), "4 рабочих часа");
    assert_eq!(words(Ru, Seconds(9 * 3600)), "9 рабочих часов");
    assert_eq!(words(Ru, Seconds(90 * 60)), "90 рабочих минут");
    assert_eq!(words(En, Days(7)), "7 working days");
    assert_eq!(words(En, Seconds(3600)), "1 working hour");
}

#[test]
fn deadline_mails_state_the_configured_durations() {
    let now = chrono_tz::Asia::Barnaul
        .with_ymd_and_hms(2026, 12, 1, 10, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let text = |final_after: &str, kind: DeadlineKind| {
        let mut c = config("ru");
        c.deadlines.default.final_after_interim = final_after.parse().unwrap();
        let n = Notification {
            source_id: Some("1".into()),
            topic: Some("ЖКХ".into()),
            location: None,
            category: None,
            source: None,
            link: None,
            author: None,
            detected_at: now,
            text: "Нет воды.".into(),
            repeat: false,
            attachments: vec![],
            warnings: vec![],
        };
        let absences = Absences::new();
        let ctx = Ctx {
            config: &c,
            absences: &absences,
            now,
        };
        let case = workflow::open(7, n.clone(), workflow::classify(&c, &n, None), ctx).case;
        let view = View {
            config: &c,
            case: &case,
            now,
            recipient: "housing@example.ru",
            code: "k7m2q9xa",
            service_addr: "svc@example.ru",
        };
        let notice = Notice {
            to: vec!["housing@example.ru".into()],
            kind: NoticeKind::Deadline {
                kind,
                deadline: now + chrono::Duration::hours(2),
                late: false,
            },
        };
        templates::render(&view, &notice).text
    };
    let fin = text("5d", DeadlineKind::Final);
    assert!(
        fin.contains(
            "Окончательный проект ответа — координатору в течение 5 рабочих дней после размещения промежуточного ответа (п. 9)."
        ),
        "{fin}"
    );
    assert!(
        fin.contains("Пришлите окончательный проект ответа"),
        "{fin}"
    );
    assert!(!fin.contains("7 рабочих дней"), "{fin}");
    let draft = text("7d", DeadlineKind::Draft);
    assert!(
        draft.contains("Проект ответа — координатору за 4 рабочих часа до срока ответа (п. 7)."),
        "{draft}"
    );
}
