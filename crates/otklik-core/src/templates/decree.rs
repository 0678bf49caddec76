//! What the regulation adds to the notices: officials addressed by name and patronymic,
//! the coordinator named in the signature, who waits on whom, and the coordinator's notice
//! of every new case (cl. 5: she distributes).

use super::doc::Block;
use super::{Parts, View, headline, keyword, tr};
use crate::config::Language;
use crate::reply::keyword::Word;
use crate::workflow::State;

/// "Уважаемая Татьяна Михайловна!" for "Шишова Татьяна Михайловна" (the patronymic tells
/// the form of address); "Здравствуйте, Балакирева О.В.!" when the name is not
/// surname, first name and patronymic.
pub fn salutation(lang: Language, full_name: &str) -> String {
    let parts: Vec<&str> = full_name.split_whitespace().collect();
    if let [_, first, patronymic] = parts.as_slice() {
        let p = patronymic.to_lowercase();
        let female = p.ends_with("вна") || p.ends_with("чна") || p.ends_with("кызы");
        let male = p.ends_with("вич") || p.ends_with("ич") || p.ends_with("оглы");
        if (female || male) && !first.contains('.') {
            return match lang {
                Language::Ru if female => format!("Уважаемая {first} {patronymic}!"),
                Language::Ru => format!("Уважаемый {first} {patronymic}!"),
                Language::En => format!("Dear {first} {patronymic},"),
            };
        }
    }
    match lang {
        Language::Ru => format!("Здравствуйте, {full_name}!"),
        Language::En => format!("Dear {full_name},"),
    }
}

/// The recipient's name (and position), when the config knows them.
pub fn recipient_name(view: &View<'_>) -> Option<(String, String)> {
    let people = &view.config.people;
    if view.recipient == people.coordinator.email {
        return Some((
            people.coordinator.name.clone(),
            people.coordinator.position.clone(),
        ));
    }
    if let Some(e) = view.config.executor_by_email(view.recipient) {
        return Some((e.name.clone(), e.position.clone()));
    }
    people
        .supervisor
        .as_ref()
        .filter(|s| s.email == view.recipient)
        .map(|s| (s.name.clone(), s.position.clone()))
}

/// The salutation line for the recipient, with a blank line after; empty for an address
/// without a name (the publisher).
pub fn greeting(view: &View<'_>) -> String {
    match recipient_name(view) {
        Some((name, _)) => format!("{}\n\n", salutation(view.lang(), &name)),
        None => String::new(),
    }
}

/// "Name, position" or the name alone.
fn name_position(name: &str, position: &str) -> String {
    if position.is_empty() {
        name.to_string()
    } else {
        format!("{name}, {position}")
    }
}

/// The signature: the coordinator by name and position, and her address.
pub fn signature(view: &View<'_>) -> String {
    let lang = view.lang();
    let c = &view.config.people.coordinator;
    format!(
        "{}: {} <{}>\n",
        tr(lang, "Координатор", "Coordinator"),
        name_position(&c.name, &c.position),
        c.email
    )
}

/// Who waits on whom for what, by name.
pub fn waiting(view: &View<'_>) -> String {
    let lang = view.lang();
    let case = view.case;
    let c = &view.config.people.coordinator;
    let coordinator = name_position(&c.name, &c.position);
    let executor = case
        .executor
        .as_deref()
        .and_then(|id| view.config.executor(id))
        .map(|e| name_position(&e.name, &e.position));
    let line = |owes: &str, what: &str, waits: &str| {
        format!(
            "{}: {waits} {} {owes}: {what}.\n",
            tr(lang, "Кто кого ждёт", "Who waits on whom"),
            tr(lang, "ждёт от", "waits on"),
        )
    };
    let executor_or = |x: &Option<String>| {
        x.clone()
            .unwrap_or_else(|| tr(lang, "(исполнитель не назначен)", "(no executor)").to_string())
    };
    match case.state {
        State::Unassigned => line(
            &coordinator,
            tr(lang, "назначения исполнителя", "an executor to be assigned"),
            tr(lang, "дело", "the case"),
        ),
        State::Assigned | State::Rework | State::InterimApproved => line(
            &executor_or(&executor),
            if case.state == State::InterimApproved {
                tr(lang, "окончательного проекта ответа", "the final draft")
            } else {
                tr(lang, "проекта ответа", "a draft answer")
            },
            &coordinator,
        ),
        State::DraftSubmitted => line(
            &coordinator,
            tr(lang, "согласования проекта", "approval of the draft"),
            &executor_or(&executor),
        ),
        State::Approved => line(
            &executor_or(&executor),
            tr(
                lang,
                "публикации ответа (ОПУБЛИКОВАНО)",
                "posting of the answer (PUBLISHED)",
            ),
            &coordinator,
        ),
        State::Closed | State::Excluded => String::new(),
    }
}

/// To the coordinator: a new case has opened and gone to this executor (cl. 5: she may
/// redistribute it with НАЗНАЧИТЬ).
pub(super) fn case_opened(view: &View<'_>) -> Parts {
    let lang = view.lang();
    let case = view.case;
    let executor = case
        .executor
        .as_deref()
        .and_then(|id| view.config.executor(id));
    let who = executor
        .map(|e| name_position(&e.name, &e.position))
        .unwrap_or_else(|| "-".into());
    let how = case
        .history
        .iter()
        .rev()
        .find(|h| h.event.as_str() == "assigned")
        .map(|h| h.detail.clone())
        .unwrap_or_default();
    let subject = format!(
        "{} {}: {} → {}",
        view.tag(),
        tr(lang, "Новое дело", "New case"),
        headline(case),
        executor.map(|e| e.id.as_str()).unwrap_or("-")
    );
    let subject = match &case.possible_repeat {
        Some(p) if case.repeat_of.is_none() => format!(
            "{subject} ({} {})",
            tr(lang, "возможный повтор", "possible repeat of"),
            p.of
        ),
        _ => subject,
    };
    let subject = match &case.possible_abuse {
        Some(_) if case.state != crate::workflow::State::Excluded => format!(
            "{subject} ({})",
            tr(lang, "возможно, п. 12", "possibly clause 12")
        ),
        _ => subject,
    };
    let mut d = view.doc(&subject);
    d.lead = Some(view.info(&format!(
        "{}: {who}",
        tr(
            lang,
            "Новое сообщение открыто и передано исполнителю",
            "A new post is open and went to"
        )
    )));
    d.instruction = Some(
        tr(
            lang,
            "Если исполнитель выбран неверно, ответьте на это письмо: НАЗНАЧИТЬ <исполнитель>.",
            "If this is the wrong executor, reply: ASSIGN <executor>.",
        )
        .to_string(),
    );
    if !how.is_empty() {
        d.push(Block::Text(format!("({how})")));
    }
    view.possible_repeat(&mut d);
    view.possible_abuse(&mut d);
    d.push(view.fields());
    d.push(view.deadlines());
    d.push(view.post_text());
    d.buttons.push(view.button(
        keyword(lang, Word::Assign),
        tr(lang, "Назначить другого", "Assign another"),
        tr(
            lang,
            "после слова — код исполнителя из списка ниже",
            "after the keyword, the executor's id from the list below",
        ),
    ));
    d.push(Block::List {
        title: tr(lang, "Исполнители", "Executors").to_string(),
        items: view.executor_list(),
    });
    Parts {
        subject,
        doc: d,
        attachments: Vec::new(),
    }
}
