//! The README's pictures, made by the product itself (`scripts/screenshots`): with the
//! shipped `config/otklik.toml` (its people, rules and starter routing model), an archive
//! of earlier approved answers (the labelled archive of the core's tests) and a new
//! notification about a burst pipe, the service's own `decide` opens the case and its own
//! composer builds the forward to the executor; the HTML part of that message, as sent,
//! is written to `OUT/forward-with-earlier-answers.html`. Then a month of posts is routed,
//! drafted, declined and reassigned through the same core, and the routing report over
//! them (what `otklik routing-report` prints) is written to `OUT/routing-report.txt`.
//! Last, another author reports the same pipe: the coordinator's mail about that case,
//! flagged as a possible repeat with its `ПОВТОР` button, goes to `OUT/possible-repeat.html`.
//!
//! Usage: `cargo run --example screenshot_forward -- OUT` (from the repository's root).
//! Fixed dates: the pictures do not change from one run to the next.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone, Utc};
use otklik_core::archive::{Archive, Entry, MAX_OFFERED, Query, Similar, import};
use otklik_core::auth::Secret;
use otklik_core::compose;
use otklik_core::config::{Config, SecretCheck};
use otklik_core::decide::{self, Decision, Facts, Setting};
use otklik_core::inbound::Inbound;
use otklik_core::routing::Absences;
use otklik_core::workflow::{self, Action, Case, Ctx, DraftKind, Event, NoticeKind, Role};

type Fail = Box<dyn std::error::Error>;

/// When the burst pipe is reported: Tuesday 1 December 2026, 10:15 in Barnaul.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 3, 15, 0).unwrap()
}

/// A notification as the monitoring platform mails it (the plain format).
fn notification(
    id: u32,
    at: DateTime<Utc>,
    topic: &str,
    place: &str,
    author: &str,
    text: &str,
) -> Result<Inbound, Fail> {
    let msk = at.with_timezone(&chrono_tz::Europe::Moscow);
    let raw = format!(
        "From: Мониторинг <robot@monitoring.example>\r\nTo: otklik@example.ru\r\n\
         Subject: =?utf-8?b?{}?=\r\nMessage-ID: <{id}@monitoring.example>\r\n\
         Date: {}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n\
         Поступил новый инцидент для отработки.\r\n\r\nНомер инцидента: {id}\r\n\
         Дата выявления: {} (МСК)\r\nРубрика: {topic}\r\nЛокация: {place}\r\n\
         Категория важности: Средняя\r\nИсточник: ВКонтакте\r\nАвтор: {author}\r\n\
         Ссылка: https://vk.com/wall-1_{id}\r\n\r\nТекст сообщения:\r\n{text}\r\n",
        base64(&format!("Новый инцидент №{id}")),
        at.to_rfc2822(),
        msk.format("%d.%m.%Y %H:%M"),
    );
    Ok(Inbound::parse(raw.as_bytes())?)
}

fn base64(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &x)| acc | (u32::from(x) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The archive as the service has it: the index in memory, the entries where the index
/// finds them (the service's store; here a map).
#[derive(Default)]
struct Earlier {
    index: Archive,
    entries: HashMap<String, Entry>,
}

impl Earlier {
    fn add(&mut self, e: Entry) {
        self.index.add(e.clone());
        self.entries.insert(e.id.clone(), e);
    }

    fn similar(&self, q: &Query, k: usize) -> Vec<Similar> {
        self.index
            .similar(q, k)
            .into_iter()
            .filter_map(|h| Some(Similar::of(self.entries.get(&h.id)?, h.score)))
            .collect()
    }
}

/// The service's decision on a notification, with the facts a store holding `cases` and
/// the archive would give.
fn open(
    config: &Config,
    secret: &Secret,
    archive: &Earlier,
    cases: &[Case],
    m: &Inbound,
    at: DateTime<Utc>,
) -> Result<(Case, Vec<workflow::Notice>), Fail> {
    let q = decide::questions(m, config, at);
    let facts = Facts {
        similar: q
            .similar_to
            .as_ref()
            .map(|s| archive.similar(s, MAX_OFFERED + 1))
            .unwrap_or_default(),
        next_case: cases.len() as u64 + 1,
        ..Facts::default()
    };
    let cx = Setting {
        config,
        secret,
        now: at,
        arrival: at,
        model: None,
    };
    match decide::decide(m, &facts, &cx) {
        Decision::Case { outcome, .. } => Ok((outcome.case, outcome.notices)),
        other => Err(format!("no case: {}", other.note()).into()),
    }
}

/// The first mail of the notices that `pick` chooses, built by the composer as the service
/// sends it; its HTML part.
fn mail_html(
    config: &Config,
    secret: &Secret,
    case: &Case,
    notices: &[workflow::Notice],
    pick: fn(&NoticeKind) -> bool,
) -> Result<String, Fail> {
    let forward: Vec<workflow::Notice> = notices
        .iter()
        .filter(|n| pick(&n.kind))
        .take(1)
        .cloned()
        .collect();
    let nonces: Vec<u64> = (101..).take(compose::mails_needed(&forward)).collect();
    let mails = compose::case_mails(config, secret, case, &forward, now(), &nonces)
        .map_err(|e| format!("compose: {e:?}"))?;
    let mail = mails.first().ok_or("no such mail")?;
    let parsed = mail_parser::MessageParser::default()
        .parse(&mail.raw)
        .ok_or("the composed mail does not parse")?;
    Ok(parsed.body_html(0).ok_or("no HTML part")?.into_owned())
}

/// Posts of a month: (topic, place, text, the executor who really answers it).
const MONTH: &[(&str, &str, &str, &str)] = &[
    (
        "ЖКХ",
        "с. Берёзовка",
        "Вторую неделю нет воды в кранах на улице Мира",
        "housing",
    ),
    (
        "Дороги",
        "с. Волчиха",
        "Ямы на Ленина, машины бьют подвеску",
        "housing",
    ),
    (
        "Прочее",
        "с. Волчиха",
        "Не вывозят мусор с площадки у магазина, всё переполнено",
        "housing",
    ),
    (
        "Обращения граждан",
        "с. Малиновка",
        "Школьный автобус опять не пришёл, дети пропустили уроки",
        "education",
    ),
    (
        "Прочее",
        "с. Правда",
        "Когда наконец отремонтируют дом культуры, крыша течёт",
        "culture",
    ),
    (
        "Жалоба",
        "с. Бор-Форпост",
        "Транспортный налог пришёл в двойном размере, куда обращаться",
        "finance",
    ),
    (
        "Образование",
        "с. Волчиха",
        "В садике нет мест, ребёнка не берут второй год",
        "education",
    ),
    (
        "",
        "с. Ключи",
        "Нужна архивная справка о стаже в колхозе за 1985 год",
        "archive",
    ),
    (
        "Прочее",
        "с. Волчиха",
        "Дорогу к ФАПу не чистят от снега, пожилым не пройти",
        "housing",
    ),
    (
        "Здравоохранение",
        "с. Селиверстово",
        "Дорогу к ФАПу замело, фельдшер не может проехать",
        "housing",
    ),
    (
        "Прочее",
        "с. Малиновка",
        "Сухую траву жгут возле домов, дым, может быть пожар",
        "emergency",
    ),
    (
        "Прочее",
        "с. Волчиха",
        "Стадион закрыт, где заниматься детям спортом",
        "sport",
    ),
    (
        "Обращения граждан",
        "с. Берёзовка",
        "Бродячие собаки у школы кидаются на детей",
        "economy",
    ),
    (
        "Прочее",
        "с. Правда",
        "Фонари на Центральной не горят, темно",
        "housing",
    ),
    (
        "Жалоба",
        "с. Волчиха",
        "Коровы гуляют по улицам, кто отвечает за выпас скота",
        "agro",
    ),
    (
        "Прочее",
        "с. Ключи",
        "Сколько стоит аренда земли под огород у администрации",
        "economy",
    ),
];

/// A month of cases played through the core: each routed as the service routes it; the
/// right executor drafts; a wrong one declines (НЕ МОЯ КОМПЕТЕНЦИЯ) and the coordinator
/// assigns the right one; one left to her is assigned by her.
fn month(config: &Config, secret: &Secret) -> Result<Vec<Case>, Fail> {
    let archive = Earlier::default();
    let absences = Absences::new();
    let coordinator = config.people.coordinator.email.clone();
    let mut cases: Vec<Case> = Vec::new();
    for (i, (topic, place, text, truth)) in MONTH.iter().enumerate() {
        let at = now() - Duration::days(28) + Duration::hours(40 * i as i64);
        let m = notification(
            9000 + i as u32,
            at,
            topic,
            place,
            &format!("Житель {i}"),
            text,
        )?;
        let (mut case, _) = open(config, secret, &archive, &cases, &m, at)?;
        let mut t = at;
        let mut step = |case: &Case, from: &str, role: Role, action: Action, text: &str| {
            t += Duration::minutes(30);
            let ctx = Ctx {
                config,
                absences: &absences,
                now: t,
            };
            let event = Event::Reply {
                from: from.to_string(),
                role,
                action,
                text: text.to_string(),
                attachments: Vec::new(),
            };
            workflow::apply(case, event, ctx).case
        };
        let email = |id: &str| {
            config
                .executor(id)
                .map(|e| e.email.clone())
                .unwrap_or_default()
        };
        match case.executor.clone() {
            Some(e) if e == *truth => {}
            Some(wrong) => {
                case = step(
                    &case,
                    &email(&wrong),
                    Role::Executor,
                    Action::Decline,
                    "не наш вопрос",
                );
                case = step(
                    &case,
                    &coordinator,
                    Role::Coordinator,
                    Action::Assign(truth.to_string()),
                    "",
                );
            }
            None => {
                case = step(
                    &case,
                    &coordinator,
                    Role::Coordinator,
                    Action::Assign(truth.to_string()),
                    "",
                );
            }
        }
        case = step(
            &case,
            &email(truth),
            Role::Executor,
            Action::Draft(DraftKind::Answer),
            "Здравствуйте! Вопрос решается, ответ подготовлен.",
        );
        cases.push(case);
    }
    Ok(cases)
}

fn main() -> Result<(), Fail> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/screenshots".into()),
    );
    std::fs::create_dir_all(&out)?;
    let config = otklik::config::load(Path::new("config/otklik.toml"), SecretCheck::Lenient)?;
    let secret = Secret::new(vec![7; 32]);

    // The archive: the administration's earlier answers, imported as `otklik archive import`
    // reads them.
    let rows = std::fs::read("crates/otklik-core/tests/data/archive/archive.jsonl")?;
    let mut archive = Earlier::default();
    for entry in import::parse(&rows, import::Format::Json)? {
        archive.add(entry);
    }
    let m = notification(
        4242,
        now(),
        "ЖКХ",
        "с. Малиновка, ул. Садовая",
        "Ирина Колесникова",
        "На Садовой в Малиновке опять прорвало трубу водопровода, вода течёт по дороге второй день. Когда починят?",
    )?;
    let (case, notices) = open(&config, &secret, &archive, &[], &m, now())?;
    if case.similar.is_empty() {
        return Err("the archive offered no earlier answer".into());
    }
    let html = mail_html(&config, &secret, &case, &notices, |k| {
        matches!(k, NoticeKind::NewCase { .. })
    })?;
    let page = out.join("forward-with-earlier-answers.html");
    std::fs::write(&page, html)?;
    eprintln!(
        "{}: {} to {}, {} earlier answers",
        page.display(),
        case.id,
        case.executor.as_deref().unwrap_or("-"),
        case.similar.len()
    );

    let cases = month(&config, &secret)?;
    let from = workflow::local_date(&config, now() - Duration::days(28));
    let to = workflow::local_date(&config, now());
    let report = otklik_core::learning::report::text(&otklik_core::learning::report::build(
        &config, &cases, from, to,
    ));
    let file = out.join("routing-report.txt");
    std::fs::write(&file, &report)?;

    // Another author, the same pipe, a day later: routed as usual, flagged to the coordinator.
    let mut first = case;
    first.approved = Some(workflow::Draft {
        kind: DraftKind::Answer,
        text: "Здравствуйте! Бригада МУП «Водоканал» заменила участок трубы на ул. Садовой, \
               подача воды восстановлена."
            .into(),
        by: config
            .executor("housing")
            .map(|e| e.email.clone())
            .unwrap_or_default(),
        at: now() + Duration::hours(5),
        attachments: Vec::new(),
    });
    let later = now() + Duration::days(1);
    let m = notification(
        4243,
        later,
        "Прочее",
        "село Малиновка, улица Садовая",
        "Пётр Лаптев",
        "Третий день на Садовой течёт вода из прорванной трубы, дорогу размыло. Водопровод кто-нибудь починит?",
    )?;
    let facts = Facts {
        same_place: vec![first.clone()],
        next_case: 2,
        ..Facts::default()
    };
    let cx = Setting {
        config: &config,
        secret: &secret,
        now: later,
        arrival: later,
        model: None,
    };
    let Decision::Case { outcome, .. } = decide::decide(&m, &facts, &cx) else {
        return Err("no second case".into());
    };
    if outcome.case.possible_repeat.is_none() {
        return Err("the second post was not flagged".into());
    }
    let html = mail_html(&config, &secret, &outcome.case, &outcome.notices, |k| {
        matches!(
            k,
            NoticeKind::CaseOpened | NoticeKind::NeedsAssignment { .. }
        )
    })?;
    std::fs::write(out.join("possible-repeat.html"), html)?;
    print!("{report}");
    Ok(())
}
