use chrono::{DateTime, Utc};

use super::{
    Case, Config, DeadlineKind, Language, Rendered, deadline_name, headline, local_time, mailto, tr,
};

/// One open case in a `МОИ ДЕЛА` answer.
pub struct QueueItem<'a> {
    pub case: &'a Case,
    /// The recipient's action code for this case.
    pub code: String,
}

fn html_escape(s: &str) -> String {
    crate::html::escape(s)
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
/// coordinator and the supervisor.
pub fn render_queue(
    config: &Config,
    items: &[QueueItem<'_>],
    grouped: bool,
    now: DateTime<Utc>,
    service_addr: &str,
) -> Rendered {
    let lang = config.service.language;
    let mut text = String::new();
    let mut html = String::from("<html><body>");
    if items.is_empty() {
        text.push_str(tr(lang, "Открытых дел нет.\n", "No open cases.\n"));
        html.push_str(&format!(
            "<p>{}</p>",
            tr(lang, "Открытых дел нет.", "No open cases.")
        ));
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
        if grouped {
            let who = config
                .executor(&key)
                .map(|e| format!("{} ({})", e.name, e.id))
                .unwrap_or_else(|| tr(lang, "не назначены", "unassigned").to_string());
            text.push_str(&format!("\n== {who}: {}\n", group.len()));
            html.push_str(&format!("<h3>{}: {}</h3>", html_escape(&who), group.len()));
        }
        html.push_str(&format!(
            "<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            tr(lang, "Дело", "Case"),
            tr(lang, "Состояние", "State"),
            tr(lang, "Тема", "Topic"),
            tr(lang, "Ближайший срок", "Next deadline"),
            tr(lang, "Ответить", "Reply")
        ));
        for item in group {
            let c = item.case;
            let (due, overdue) = match next_deadline(c) {
                Some((kind, t)) => (
                    format!("{} {}", deadline_name(lang, kind), local_time(config, t)),
                    t <= now,
                ),
                None => ("-".into(), false),
            };
            let mark = if overdue {
                tr(lang, " — ПРОСРОЧЕНО", " — OVERDUE")
            } else {
                ""
            };
            let link = mailto(service_addr, &format!("[{}] #{}", c.id, item.code), "");
            text.push_str(&format!(
                "[{}] {} | {} | {}{mark}\n    {}\n",
                c.id,
                c.state.as_str(),
                headline(c),
                due,
                link
            ));
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td><a href=\"{}\">{}</a></td></tr>",
                html_escape(&c.id),
                c.state.as_str(),
                html_escape(&headline(c)),
                html_escape(&due),
                html_escape(mark),
                html_escape(&link),
                tr(lang, "ответить", "reply")
            ));
        }
        html.push_str("</table>");
    }
    html.push_str("</body></html>");
    Rendered {
        subject: format!("{} ({})", tr(lang, "Мои дела", "My cases"), items.len()),
        text,
        html: Some(html),
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
    Rendered {
        subject,
        text,
        html: None,
        attachments: Vec::new(),
        calendar: None,
    }
}

/// A short refusal of a self-service request.
pub fn render_service_refusal(config: &Config, reason: &str) -> Rendered {
    let lang = config.service.language;
    Rendered {
        subject: tr(lang, "Письмо не принято", "Your message was not accepted").to_string(),
        text: format!("{reason}.\n"),
        html: None,
        attachments: Vec::new(),
        calendar: None,
    }
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
    Rendered {
        subject: tr(lang, "Письмо слишком большое", "A message was too large").to_string(),
        text: match lang {
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
        html: None,
        attachments: Vec::new(),
        calendar: None,
    }
}
