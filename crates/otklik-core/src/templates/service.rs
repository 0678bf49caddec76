//! The self-service answers (МОИ ДЕЛА, absence) and the mails about no case.

use chrono::{DateTime, Utc};

use super::doc::{Block, Button, Doc, Lead, Tone};
use super::{
    Case, Config, DeadlineKind, Language, Rendered, deadline_name, footer, headline, hours_left,
    local_time, mailto, state_label, tr,
};

/// One open case in a `МОИ ДЕЛА` answer.
pub struct QueueItem<'a> {
    /// The open case.
    pub case: &'a Case,
    /// The recipient's action code for this case.
    pub code: String,
}

/// The earliest open deadline of a case (for ordering: overdue first).
pub fn next_deadline(case: &Case) -> Option<(DeadlineKind, DateTime<Utc>)> {
    [
        DeadlineKind::Draft,
        DeadlineKind::Answer,
        DeadlineKind::Rework,
        DeadlineKind::Final,
    ]
    .into_iter()
    .filter_map(|k| crate::workflow::open_deadline(case, k).map(|t| (k, t)))
    .min_by_key(|(_, t)| *t)
}

/// `МОИ ДЕЛА` / `MY CASES`: the open cases, overdue first; grouped by executor for the
/// coordinator and the supervisor. Each case is a button that starts a reply about it.
pub fn render_queue(
    config: &Config,
    items: &[QueueItem<'_>],
    grouped: bool,
    now: DateTime<Utc>,
    service_addr: &str,
) -> Rendered {
    let lang = config.service.language;
    let subject = format!("{} ({})", tr(lang, "Мои дела", "My cases"), items.len());
    let mut d = Doc::new(lang == Language::Ru, subject.clone(), footer(lang));
    let overdue = items
        .iter()
        .filter(|i| next_deadline(i.case).is_some_and(|(_, t)| t <= now))
        .count();
    d.lead = Some(Lead {
        ask: match lang {
            Language::Ru => format!("Открытых дел: {}, просрочено: {overdue}", items.len()),
            Language::En => format!("Open cases: {}, overdue: {overdue}", items.len()),
        },
        due: None,
        tone: if overdue > 0 { Tone::Late } else { Tone::Info },
    });
    if items.is_empty() {
        d.push(Block::Text(
            tr(lang, "Открытых дел нет.", "No open cases.").to_string(),
        ));
    } else {
        d.instruction = Some(
            tr(
                lang,
                "Чтобы ответить по делу, нажмите его кнопку (или ответьте, оставив в теме [дело] и код).",
                "To act on a case, use its button (or write with [case] and the code in the subject).",
            )
            .to_string(),
        );
    }
    let mut groups: Vec<(String, Vec<&QueueItem<'_>>)> = Vec::new();
    for item in items {
        let key = if grouped {
            item.case.executor.clone().unwrap_or_else(|| "-".into())
        } else {
            String::new()
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(item),
            None => groups.push((key, vec![item])),
        }
    }
    for (key, group) in groups {
        let title = if grouped {
            let who = config
                .executor(&key)
                .map(|e| format!("{} ({})", e.name, e.id))
                .unwrap_or_else(|| tr(lang, "не назначены", "unassigned").to_string());
            format!("== {who}: {}", group.len())
        } else {
            String::new()
        };
        let mut lines = Vec::new();
        for item in group {
            let (line, button) = queue_entry(config, item, now, service_addr);
            lines.push(line);
            d.buttons.push(button);
        }
        d.push(Block::List {
            title,
            items: lines,
        });
    }
    d.actions_title = Some(tr(lang, "Ответить по делу:", "Act on a case:").to_string());
    Rendered {
        subject,
        text: d.text(),
        html: Some(d.html()),
        attachments: Vec::new(),
        calendar: None,
    }
}

/// One open case of the queue: its line in the list and its button.
fn queue_entry(
    config: &Config,
    item: &QueueItem<'_>,
    now: DateTime<Utc>,
    service_addr: &str,
) -> (String, Button) {
    let lang = config.service.language;
    let c = item.case;
    let (due, late) = match next_deadline(c) {
        Some((kind, t)) => (
            format!(
                "{} {}, {}",
                deadline_name(lang, kind),
                local_time(config, t),
                hours_left(config, now, t)
            ),
            t <= now,
        ),
        None => ("-".into(), false),
    };
    let mark = if late {
        tr(lang, " — ПРОСРОЧЕНО", " — OVERDUE")
    } else {
        ""
    };
    let line = format!(
        "[{}] {} | {} | {}{mark}",
        c.id,
        state_label(lang, c.state),
        headline(c),
        due
    );
    let button = Button {
        keyword: c.id.clone(),
        label: headline(c),
        explain: format!("{}; {due}{mark}", state_label(lang, c.state)),
        href: mailto(service_addr, &format!("[{}] #{}", c.id, item.code), ""),
    };
    (line, button)
}

/// A mail about no case: one line on top, the body under it.
fn simple(config: &Config, subject: String, body: String) -> Rendered {
    let lang = config.service.language;
    let mut d = Doc::new(lang == Language::Ru, subject.clone(), footer(lang));
    d.lead = Some(Lead {
        ask: subject.clone(),
        due: None,
        tone: Tone::Info,
    });
    d.push(Block::Text(body));
    Rendered {
        subject,
        text: d.text(),
        html: Some(d.html()),
        attachments: Vec::new(),
        calendar: None,
    }
}

/// Answers to `ОТСУТСТВУЮ ДО` / `НА МЕСТЕ`, to the executor or (about them) the coordinator.
pub fn render_absence(
    config: &Config,
    executor: &crate::config::Executor,
    until: Option<chrono::NaiveDate>,
    for_coordinator: bool,
) -> Rendered {
    let lang = config.service.language;
    let deputy = executor
        .deputy
        .as_deref()
        .and_then(|d| config.executor(d))
        .map(|d| d.name.clone())
        .unwrap_or_default();
    let (subject, text) = match (until, for_coordinator) {
        (Some(d), false) => (
            format!(
                "{} {}",
                tr(lang, "Отсутствие записано до", "Absence recorded until"),
                d.format("%d.%m.%Y")
            ),
            format!(
                "{} {}. {}: {deputy}.\n{}\n",
                tr(lang, "Отсутствие записано по", "Absence recorded until"),
                d.format("%d.%m.%Y"),
                tr(
                    lang,
                    "Новые дела получит заместитель",
                    "New cases go to your deputy"
                ),
                tr(
                    lang,
                    "Открытые дела остаются за вами, пока координатор их не переназначит. Вернувшись раньше, напишите: НА МЕСТЕ.",
                    "Open cases stay yours unless the coordinator reassigns them. Back earlier? Write: BACK."
                )
            ),
        ),
        (Some(d), true) => (
            format!(
                "{}: {} {} {}",
                tr(lang, "Отсутствие", "Absence"),
                executor.name,
                tr(lang, "до", "until"),
                d.format("%d.%m.%Y")
            ),
            format!(
                "{} {} ({}) {} {}. {}: {deputy}.\n",
                tr(lang, "Исполнитель", "Executor"),
                executor.name,
                executor.id,
                tr(lang, "отсутствует по", "is away until"),
                d.format("%d.%m.%Y"),
                tr(
                    lang,
                    "Новые дела передаются заместителю",
                    "New cases go to the deputy"
                )
            ),
        ),
        (None, false) => (
            tr(lang, "С возвращением", "Welcome back").to_string(),
            tr(
                lang,
                "Отсутствие снято: новые дела снова приходят вам.\n",
                "Absence ended: new cases come to you again.\n",
            )
            .to_string(),
        ),
        (None, true) => (
            format!("{}: {}", tr(lang, "На месте", "Back"), executor.name),
            format!(
                "{} {} ({}) {}\n",
                tr(lang, "Исполнитель", "Executor"),
                executor.name,
                executor.id,
                tr(lang, "снова на месте.", "is back.")
            ),
        ),
    };
    simple(config, subject, text)
}

/// The coordinator away until a date (`Some`) or back (`None`): to her (`for_deputy`
/// false) or to her deputy.
pub fn render_coordinator_absence(
    config: &Config,
    until: Option<chrono::NaiveDate>,
    for_deputy: bool,
) -> Rendered {
    let lang = config.service.language;
    let name = &config.people.coordinator.name;
    let (subject, text) = match (until, for_deputy) {
        (Some(d), false) => (
            format!(
                "{} {}",
                tr(lang, "Отсутствие записано по", "Absence recorded until"),
                d.format("%d.%m.%Y")
            ),
            tr(
                lang,
                "До этого дня запросы на согласование, новые дела и напоминания получает ваш заместитель; его СОГЛАСОВАНО, ДОРАБОТАТЬ и НАЗНАЧИТЬ действуют как ваши. Вернувшись раньше, напишите: НА МЕСТЕ — ожидающие согласования проекты придут вам снова.",
                "Until then approval requests, new cases and reminders go to your deputy, whose APPROVE, REWORK and ASSIGN count as yours. Back earlier? Write: BACK, and the drafts waiting for approval come to you again.",
            )
            .to_string(),
        ),
        (Some(d), true) => (
            format!(
                "{}: {name} {} {}",
                tr(lang, "Замещение координатора", "Standing in for the coordinator"),
                tr(lang, "отсутствует по", "away until"),
                d.format("%d.%m.%Y")
            ),
            tr(
                lang,
                "На это время вы согласуете проекты ответов, назначаете и закрываете дела вместо координатора: запросы будут приходить вам.",
                "Until then you approve drafts, assign and close cases in the coordinator's stead: the requests come to you.",
            )
            .to_string(),
        ),
        (None, false) => (
            tr(lang, "Вы снова на месте", "You are back").to_string(),
            tr(
                lang,
                "Запросы на согласование, новые дела и напоминания снова приходят вам; проекты, ожидающие согласования, отправлены вам повторно.",
                "Approval requests, new cases and reminders come to you again; the drafts waiting for approval have been sent to you again.",
            )
            .to_string(),
        ),
        (None, true) => (
            format!(
                "{}: {name}",
                tr(lang, "Координатор снова на месте", "The coordinator is back")
            ),
            tr(
                lang,
                "Замещение окончено: запросы на согласование и новые дела снова идут координатору.",
                "Standing in is over: approval requests and new cases go to the coordinator again.",
            )
            .to_string(),
        ),
    };
    simple(config, subject, text)
}

/// A short refusal of a self-service request.
pub fn render_service_refusal(config: &Config, reason: &str) -> Rendered {
    let lang = config.service.language;
    simple(
        config,
        tr(lang, "Письмо не принято", "Your message was not accepted").to_string(),
        format!("{reason}."),
    )
}

/// To the coordinator: a message over `imap.max_message_size` was set aside unread.
pub fn render_oversized(
    config: &Config,
    from: &str,
    subject: &str,
    size: u64,
    limit: u64,
) -> Rendered {
    let lang = config.service.language;
    let mb = |n: u64| format!("{:.1}", n as f64 / 1_048_576.0);
    let mailbox = &config.imap.rejected_mailbox;
    simple(
        config,
        tr(lang, "Письмо слишком большое", "A message was too large").to_string(),
        match lang {
            Language::Ru => format!(
                "Письмо размером {} МБ больше предела {} МБ (imap.max_message_size); оно не прочитано \
                 и перемещено в папку «{mailbox}».\n\nОт: {from}\nТема: {subject}\n\n\
                 Если это уведомление о сообщении, перешлите его без вложений или заведите дело вручную.\n",
                mb(size),
                mb(limit)
            ),
            Language::En => format!(
                "A message of {} MB is over the limit of {} MB (imap.max_message_size); it was not read \
                 and is in the folder \"{mailbox}\".\n\nFrom: {from}\nSubject: {subject}\n\n\
                 If it is a notification, forward it without attachments.\n",
                mb(size),
                mb(limit)
            ),
        },
    )
}

/// To the coordinator: a message was set aside — it took the service down while it was
/// read, or a stored record it needs is damaged (`reason` says which).
pub fn render_set_aside(config: &Config, from: &str, subject: &str, reason: &str) -> Rendered {
    let lang = config.service.language;
    let mailbox = &config.imap.rejected_mailbox;
    simple(
        config,
        tr(
            lang,
            "Письмо отложено: служба не смогла его прочитать",
            "A message was set aside: the service could not read it",
        )
        .to_string(),
        match lang {
            Language::Ru => format!(
                "Служба не смогла обработать это письмо ({reason}). Оно больше не читается и \
                 перемещено в папку «{mailbox}».\n\nОт: {from}\nТема: {subject}\n\n\
                 Если это уведомление о сообщении, заведите дело вручную и сообщите разработчикам.\n"
            ),
            Language::En => format!(
                "The service could not handle this message ({reason}). It is not read again and \
                 is in the folder \"{mailbox}\".\n\nFrom: {from}\nSubject: {subject}\n\n\
                 If it is a notification, open the case by hand and tell the developers.\n"
            ),
        },
    )
}

/// To a configured person: a message from their address asks for an action that carries
/// no proof of its own (`what`); it is taken only if they answer this mail. The subject
/// carries the confirmation's number and code ([`crate::sender::token_text`]).
pub fn render_confirmation(
    config: &Config,
    what: &str,
    nonce: u64,
    code: &str,
    service_addr: &str,
) -> Rendered {
    let lang = config.service.language;
    let token = crate::sender::token_text(lang == Language::En, nonce, code);
    let subject = format!(
        "{}: {what} {token}",
        tr(lang, "Подтвердите", "Please confirm")
    );
    let days = crate::sender::CONFIRM_VALID_DAYS;
    let body = match lang {
        Language::Ru => format!(
            "С вашего адреса пришло письмо: «{what}».\n\n             Адрес отправителя в письме может подставить кто угодно, поэтому служба выполнит \
             это, только если вы подтвердите: ответьте на это письмо (текст ответа не важен, \
             тему оставьте) в течение {days} дней.\n\n             Если вы этого письма не посылали, ничего не делайте: ничего не изменится."
        ),
        Language::En => format!(
            "A message from your address asks: \"{what}\".\n\n             Anyone can write any sender address, so the service does it only once you \
             confirm: reply to this mail (any text; keep the subject) within {days} days.\n\n             If you did not send that message, do nothing: nothing changes."
        ),
    };
    let mut d = Doc::new(lang == Language::Ru, subject.clone(), footer(lang));
    d.lead = Some(Lead {
        ask: tr(
            lang,
            "Подтвердите ответом на это письмо",
            "Confirm by replying to this mail",
        )
        .to_string(),
        due: None,
        tone: Tone::Info,
    });
    d.push(Block::Text(body));
    d.buttons.push(Button {
        keyword: tr(lang, "ПОДТВЕРЖДАЮ", "CONFIRM").to_string(),
        label: tr(lang, "Подтвердить", "Confirm").to_string(),
        explain: String::new(),
        href: mailto(service_addr, &format!("Re: {subject}"), ""),
    });
    Rendered {
        subject,
        text: d.text(),
        html: Some(d.html()),
        attachments: Vec::new(),
        calendar: None,
    }
}
