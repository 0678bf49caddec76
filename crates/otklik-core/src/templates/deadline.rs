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
    let cal = &view.config.calendar;
    let name = deadline_name(lang, kind);
    let overdue = view.now >= deadline;
    let (word, status) = if overdue {
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
    };
    let subject = format!(
        "{} {word}: {name} {} — {}",
        view.tag(),
        local_time(view.config, deadline),
        headline(case)
    );
    let mut d = view.doc(&subject);
    let coordinator = view.recipient == view.config.people.coordinator.email;
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
        (_, true, _) => tr(lang, "Пришлите проект ответа", "Send the draft answer"),
        _ => tr(
            lang,
            "Проконтролируйте срок по делу",
            "Keep an eye on the case's deadline",
        ),
    }
}
