//! Intake of monitoring notifications: the shared samples and our own specimens, each
//! parsed to its exact fields.
#![allow(clippy::disallowed_methods)] // the tests read fixture files; the core does not

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use otklik_core::config::{Field, Labels};
use otklik_core::inbound::Inbound;
use otklik_core::intake::{IntakeError, Notification, parse_notification, parse_time};

const MOSCOW: Tz = chrono_tz::Europe::Moscow;
const BARNAUL: Tz = chrono_tz::Asia::Barnaul;

fn arrival() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn load(name: &str) -> Inbound {
    let path = format!(
        "{}/tests/data/notifications/{name}",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
    );
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    Inbound::parse(&raw).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn notification(name: &str) -> Notification {
    parse_notification(&load(name), &Labels::builtin(), MOSCOW, arrival())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn sample_a_plain_utf8() {
    let n = notification("a-plain-utf8.eml");
    assert_eq!(n.source_id, s("48213"));
    assert_eq!(n.topic, s("ЖКХ / Водоснабжение"));
    assert_eq!(n.location, s("Волчихинский район, с. Волчиха"));
    assert_eq!(n.category, s("Высокая"));
    assert_eq!(n.source, s("ВКонтакте"));
    assert_eq!(n.author, s("Иван Петров"));
    assert_eq!(n.link, s("https://vk.com/wall-123456_789"));
    assert_eq!(n.detected_at, utc("2026-12-01T07:15:00Z"));
    // Decision: `Срок отработки:` is not a label, so it stays in the post text.
    assert_eq!(
        n.text,
        "Третий день нет воды на улице Свердлова. Когда дадут воду?\n\
         Администрация молчит.\n\
         \n\
         Срок отработки: 9 рабочих часов."
    );
    assert!(!n.repeat);
    assert!(n.attachments.is_empty());
    assert!(n.warnings.is_empty(), "{:?}", n.warnings);
}

#[test]
fn sample_b_html_cp1251_quoted_printable() {
    let mail = load("b-html-cp1251-qp.eml");
    assert!(mail.from_html);
    let n = parse_notification(&mail, &Labels::builtin(), MOSCOW, arrival()).unwrap();
    assert_eq!(n.source_id, s("48290"));
    assert_eq!(n.topic, s("Дороги"));
    assert_eq!(n.location, s("Волчихинский район"));
    assert_eq!(n.category, s("Средняя"));
    assert_eq!(n.source, s("Одноклассники"));
    assert_eq!(n.author, s("Мария Сидорова"));
    assert_eq!(n.link, s("https://ok.ru/group/1/topic/2"));
    // 01.12.2026 в 14:05 without a zone: in the source zone (Moscow, UTC+3).
    assert_eq!(n.detected_at, utc("2026-12-01T11:05:00Z"));
    assert_eq!(
        n.text,
        "На трассе «Волчиха — Рубцовск» яма на яме.\n\
         Кто ответит за разбитые колёса?\n\
         \n\
         Просим принять меры."
    );
    assert!(!n.repeat);
}

#[test]
fn sample_b_takes_the_source_zone_from_config() {
    let mail = load("b-html-cp1251-qp.eml");
    let n = parse_notification(&mail, &Labels::builtin(), BARNAUL, arrival()).unwrap();
    assert_eq!(n.detected_at, utc("2026-12-01T07:05:00Z"));
}

#[test]
fn sample_c_repeat_base64_english() {
    let n = notification("c-repeat-base64-en.eml");
    assert_eq!(n.source_id, s("48377"));
    assert_eq!(n.topic, s("ЖКХ / Водоснабжение"));
    assert_eq!(n.location, s("с. Волчиха"));
    assert_eq!(n.category, s("Средняя"));
    assert_eq!(n.source, None);
    assert_eq!(n.author, s("Иван Петров"));
    assert_eq!(n.link, s("https://vk.com/wall-123456_901"));
    assert_eq!(n.detected_at, utc("2026-12-03T02:40:00Z"));
    assert_eq!(n.text, "Воду так и не дали, уже неделя.");
    assert!(n.repeat);
}

#[test]
fn sample_d_attachment_bytes_intact() {
    let n = notification("d-attachment.eml");
    assert_eq!(n.source_id, s("48401"));
    assert_eq!(n.topic, s("Образование"));
    assert_eq!(n.category, s("Низкая"));
    assert_eq!(n.link, s("https://vk.com/wall-123456_955"));
    assert_eq!(n.detected_at, utc("2026-12-01T13:40:00Z"));
    assert_eq!(
        n.text,
        "В школе №1 холодно, дети сидят в куртках.\n\nСрок отработки: 9 рабочих часов."
    );
    assert_eq!(n.attachments.len(), 1);
    let a = &n.attachments[0];
    assert_eq!(a.filename, "screenshot.png");
    assert_eq!(a.content_type, "image/png");
    let png: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xfc,
        0xcf, 0xc0, 0x50, 0x0f, 0x00, 0x04, 0x85, 0x01, 0x80, 0x84, 0xa9, 0x8c, 0x21, 0x00, 0x00,
        0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];
    assert_eq!(a.data, png);
}

#[test]
fn times_in_every_listed_format() {
    let cases = [
        ("26.06.2020 10:15", "2020-06-26T07:15:00Z"),
        ("26.06.2020 10:15:42", "2020-06-26T07:15:42Z"),
        ("26.06.2020 в 10:15", "2020-06-26T07:15:00Z"),
        ("26.06.2020 г. в 10:15", "2020-06-26T07:15:00Z"),
        ("2020-06-26 10:15", "2020-06-26T07:15:00Z"),
        ("2020-06-26T10:15", "2020-06-26T07:15:00Z"),
        ("2020-06-26T10:15:00+07:00", "2020-06-26T03:15:00Z"),
        ("2020-06-26T10:15:00Z", "2020-06-26T10:15:00Z"),
        ("26.06.2020 10:15 (МСК)", "2020-06-26T07:15:00Z"),
        ("26.06.2020 10:15 МСК", "2020-06-26T07:15:00Z"),
        ("26.06.2020 10:15 MSK", "2020-06-26T07:15:00Z"),
        ("26.06.2020 10:15 мск+4", "2020-06-26T03:15:00Z"),
        ("26.06.2020 10:15 +03:00", "2020-06-26T07:15:00Z"),
        ("26.06.2020 10:15 +0700", "2020-06-26T03:15:00Z"),
        ("26.06.2020 10:15 UTC+7", "2020-06-26T03:15:00Z"),
        ("26.06.2020 10:15 GMT+3", "2020-06-26T07:15:00Z"),
        ("26.06.2020 10:15 (UTC+07:00)", "2020-06-26T03:15:00Z"),
        ("26.06.2020 10:15 UTC", "2020-06-26T10:15:00Z"),
        ("2020-06-26 10:15 UTC-3", "2020-06-26T13:15:00Z"),
        ("1.6.2020 9:05", "2020-06-01T06:05:00Z"),
        ("26.06.20 10:15", "2020-06-26T07:15:00Z"),
        ("26.06.2020, 10:15", "2020-06-26T07:15:00Z"),
        ("26.06.2020 10:15 по МСК", "2020-06-26T07:15:00Z"),
        ("26 июня 2020 г. в 10:15", "2020-06-26T07:15:00Z"),
        ("1 Декабря 2026 10:15 (UTC+7)", "2026-12-01T03:15:00Z"),
        ("3 мая 2026 10:15", "2026-05-03T07:15:00Z"),
    ];
    for (input, want) in cases {
        assert_eq!(parse_time(input, MOSCOW), Some(utc(want)), "{input}");
    }
    // No zone: the configured source zone.
    assert_eq!(
        parse_time("26.06.2020 10:15", BARNAUL),
        Some(utc("2020-06-26T03:15:00Z"))
    );
    for bad in [
        "",
        "вчера",
        "31.02.2020 10:15",
        "26.06.2020",
        "26.06.2020 25:00",
        "10:15",
    ] {
        assert_eq!(parse_time(bad, MOSCOW), None, "{bad:?}");
    }
}

fn plain(subject: &str, date: Option<&str>, body: &str) -> Inbound {
    let mut raw = String::from(
        "From: Monitoring <noreply@monitoring.example>\r\nTo: incidents@volchiha.example\r\n",
    );
    raw.push_str(&format!("Subject: {subject}\r\n"));
    if let Some(d) = date {
        raw.push_str(&format!("Date: {d}\r\n"));
    }
    raw.push_str("Message-ID: <t@monitoring.example>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
    raw.push_str(&body.replace('\n', "\r\n"));
    Inbound::parse(raw.as_bytes()).unwrap()
}

#[test]
fn missing_text_is_an_error() {
    let mail = plain(
        "Инцидент №1",
        None,
        "Рубрика: ЖКХ\nСсылка: https://vk.com/wall-1_1\nТекст сообщения:\n\n",
    );
    assert_eq!(
        parse_notification(&mail, &Labels::builtin(), MOSCOW, arrival()),
        Err(IntakeError::NoText)
    );
    let mail = plain(
        "Инцидент №1",
        None,
        "Рубрика: ЖКХ\nhttps://vk.com/wall-1_1\n",
    );
    assert_eq!(
        parse_notification(&mail, &Labels::builtin(), MOSCOW, arrival()),
        Err(IntakeError::NoText)
    );
}

#[test]
fn no_topic_and_no_link_is_an_error() {
    let mail = plain("Инцидент №1", None, "Автор: Иван\nТекст: Плохо всё.\n");
    assert_eq!(
        parse_notification(&mail, &Labels::builtin(), MOSCOW, arrival()),
        Err(IntakeError::NoTopicOrLink)
    );
}

#[test]
fn detected_at_falls_back_to_date_header_then_arrival() {
    let body = "Рубрика: ЖКХ\nТекст: Нет воды.\n";
    let mail = plain("x", Some("Tue, 01 Dec 2026 06:16:01 +0300"), body);
    let n = parse_notification(&mail, &Labels::builtin(), MOSCOW, arrival()).unwrap();
    assert_eq!(n.detected_at, utc("2026-12-01T03:16:01Z"));
    assert!(n.warnings.is_empty());

    let mail = plain("x", None, body);
    let n = parse_notification(&mail, &Labels::builtin(), MOSCOW, arrival()).unwrap();
    assert_eq!(n.detected_at, arrival());

    // An unreadable time falls back too, and says so.
    let body = "Дата выявления: вчера вечером\nРубрика: ЖКХ\nТекст: Нет воды.\n";
    let mail = plain("x", Some("Tue, 01 Dec 2026 06:16:01 +0300"), body);
    let n = parse_notification(&mail, &Labels::builtin(), MOSCOW, arrival()).unwrap();
    assert_eq!(n.detected_at, utc("2026-12-01T03:16:01Z"));
    assert_eq!(n.warnings.len(), 1);
    assert!(n.warnings[0].contains("вчера вечером"), "{:?}", n.warnings);
}

#[test]
fn labels_case_yo_and_separators() {
    let body = "НАСЕЛЁННЫЙ ПУНКТ - с. Волчиха\n\
                рубрика — Благоустройство\n\
                Категория  важности:Высокая\n\
                Автор сообщения: Пётр Ёлкин\n\
                Ссылка на публикацию:   https://vk.com/wall-5_6  \n\
                Тема: не label\n\
                Текст публикации: Снег не убирают.\n\
                Вторая строка.\n";
    let mail = plain("Новый инцидент", None, body);
    let n = parse_notification(&mail, &Labels::builtin(), MOSCOW, arrival()).unwrap();
    assert_eq!(n.location, s("с. Волчиха"));
    assert_eq!(n.topic, s("Благоустройство"));
    assert_eq!(n.category, s("Высокая"));
    assert_eq!(n.author, s("Пётр Ёлкин"));
    assert_eq!(n.link, s("https://vk.com/wall-5_6"));
    assert_eq!(n.text, "Снег не убирают.\nВторая строка.");
    assert_eq!(n.source_id, None);
}

#[test]
fn a_line_starting_with_a_label_word_is_not_a_label() {
    let body = "Рубрика: Благоустройство\n\
                Текст:\n\
                Территория у школы не убрана.\n\
                Источник проблемы известен.\n\
                Автор: Иван\n";
    let mail = plain("x", None, body);
    let n = parse_notification(&mail, &Labels::builtin(), MOSCOW, arrival()).unwrap();
    assert_eq!(
        n.text,
        "Территория у школы не убрана.\nИсточник проблемы известен."
    );
    assert_eq!(n.location, None);
    assert_eq!(n.source, None);
    assert_eq!(n.author, s("Иван"));
}

#[test]
fn extra_labels_from_config() {
    let mut labels = Labels::builtin();
    labels.add(Field::Topic, "Направление");
    labels.add(Field::Text, "Содержание:");
    labels.add(Field::SourceId, "Рег. номер");
    let body = "Рег. номер: А-77\nНаправление: Транспорт\nСодержание:\nАвтобус не пришёл.\n";
    let mail = plain("x", None, body);
    let n = parse_notification(&mail, &labels, MOSCOW, arrival()).unwrap();
    assert_eq!(n.source_id, s("А-77"));
    assert_eq!(n.topic, s("Транспорт"));
    assert_eq!(n.text, "Автобус не пришёл.");
    // Without them the same mail is not a notification.
    assert!(parse_notification(&mail, &Labels::builtin(), MOSCOW, arrival()).is_err());
}

#[test]
fn link_only_in_the_body_and_id_from_subject() {
    let body = "Новое упоминание: https://t.me/volchiha_chat/1234.\n\
                Текст:\nКогда починят мост?\n";
    let mail = plain("Инцидент №123456", None, body);
    let n = parse_notification(&mail, &Labels::builtin(), MOSCOW, arrival()).unwrap();
    assert_eq!(n.link, s("https://t.me/volchiha_chat/1234"));
    assert_eq!(n.source_id, s("123456"));
    assert_eq!(n.topic, None);
}

#[test]
fn repeat_flags() {
    let body = |r: &str| format!("Рубрика: ЖКХ\nПовторное: {r}\nТекст: Опять нет воды.\n");
    for (v, want) in [
        ("да", true),
        ("Нет", false),
        ("yes", true),
        ("no", false),
        ("TRUE", true),
        ("false", false),
    ] {
        let n = parse_notification(
            &plain("x", None, &body(v)),
            &Labels::builtin(),
            MOSCOW,
            arrival(),
        )
        .unwrap();
        assert_eq!(n.repeat, want, "{v}");
        assert!(n.warnings.is_empty());
    }
    let n = parse_notification(
        &plain("x", None, &body("может быть")),
        &Labels::builtin(),
        MOSCOW,
        arrival(),
    )
    .unwrap();
    assert!(!n.repeat);
    assert_eq!(n.warnings.len(), 1);

    let plain_body = "Рубрика: ЖКХ\nТекст: Опять нет воды.\n";
    for (subject, want) in [
        ("Повторное обращение №5", true),
        ("ПОВТОРНЫЙ инцидент", true),
        ("Incident #7 (repeat)", true),
        ("Incident #7 (Repeat)", true),
        ("Новый инцидент №5", false),
        ("Неповторимый вид", false),
    ] {
        let n = parse_notification(
            &plain(subject, None, plain_body),
            &Labels::builtin(),
            MOSCOW,
            arrival(),
        )
        .unwrap();
        assert_eq!(n.repeat, want, "{subject}");
    }
}

#[test]
fn own_specimens_parse() {
    let n = notification("e-koi8r-plain.eml");
    assert_eq!(n.source_id, s("48500"));
    assert_eq!(n.topic, s("Транспорт"));
    assert_eq!(n.location, s("с. Волчиха"));
    assert_eq!(n.author, s("Олег Ёжиков"));
    assert_eq!(n.detected_at, utc("2026-12-02T04:30:00Z"));
    assert_eq!(
        n.text,
        "Автобус 12-го маршрута опять не пришёл.\nЖдали час на морозе."
    );

    let n = notification("f-alternative.eml");
    assert_eq!(n.source_id, s("48510"));
    assert_eq!(n.topic, s("ЖКХ / Отопление"));
    assert_eq!(n.detected_at, utc("2026-12-02T05:00:00Z"));
    assert_eq!(n.text, "В доме по ул. Ленина, 5 холодные батареи.");

    let n = notification("g-html-br-lines.eml");
    assert_eq!(n.source_id, s("48520"));
    assert_eq!(n.topic, s("Благоустройство"));
    assert_eq!(n.location, s("с. Волчиха"));
    assert_eq!(n.category, s("Средняя"));
    assert_eq!(n.author, s("Анна Кузнецова"));
    assert_eq!(n.link, s("https://vk.com/wall-1_77"));
    assert_eq!(n.detected_at, utc("2026-12-02T06:10:00Z"));
    assert_eq!(
        n.text,
        "Во дворе дома 3 по ул. Мира — гора мусора.\nНикто не вывозит уже две недели!"
    );

    let n = notification("h-gmail-forward.eml");
    assert_eq!(n.source_id, s("48530"));
    assert_eq!(n.topic, s("Дороги"));
    assert_eq!(n.link, s("https://vk.com/wall-1_88"));
    assert_eq!(n.detected_at, utc("2026-12-02T03:45:00Z"));
    assert_eq!(n.text, "Яма у школы, уже третий год.");
    assert!(n.repeat);
}

#[test]
fn notification_forwarded_as_an_attached_message() {
    let mail = load("i-outlook-forward-as-attachment.eml");
    assert!(mail.text.starts_with("Коллеги, пересылаю"));
    assert_eq!(mail.attachments.len(), 1);
    assert_eq!(mail.attachments[0].content_type, "message/rfc822");
    assert_eq!(mail.attachments[0].filename, "incident.eml");
    let inner = Inbound::parse(&mail.attachments[0].data).unwrap();
    assert_eq!(
        inner.message_id.as_deref(),
        Some("sample-1@monitoring.example")
    );
    let n = parse_notification(&mail, &Labels::builtin(), MOSCOW, arrival()).unwrap();
    let direct = notification("a-plain-utf8.eml");
    assert_eq!(n, direct);
}

#[test]
fn empty_plain_alternative_falls_back_to_html() {
    let raw = "From: a@b.example\r\nSubject: x\r\nContent-Type: multipart/alternative; boundary=\"A\"\r\n\r\n--A\r\nContent-Type: text/plain\r\n\r\n \r\n--A\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Рубрика: Дороги<br>Текст: Яма</p>\r\n--A--\r\n";
    let mail = Inbound::parse(raw.as_bytes()).unwrap();
    assert!(mail.from_html);
    let n = parse_notification(&mail, &Labels::builtin(), MOSCOW, arrival()).unwrap();
    assert_eq!(n.topic, s("Дороги"));
    assert_eq!(n.text, "Яма");
}

#[test]
fn quoted_notification_and_linked_author() {
    let body = "Посмотрите, что пришло:\n\
                > Номер инцидента: №48600 — ЖКХ\n\
                > Рубрика: ЖКХ\n\
                > Текст:\n\
                > Нет воды.\n\
                >\n\
                > Совсем нет.\n";
    let n = parse_notification(
        &plain("Fwd: x", None, body),
        &Labels::builtin(),
        MOSCOW,
        arrival(),
    )
    .unwrap();
    assert_eq!(n.source_id, s("48600"));
    assert_eq!(n.text, "Нет воды.\n\nСовсем нет.");

    let raw = "From: a@b.example\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
               <table><tr><td>Автор</td><td><a href=\"https://vk.com/id1\">Иван Петров</a></td></tr>\
               <tr><td>Ссылка</td><td><a href=\"https://vk.com/wall1_2\">пост</a></td></tr>\
               <tr><td>Текст</td><td>Яма</td></tr></table>";
    let n = parse_notification(
        &Inbound::parse(raw.as_bytes()).unwrap(),
        &Labels::builtin(),
        MOSCOW,
        arrival(),
    )
    .unwrap();
    assert_eq!(n.author, s("Иван Петров"));
    assert_eq!(n.link, s("https://vk.com/wall1_2"));
}
