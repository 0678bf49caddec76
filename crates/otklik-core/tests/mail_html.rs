//! Every mail the service sends, in both languages, rendered to HTML files (under
//! `target/tmp/mails/`, where `scripts/screenshots` takes them) and checked: well-formed,
//! no external resources, every `mailto:` parses (RFC 6068) and carries the case tag and a
//! valid action code; the text part states the same facts; the approval request after a
//! rework shows the deleted and inserted words; the MIME structure keeps the calendar and
//! the attachments.
#![allow(clippy::disallowed_methods)] // the test writes the rendered files for people to look at
mod fixtures;

use std::path::PathBuf;

use chrono::{DateTime, Duration, TimeZone, Utc};
use mail_parser::MimeHeaders;
use otklik_core::auth::Secret;
use otklik_core::config::{Config, DeadlineKind, SecretCheck};
use otklik_core::inbound::Attachment;
use otklik_core::intake::Notification;
use otklik_core::reply::{Keyword, subject_keyword};
use otklik_core::routing::Absences;
use otklik_core::templates::{self, QueueItem, Rendered, View};
use otklik_core::workflow::{self, Action, Case, Ctx, DraftKind, Event, Notice, NoticeKind, Role};

const CODE: &str = "k7m2q9xa";

fn config(lang: &str) -> Config {
    let lexicon = concat!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
        "/config/exclude-words.txt"
    );
    let text = format!(
        r#"
[service]
state_dir = "/tmp/otklik-mail-html-test"
language = "{lang}"
[imap]
host = "localhost"
tls = "none"
username = "svc"
password_env = "NONE"
[smtp]
host = "localhost"
tls = "none"
from = "router@volchiha.example"
[calendar]
timezone = "Asia/Barnaul"
preset = "ru"
[people]
coordinator = {{ name = "Балакирева О. В.", email = "coord@volchiha.example" }}
supervisor = {{ name = "Контроль", email = "super@volchiha.example" }}
publisher = "press@volchiha.example"
[[executors]]
id = "housing"
name = "Шишова Т. М."
position = "Председатель комитета по ЖКХ"
email = "housing@volchiha.example"
deputy = "roads"
[[executors]]
id = "roads"
name = "Кузнецов А. П."
position = "Начальник отдела дорожного хозяйства"
email = "roads@volchiha.example"
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

fn barnaul(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Barnaul
        .with_ymd_and_hms(2026, 12, d, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn photo() -> Attachment {
    Attachment::new(
        "yama.png".into(),
        "image/png".into(),
        fixtures::read("crates/otklik-core/tests/data/photo.png"),
    )
}

fn notification(now: DateTime<Utc>) -> Notification {
    Notification {
        source_id: Some("48213".into()),
        topic: Some("ЖКХ / Водоснабжение".into()),
        location: Some("с. Волчиха".into()),
        category: Some("Высокая".into()),
        source: Some("ВКонтакте".into()),
        link: Some("https://vk.com/wall-123456_789".into()),
        author: Some("Иван Петров".into()),
        detected_at: now,
        text: "Третий день нет воды на улице Свердлова. Когда дадут воду? \
               И яму у колонки засыпать обещали ещё летом."
            .into(),
        repeat: false,
        attachments: vec![photo()],
        warnings: vec![],
    }
}

fn apply(
    c: &Config,
    case: &Case,
    from: &str,
    role: Role,
    action: Action,
    text: &str,
    now: DateTime<Utc>,
) -> workflow::Outcome {
    let absences = Absences::new();
    workflow::apply(
        case,
        Event::Reply {
            from: from.into(),
            role,
            action,
            text: text.into(),
            attachments: vec![],
        },
        Ctx {
            config: c,
            absences: &absences,
            now,
        },
    )
}

const RETURNED: &str = "Уважаемый Иван! Воду дадут завтра утром. Яму засыплют в течение месяца.";
const COMMENTS: &str = "Укажите точное время подачи воды и срок по яме.";
const REWORKED: &str =
    "Уважаемый Иван! Воду дадут сегодня до 18:00. Яму у колонки засыплют до 10 декабря.";

/// A case through its approval round: draft, rework with comments, reworked draft.
fn cases(c: &Config) -> (Case, Case, Case, Case, DateTime<Utc>) {
    let t0 = barnaul(1, 10, 0);
    let absences = Absences::new();
    let n = notification(t0);
    let opened = workflow::open(
        42,
        n.clone(),
        workflow::classify(c, &n, None),
        Ctx {
            config: c,
            absences: &absences,
            now: t0,
        },
    )
    .case;
    let exec = "housing@volchiha.example";
    let coord = "coord@volchiha.example";
    let first = apply(
        c,
        &opened,
        exec,
        Role::Executor,
        Action::Draft(DraftKind::Answer),
        RETURNED,
        t0 + Duration::hours(1),
    )
    .case;
    let returned = apply(
        c,
        &first,
        coord,
        Role::Coordinator,
        Action::Rework,
        COMMENTS,
        t0 + Duration::hours(2),
    )
    .case;
    let reworked = apply(
        c,
        &returned,
        exec,
        Role::Executor,
        Action::Draft(DraftKind::Answer),
        REWORKED,
        t0 + Duration::hours(3),
    )
    .case;
    assert_eq!(reworked.state, workflow::State::DraftSubmitted);
    let approved = apply(
        c,
        &reworked,
        coord,
        Role::Coordinator,
        Action::Approve,
        "",
        t0 + Duration::hours(4),
    )
    .case;
    (opened, first, reworked, approved, t0)
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("mails");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One rendered mail and what it is about.
struct Sample {
    name: String,
    rendered: Rendered,
    /// The case tag its links must carry (none for mail about no case).
    tag: Option<String>,
}

fn samples(lang: &str) -> Vec<Sample> {
    let c = config(lang);
    let (opened, first, reworked, approved, t0) = cases(&c);
    let mut out = Vec::new();
    let mut one = |name: &str, case: &Case, now: DateTime<Utc>, to: &str, kind: NoticeKind| {
        let view = View {
            config: &c,
            case,
            now,
            recipient: to,
            code: CODE,
            service_addr: "router@volchiha.example",
        };
        let notice = Notice {
            to: vec![to.into()],
            kind,
        };
        out.push(Sample {
            name: format!("{lang}-{name}"),
            rendered: templates::render(&view, &notice),
            tag: Some(format!("[{}]", case.id)),
        });
    };
    let exec = "housing@volchiha.example";
    let coord = "coord@volchiha.example";
    let sup = "super@volchiha.example";
    one(
        "forward",
        &opened,
        t0,
        exec,
        NoticeKind::NewCase { absent: None },
    );
    one(
        "forward-deputy",
        &opened,
        t0,
        exec,
        NoticeKind::NewCase {
            absent: Some("roads".into()),
        },
    );
    one(
        "approval",
        &first,
        t0 + Duration::hours(1),
        coord,
        NoticeKind::ForApproval,
    );
    one(
        "approval-after-rework",
        &reworked,
        t0 + Duration::hours(3),
        coord,
        NoticeKind::ForApproval,
    );
    one(
        "rework",
        &apply(
            &c,
            &first,
            coord,
            Role::Coordinator,
            Action::Rework,
            COMMENTS,
            t0 + Duration::hours(2),
        )
        .case,
        t0 + Duration::hours(2),
        exec,
        NoticeKind::Returned {
            comments: COMMENTS.into(),
        },
    );
    one(
        "approved",
        &approved,
        t0 + Duration::hours(4),
        exec,
        NoticeKind::Approved,
    );
    one(
        "declined",
        &opened,
        t0 + Duration::hours(1),
        coord,
        NoticeKind::Declined {
            reason: "housing: это дороги, не ЖКХ".into(),
        },
    );
    one(
        "needs-assignment",
        &opened,
        t0,
        coord,
        NoticeKind::NeedsAssignment {
            reason: "ни одно правило не подошло".into(),
            suggestions: vec![],
        },
    );
    one(
        "excluded",
        &opened,
        t0,
        coord,
        NoticeKind::Excluded {
            matched: "убью".into(),
        },
    );
    one(
        "repeat-unmatched",
        &opened,
        t0,
        coord,
        NoticeKind::RepeatUnmatched,
    );
    one(
        "withdrawn",
        &opened,
        t0,
        exec,
        NoticeKind::Withdrawn {
            reason: "reassigned".into(),
        },
    );
    one(
        "confirmation",
        &first,
        t0 + Duration::hours(1),
        exec,
        NoticeKind::Confirmation {
            action: "draft".into(),
        },
    );
    one(
        "refused",
        &opened,
        t0,
        exec,
        NoticeKind::Refused {
            reason: "нет проекта на согласовании".into(),
            round: 0,
        },
    );
    let draft_due = opened.deadlines.draft.unwrap();
    let answer_due = opened.deadlines.answer.unwrap();
    one(
        "reminder",
        &opened,
        draft_due - Duration::hours(2),
        exec,
        NoticeKind::Deadline {
            kind: DeadlineKind::Draft,
            deadline: draft_due,
            late: false,
        },
    );
    one(
        "escalation",
        &opened,
        answer_due + Duration::hours(3),
        coord,
        NoticeKind::Deadline {
            kind: DeadlineKind::Answer,
            deadline: answer_due,
            late: true,
        },
    );
    one(
        "escalation-supervisor",
        &opened,
        answer_due + Duration::hours(3),
        sup,
        NoticeKind::Deadline {
            kind: DeadlineKind::Answer,
            deadline: answer_due,
            late: false,
        },
    );
    // МОИ ДЕЛА, grouped as the coordinator sees it.
    let mut other = opened.clone();
    other.number = 43;
    other.id = "OTK-43".into();
    other.executor = Some("roads".into());
    let items = [
        QueueItem {
            case: &opened,
            code: CODE.into(),
        },
        QueueItem {
            case: &other,
            code: CODE.into(),
        },
    ];
    let queue_now = answer_due + Duration::hours(1);
    out.push(Sample {
        name: format!("{lang}-my-cases"),
        rendered: templates::render_queue(&c, &items, true, queue_now, "router@volchiha.example"),
        tag: None,
    });
    let housing = c.executor("housing").unwrap().clone();
    out.push(Sample {
        name: format!("{lang}-absence"),
        rendered: templates::render_absence(
            &c,
            &housing,
            chrono::NaiveDate::from_ymd_opt(2026, 12, 14),
            false,
        ),
        tag: None,
    });
    out.push(Sample {
        name: format!("{lang}-absence-coordinator"),
        rendered: templates::render_absence(
            &c,
            &housing,
            chrono::NaiveDate::from_ymd_opt(2026, 12, 14),
            true,
        ),
        tag: None,
    });
    out.push(Sample {
        name: format!("{lang}-service-refusal"),
        rendered: templates::render_service_refusal(&c, "неизвестная команда"),
        tag: None,
    });
    out.push(Sample {
        name: format!("{lang}-oversized"),
        rendered: templates::render_oversized(
            &c,
            "monitoring@monitoring.example",
            "Инцидент 48213",
            40 << 20,
            25 << 20,
        ),
        tag: None,
    });
    let digest = otklik_core::digest::build(&c, &[opened.clone(), other.clone()], queue_now);
    out.push(Sample {
        name: format!("{lang}-digest"),
        rendered: Rendered {
            subject: otklik_core::digest::subject(&c, &digest),
            text: otklik_core::digest::text(&c, &digest),
            html: Some(otklik_core::digest::html(&c, &digest)),
            attachments: vec![],
            calendar: None,
        },
        tag: None,
    });
    out
}

#[test]
fn every_mail_renders_to_checked_html_in_both_languages() {
    let dir = out_dir();
    let png = fixtures::read("crates/otklik-core/tests/data/photo.png");
    std::fs::write(dir.join("yama.png"), &png).unwrap();
    let mut count = 0;
    for lang in ["ru", "en"] {
        for s in samples(lang) {
            let html = s
                .rendered
                .html
                .as_deref()
                .unwrap_or_else(|| panic!("{}: no HTML part", s.name));
            if let Err(e) = well_formed(html) {
                panic!("{}: not well-formed: {e}", s.name);
            }
            if let Some(bad) = external_resource(html) {
                panic!("{}: external resource {bad}", s.name);
            }
            let links = mailto_links(html);
            for link in &links {
                let subject =
                    check_mailto(link).unwrap_or_else(|e| panic!("{}: {link}: {e}", s.name));
                if let Some(tag) = &s.tag {
                    assert!(subject.starts_with(tag.as_str()), "{}: {subject}", s.name);
                    assert!(
                        subject.ends_with(&format!("#{CODE}")),
                        "{}: {subject}",
                        s.name
                    );
                    // The keyword a button sends is read back as that keyword.
                    if let Some(kw) = subject_keyword(&subject, "OTK") {
                        assert!(!matches!(kw, Keyword::Invalid(_)), "{}: {subject}", s.name);
                    }
                } else {
                    assert!(subject.contains("[OTK-") && subject.contains(&format!("#{CODE}")));
                }
            }
            // Same facts in both parts: the tag, the code, the buttons' keywords, the deadlines.
            let text = &s.rendered.text;
            let plain = html_text(html);
            if let Some(tag) = &s.tag {
                assert!(text.contains(tag.as_str()) || s.rendered.subject.contains(tag.as_str()));
                assert!(
                    text.contains(&format!("#{CODE}")),
                    "{}: code in text",
                    s.name
                );
                assert!(
                    plain.contains(&format!("#{CODE}")),
                    "{}: code in HTML",
                    s.name
                );
            }
            assert_eq!(
                links.len(),
                text.matches("mailto:").count(),
                "{}: the same actions in both parts",
                s.name
            );
            for when in deadline_stamps(text) {
                assert!(plain.contains(&when), "{}: {when} not in the HTML", s.name);
            }
            // The preview for people: the inline photo from a file next to it.
            let preview = html
                .replace(&templates::image_cid("OTK-42", 0), "yama.png")
                .replace("cid:yama.png", "yama.png");
            std::fs::write(dir.join(format!("{}.html", s.name)), preview).unwrap();
            std::fs::write(dir.join(format!("{}.txt", s.name)), text).unwrap();
            count += 1;
        }
    }
    assert!(count >= 40, "{count}");
}

#[test]
fn the_first_line_says_what_is_asked_and_by_when() {
    let c = config("ru");
    let (opened, _, _, _, t0) = cases(&c);
    let view = View {
        config: &c,
        case: &opened,
        now: t0,
        recipient: "housing@volchiha.example",
        code: CODE,
        service_addr: "router@volchiha.example",
    };
    let r = templates::render(
        &view,
        &Notice {
            to: vec![],
            kind: NoticeKind::NewCase { absent: None },
        },
    );
    let mut lines = r.text.lines();
    assert!(
        lines.next().unwrap().starts_with("Ответьте на это письмо"),
        "{}",
        r.text
    );
    // Tue 10:00, draft due Tue 16:00: 5 working hours (lunch 12–13).
    assert_eq!(
        lines.next().unwrap(),
        "Подготовьте проект ответа автору — до вт 01.12.2026 16:00, осталось 5 рабочих ч (срок проекта ответа)"
    );
    // The links come last, numbered; the buttons above name them.
    let tail: Vec<&str> = r.text.lines().rev().take(3).collect();
    assert!(
        tail.iter()
            .all(|l| l.starts_with('[') && l.contains("mailto:")),
        "{tail:?}"
    );
    let html = r.html.unwrap();
    assert!(html.contains("осталось 5 рабочих ч"));
    assert!(html.contains("cid:img0.OTK-42@otklik"), "the photo inline");
    // Overdue: by the working-time calendar, rounded up.
    let late = View {
        now: opened.deadlines.answer.unwrap() + Duration::hours(3),
        ..view
    };
    let r = templates::render(
        &late,
        &Notice {
            to: vec![],
            kind: NoticeKind::Deadline {
                kind: DeadlineKind::Answer,
                deadline: opened.deadlines.answer.unwrap(),
                late: false,
            },
        },
    );
    assert!(r.text.contains("просрочено на 2 рабочих ч"), "{}", r.text);
}

#[test]
fn the_approval_request_after_a_rework_shows_the_changed_words_and_the_comments() {
    for lang in ["ru", "en"] {
        let s = samples(lang)
            .into_iter()
            .find(|s| s.name.ends_with("-approval-after-rework"))
            .unwrap();
        let text = &s.rendered.text;
        let html = s.rendered.html.unwrap();
        assert!(
            text.contains("[-завтра утром.-]{+сегодня до 18:00.+}"),
            "{text}"
        );
        assert!(text.contains(COMMENTS), "{text}");
        assert!(html.contains("завтра утром.</del>"), "{html}");
        assert!(html.contains("сегодня до 18:00.</ins>"), "{html}");
        assert!(html.contains(COMMENTS));
        // The first round has nothing to compare.
        let first = samples(lang)
            .into_iter()
            .find(|s| s.name.ends_with("-approval"))
            .unwrap();
        assert!(!first.rendered.html.unwrap().contains("<del"));
        assert!(!first.rendered.text.contains("[-"));
    }
}

#[test]
fn the_forward_is_alternative_text_and_related_html_with_the_photo_calendar_and_date_local() {
    let c = config("ru");
    let (opened, _, _, _, t0) = cases(&c);
    let secret = Secret::new(vec![7; 32]);
    let notices = [Notice {
        to: vec!["housing@volchiha.example".into()],
        kind: NoticeKind::NewCase { absent: None },
    }];
    let mails = otklik_core::compose::case_mails(&c, &secret, &opened, &notices, t0, &[1]).unwrap();
    let raw = &mails[0].raw;
    let head =
        String::from_utf8_lossy(&raw[..raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap()])
            .to_string();
    assert!(
        head.contains("Date: Tue, 1 Dec 2026 10:00:00 +0700"),
        "{head}"
    );
    let msg = mail_parser::MessageParser::default().parse(raw).unwrap();
    let text = msg.body_text(0).unwrap();
    let html = msg.body_html(0).unwrap();
    assert!(text.starts_with("Ответьте на это письмо"), "{text}");
    assert!(html.contains("cid:img0.OTK-42@otklik"));
    let s = String::from_utf8_lossy(raw);
    for part in [
        "multipart/mixed",
        "multipart/alternative",
        "multipart/related",
        "text/calendar",
        "Content-ID: <img0.OTK-42@otklik>",
    ] {
        assert!(s.contains(part), "{part} missing");
    }
    // The photo is there once, under its name.
    let files: Vec<_> = msg
        .attachments()
        .filter(|a| a.attachment_name() == Some("yama.png"))
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].contents(), photo().data.as_slice());
}

// ---- checks ----

const VOID: [&str; 6] = ["meta", "br", "img", "hr", "input", "link"];

/// A strict check: every tag closed in order, void elements written `<x />`, attribute
/// values quoted, `&` only as an entity, no raw `<` in text.
fn well_formed(html: &str) -> Result<(), String> {
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html.trim_start();
    rest = rest.strip_prefix("<!DOCTYPE html>").ok_or("no doctype")?;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            check_text(rest)?;
            break;
        };
        check_text(&rest[..lt])?;
        rest = &rest[lt..];
        let gt = tag_end(rest).ok_or("unterminated tag")?;
        let tag = &rest[1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .ok_or(format!("</{name}> without an open tag"))?;
            if open != name {
                return Err(format!("</{name}> closes <{open}>"));
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/').trim_end();
        let name = body
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!("bad tag <{tag}>"));
        }
        check_attributes(&body[name.len()..])?;
        if VOID.contains(&name.as_str()) {
            if !self_closing {
                return Err(format!("<{name}> not self-closed"));
            }
            continue;
        }
        if self_closing {
            return Err(format!("<{name} /> is not a void element"));
        }
        if name == "style" {
            let end = rest.find("</style>").ok_or("unterminated style")?;
            rest = &rest[end + "</style>".len()..];
            continue;
        }
        stack.push(name);
    }
    if let Some(open) = stack.pop() {
        return Err(format!("<{open}> never closed"));
    }
    Ok(())
}

fn tag_end(s: &str) -> Option<usize> {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '>' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

fn check_attributes(mut s: &str) -> Result<(), String> {
    loop {
        s = s.trim_start();
        if s.is_empty() {
            return Ok(());
        }
        let eq = s.find('=').ok_or(format!("attribute without value: {s}"))?;
        let name = &s[..eq];
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':')
        {
            return Err(format!("bad attribute name {name:?}"));
        }
        let v = s[eq + 1..]
            .strip_prefix('"')
            .ok_or(format!("unquoted {name}"))?;
        let end = v.find('"').ok_or("unterminated attribute")?;
        check_text(&v[..end])?;
        s = &v[end + 1..];
    }
}

fn check_text(s: &str) -> Result<(), String> {
    if s.contains('<') || s.contains('>') {
        return Err(format!("raw < or > in {s:?}"));
    }
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        let after = &rest[i..];
        if !["&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&nbsp;"]
            .iter()
            .any(|e| after.starts_with(e))
        {
            return Err(format!("bare & in {s:?}"));
        }
        rest = &rest[i + 1..];
    }
    Ok(())
}

/// An `src`/`href` of an element that loads something, pointing off the message.
fn external_resource(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    for bad in [
        "<script", "<link", "<iframe", "<object", "<embed", "@import", "url(",
    ] {
        if lower.contains(bad) {
            return Some(bad.to_string());
        }
    }
    for tag in ["img", "style", "font", "video", "audio", "source", "input"] {
        let mut rest = lower.as_str();
        while let Some(i) = rest.find(&format!("<{tag} ")) {
            let t = &rest[i..rest[i..].find('>').map(|e| i + e).unwrap_or(rest.len())];
            for attr in ["src=\"", "href=\"", "background=\""] {
                if let Some(j) = t.find(attr) {
                    let v = &t[j + attr.len()..];
                    if !v.starts_with("cid:") {
                        return Some(t.to_string());
                    }
                }
            }
            rest = &rest[i + 1..];
        }
    }
    None
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn mailto_links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(unescape)
        .filter(|h| h.starts_with("mailto:"))
        .collect()
}

/// RFC 6068: `mailto:` addr-spec `?` hfield *( `&` hfield ); every octet outside the
/// unreserved set percent-encoded; the values UTF-8. Returns the decoded subject.
fn check_mailto(link: &str) -> Result<String, String> {
    let rest = link.strip_prefix("mailto:").ok_or("not mailto")?;
    let (to, query) = rest.split_once('?').ok_or("no query")?;
    let (local, domain) = to.split_once('@').ok_or("no @ in the address")?;
    if local.is_empty()
        || domain.is_empty()
        || !to
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@.-_+".contains(c))
    {
        return Err(format!("bad address {to}"));
    }
    let mut subject = None;
    for hfield in query.split('&') {
        let (name, value) = hfield.split_once('=').ok_or("hfield without =")?;
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~%".contains(c))
        {
            return Err(format!("unencoded octet in {value}"));
        }
        let decoded = percent_decode(value)?;
        match name.to_ascii_lowercase().as_str() {
            "subject" => subject = Some(decoded),
            "body" | "cc" => {}
            other => return Err(format!("unexpected hfield {other}")),
        }
    }
    subject.ok_or("no subject".into())
}

fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or("short %")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// The HTML's visible text, roughly: tags dropped, entities decoded.
fn html_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    unescape(&out)
}

/// `вт 01.12.2026 16:00`-like stamps in a text: a weekday, a date, a time.
fn deadline_stamps(text: &str) -> Vec<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = Vec::new();
    for w in words.windows(3) {
        let date = w[1];
        let time = w[2].trim_end_matches([',', ';', '.', ')']);
        if date.len() == 10
            && date.chars().filter(|c| *c == '.').count() == 2
            && time.len() == 5
            && time.as_bytes()[2] == b':'
        {
            out.push(format!("{} {date} {time}", w[0]));
        }
    }
    out
}

#[test]
fn a_case_with_hundreds_of_photos_shows_twenty_inline_and_attaches_the_rest() {
    let c = config("ru");
    let (mut opened, _, _, _, t0) = cases(&c);
    let photo = photo();
    opened.notification.attachments = (0..300)
        .map(|i| {
            let mut a = photo.clone();
            a.filename = format!("photo-{i}.png");
            a
        })
        .collect();
    let secret = Secret::new(vec![7; 32]);
    let notices = [Notice {
        to: vec!["housing@volchiha.example".into()],
        kind: NoticeKind::NewCase { absent: None },
    }];
    let mails = otklik_core::compose::case_mails(&c, &secret, &opened, &notices, t0, &[1]).unwrap();
    let raw = &mails[0].raw;
    let s = String::from_utf8_lossy(raw);
    assert_eq!(
        s.matches("Content-ID: <img").count(),
        otklik_core::templates::MAX_INLINE_IMAGES
    );
    let msg = mail_parser::MessageParser::default().parse(raw).unwrap();
    let html = msg.body_html(0).unwrap();
    assert_eq!(
        html.matches("cid:").count(),
        otklik_core::templates::MAX_INLINE_IMAGES
    );
    // Every photo travels: twenty inline, the rest attached.
    let names = msg
        .parts
        .iter()
        .filter_map(|p| mail_parser::MimeHeaders::attachment_name(p))
        .filter(|n| n.starts_with("photo-"))
        .count();
    assert_eq!(names, 300);
}

#[test]
fn texts_too_long_to_compare_show_the_new_text_whole() {
    use otklik_core::templates::doc::{MAX_DIFF_BYTES, Piece, word_diff};
    let old = "слово ".repeat(MAX_DIFF_BYTES / 4);
    let new = "другое ".repeat(MAX_DIFF_BYTES / 4);
    assert_eq!(word_diff(&old, &new), vec![Piece::Inserted(new.clone())]);
    // Short texts are still compared word by word.
    let d = word_diff("воду дадут завтра", "воду дадут сегодня");
    assert!(d.contains(&Piece::Inserted("сегодня".into())), "{d:?}");
}
