//! Reminders and escalations about a deadline, to the executor, the coordinator or the
//! supervisor.

use super::decree;
use super::doc::{Block, Lead, Tone};
use super::{
    DateTime, DeadlineKind, Parts, Utc, View, capitalize, deadline_name, due_phrase, headline,
    hours_minutes, local_time, state_label, tr,
};
use crate::config::Language;

/// A reminder or escalation about a deadline.
pub(super) fn deadline(
    view: &View<'_>,
    kind: DeadlineKind,
    deadline: DateTime<Utc>,
    late: bool,
) -> Parts {
    let lang = view.lang();
    let case = view.case;
    let name = deadline_name(lang, kind);
    let overdue = view.now >= deadline;
    let (word, status) = word_and_status(view, deadline, overdue);
    let subject = format!(
        "{} {word}: {name} {} — {}",
        view.tag(),
        local_time(view.config, deadline),
        headline(case)
    );
    let mut d = view.doc(&subject);
    // Her deputy, who gets her reminders while she is away, acts as she would.
    let holds_it = case
        .executor
        .as_deref()
        .and_then(|id| view.config.executor(id))
        .is_some_and(|e| e.email == view.recipient);
    let coordinator = view.recipient == view.config.people.coordinator.email
        || (view.config.coordinator_deputy().as_deref() == Some(view.recipient) && !holds_it);
    let executor = case
        .executor
        .as_deref()
        .and_then(|id| view.config.executor(id));
    let is_executor = executor.is_some_and(|e| e.email == view.recipient);
    let publishing = case.awaiting_publication.is_some();
    let ask = ask(lang, coordinator, is_executor, publishing, kind);
    d.lead = Some(Lead {
        ask: ask.to_string(),
        due: Some(due_phrase(view.config, view.now, kind, deadline)),
        tone: if overdue { Tone::Late } else { Tone::Ask },
    });
    let mut t = format!(
        "{}: {}; {status}.",
        capitalize(name),
        local_time(view.config, deadline)
    );
    if late && !overdue {
        t.push_str(tr(
            lang,
            "\n(Напоминание отправлено с опозданием.)",
            "\n(This reminder is late.)",
        ));
    }
    t.push('\n');
    t.push_str(&rule_words(view, kind));
    t.push_str(&format!(
        "\n{}: {}",
        tr(lang, "Состояние дела", "Case state"),
        state_label(lang, case.state)
    ));
    let waiting = decree::waiting(view);
    if !waiting.is_empty() {
        t.push('\n');
        t.push_str(waiting.trim_end());
    }
    d.push(Block::Text(t));
    if let Some(e) = executor {
        d.push(Block::Fields(vec![(
            tr(lang, "Исполнитель", "Executor").to_string(),
            format!("{} ({})", e.name, e.email),
        )]));
    }
    d.push(view.post_text());
    d.push(view.fields());
    if publishing {
        view.publish_actions(&mut d);
    } else if coordinator {
        view.coordinator_actions(&mut d);
    } else if is_executor {
        view.executor_actions(&mut d);
    }
    Parts {
        subject,
        doc: d,
        attachments: Vec::new(),
    }
}

/// The subject's word for the reminder (overdue or not) and how much working time is left
/// or has run over.
fn word_and_status(
    view: &View<'_>,
    deadline: DateTime<Utc>,
    overdue: bool,
) -> (&'static str, String) {
    let lang = view.lang();
    let cal = &view.config.calendar;
    if overdue {
        (
            tr(lang, "Просрочено", "Overdue"),
            format!(
                "{} {}",
                tr(lang, "просрочено на", "overdue by"),
                hours_minutes(lang, cal.working_time_between(deadline, view.now))
            ),
        )
    } else {
        (
            tr(lang, "Напоминание", "Reminder"),
            format!(
                "{} {}",
                tr(lang, "осталось рабочего времени:", "working time left:"),
                hours_minutes(lang, cal.working_time_between(view.now, deadline))
            ),
        )
    }
}

/// What the reminder asks of its reader: the coordinator decides, the executor sends the
/// draft (or the reworked draft, or posts the approved answer), anyone else keeps an eye.
fn ask(
    lang: Language,
    coordinator: bool,
    is_executor: bool,
    publishing: bool,
    kind: DeadlineKind,
) -> &'static str {
    match (coordinator, is_executor, kind) {
        (false, true, _) if publishing => tr(
            lang,
            "Опубликуйте согласованный ответ",
            "Post the approved answer",
        ),
        (true, _, _) => tr(
            lang,
            "Проверьте дело и примите решение",
            "Check the case and decide",
        ),
        (_, true, DeadlineKind::Rework) => tr(
            lang,
            "Пришлите доработанный проект ответа",
            "Send the reworked draft",
        ),
        (_, true, DeadlineKind::Final) => tr(
            lang,
            "Пришлите окончательный проект ответа",
            "Send the final draft answer",
        ),
        (_, true, _) => tr(lang, "Пришлите проект ответа", "Send the draft answer"),
        _ => tr(
            lang,
            "Проконтролируйте срок по делу",
            "Keep an eye on the case's deadline",
        ),
    }
}

/// The rule behind a deadline, with the configured duration (for the case's category):
/// «Окончательный проект — в течение 7 рабочих дней после размещения промежуточного ответа
/// (п. 9).»
fn rule_words(view: &View<'_>, kind: DeadlineKind) -> String {
    use crate::config::Language;
    let lang = view.lang();
    let set = view
        .config
        .deadlines
        .for_category(view.case.notification.category.as_deref());
    let w = |d| super::work_duration_words(lang, d);
    match (lang, kind) {
        (Language::Ru, DeadlineKind::Draft) => format!(
            "Проект ответа — координатору за {} до срока ответа (п. 7).",
            w(set.draft_before_answer)
        ),
        (Language::Ru, DeadlineKind::Answer) => format!(
            "Ответ — подготовлен и размещён в течение {} после выявления (п. 6).",
            w(set.answer)
        ),
        (Language::Ru, DeadlineKind::Rework) => format!(
            "Доработанный проект — в течение {} после возврата (п. 8).",
            w(set.rework)
        ),
        (Language::Ru, DeadlineKind::Final) => format!(
            "Окончательный проект ответа — координатору в течение {} после размещения промежуточного ответа (п. 9).",
            w(set.final_after_interim)
        ),
        (Language::En, DeadlineKind::Draft) => format!(
            "The draft reaches the coordinator {} before the answer deadline (cl. 7).",
            w(set.draft_before_answer)
        ),
        (Language::En, DeadlineKind::Answer) => format!(
            "The answer is prepared and posted within {} of detection (cl. 6).",
            w(set.answer)
        ),
        (Language::En, DeadlineKind::Rework) => format!(
            "The reworked draft is due within {} of the return (cl. 8).",
            w(set.rework)
        ),
        (Language::En, DeadlineKind::Final) => format!(
            "The final draft reaches the coordinator within {} of the interim answer's posting (cl. 9).",
            w(set.final_after_interim)
        ),
    }
}
