//! The intake notices: a new case to its executor; to the coordinator, a post nobody was
//! found for, a clause 12 exclusion, a repeat without an earlier case.

use super::{Block, Doc, Parts, View, headline, keyword, tr};
use crate::reply::keyword::Word;
use crate::routing::Suggestion;

/// The case, to its (new) executor; `absent`: on behalf of this absent executor.
pub(super) fn new_case(view: &View<'_>, absent: &Option<String>) -> Parts {
    let lang = view.lang();
    let case = view.case;
    let what = if case.repeat_of.is_some() {
        tr(lang, "Повторное сообщение", "Repeated post")
    } else {
        tr(lang, "Новое сообщение", "New post")
    };
    let subject = format!("{} {what}: {}", view.tag(), headline(case));
    let mut d = view.doc(&subject);
    d.lead = Some(view.lead(tr(
        lang,
        "Подготовьте проект ответа автору",
        "Prepare the draft answer to the author",
    )));
    let mut intro = tr(
        lang,
        "Вам поручено подготовить ответ на сообщение из открытых источников.",
        "You are asked to prepare the answer to a post from open sources.",
    )
    .to_string();
    if let Some(a) = absent {
        intro.push_str(&format!(
            "\n{} {a}.",
            tr(
                lang,
                "Вы замещаете отсутствующего исполнителя",
                "You stand in for the absent executor"
            )
        ));
    }
    if case.repeat_of.is_some() {
        intro.push_str(&format!(
            "\n{}",
            tr(
                lang,
                "Это повторное обращение (п. 10): в ответе укажите, какие меры приняты с момента прошлого ответа.",
                "This is a repeat (clause 10): say in the answer what has been done since the earlier answer."
            )
        ));
    }
    d.push(Block::Text(intro));
    d.push(view.deadlines());
    d.push(view.post_text());
    d.push(view.images(&case.notification.attachments));
    d.push(view.fields());
    if let Some(prev) = &case.earlier_answer {
        d.push(Block::Quote {
            title: tr(
                lang,
                "Ранее по этому вопросу был дан ответ",
                "The earlier answer on this issue",
            )
            .to_string(),
            text: prev.clone(),
        });
    }
    view.similar(&mut d);
    view.executor_actions(&mut d);
    Parts {
        subject,
        doc: d,
        attachments: case.notification.attachments.clone(),
    }
}

/// To the coordinator: nobody was found; please assign. The routing model's suggestions
/// come first, each a one-click `НАЗНАЧИТЬ <id>` button with the words behind it.
pub(super) fn needs_assignment(view: &View<'_>, reason: &str, suggestions: &[Suggestion]) -> Parts {
    let lang = view.lang();
    let case = view.case;
    // A repeat (cl. 10) of a case nobody held says so, and names the earlier case.
    let subject = match &case.repeat_of {
        Some(_) => view.subject(
            "Повторное сообщение, назначьте исполнителя",
            "Repeated post, please assign",
        ),
        None => view.subject("Назначьте исполнителя", "Please assign"),
    };
    let mut d = view.doc(&subject);
    d.lead = Some(view.lead(tr(lang, "Назначьте исполнителя", "Assign an executor")));
    if let Some(of) = &case.repeat_of {
        d.push(Block::Text(match lang {
            crate::config::Language::Ru => format!(
                "Повторное сообщение (п. 10), прежнее дело: {of}. У прежнего дела не было исполнителя."
            ),
            crate::config::Language::En => format!(
                "A repeated post (cl. 10), earlier case: {of}. The earlier case had no executor."
            ),
        }));
        if let Some(answer) = &case.earlier_answer {
            d.push(Block::Text(format!(
                "{}: {answer}",
                tr(lang, "Прежний ответ", "The earlier answer")
            )));
        }
    }
    d.instruction = Some(
        tr(
            lang,
            "Ответьте на это письмо: первая строка — НАЗНАЧИТЬ <исполнитель>.",
            "Reply to this message: the first line is ASSIGN <executor>.",
        )
        .to_string(),
    );
    d.push(Block::Text(format!(
        "{} ({reason}).",
        tr(
            lang,
            "Сообщение не распределено",
            "The post could not be routed"
        )
    )));
    view.possible_repeat(&mut d);
    view.possible_abuse(&mut d);
    suggestion_buttons(view, &mut d, suggestions);
    d.push(view.deadlines());
    d.push(view.post_text());
    d.push(view.images(&case.notification.attachments));
    d.push(view.fields());
    d.push(Block::List {
        title: tr(
            lang,
            "Назначьте исполнителя ответом: НАЗНАЧИТЬ <исполнитель>. Исполнители:",
            "Assign it by replying: ASSIGN <executor>. Executors:",
        )
        .to_string(),
        items: view.executor_list(),
    });
    d.push(Block::Text(
        tr(
            lang,
            "ИСКЛЮЧИТЬ — п. 12; ЗАКРЫТЬ <причина> — закрыть без ответа",
            "EXCLUDE — clause 12; CLOSE <reason> — close without an answer",
        )
        .to_string(),
    ));
    Parts {
        subject,
        doc: d,
        attachments: case.notification.attachments.clone(),
    }
}

/// The routing model's suggestions as one-click `НАЗНАЧИТЬ <id>` buttons, each with the
/// words behind it.
fn suggestion_buttons(view: &View<'_>, d: &mut Doc, suggestions: &[Suggestion]) {
    let lang = view.lang();
    let assign = keyword(lang, Word::Assign);
    for s in suggestions {
        let who = view
            .config
            .executor(&s.executor)
            .map(|e| format!("{} ({})", e.name, e.id))
            .unwrap_or_else(|| s.executor.clone());
        let words = if s.words.is_empty() {
            String::new()
        } else {
            format!(
                "; {}: {}",
                tr(lang, "по словам", "by the words"),
                s.words.join(", ")
            )
        };
        d.buttons.push(view.button(
            &format!("{assign} {}", s.executor),
            &who,
            &format!(
                "{} {} %{words}",
                tr(lang, "модель маршрутизации:", "the routing model:"),
                s.probability.percent()
            ),
        ));
    }
    if !suggestions.is_empty() {
        d.actions_title = Some(
            tr(
                lang,
                "Предложения модели маршрутизации — назначить одним нажатием:",
                "The routing model suggests — assign with one click:",
            )
            .to_string(),
        );
    }
}

/// To the coordinator: clause 12 exclusion.
pub(super) fn excluded(view: &View<'_>, matched: &str) -> Parts {
    let lang = view.lang();
    let subject = format!(
        "{} {}: {}",
        view.tag(),
        tr(lang, "Исключено (п. 12)", "Excluded (clause 12)"),
        headline(view.case)
    );
    let mut d = view.doc(&subject);
    d.lead = Some(view.info(tr(
        lang,
        "Для сведения: сообщение исключено (п. 12), ответ не нужен",
        "For your information: the post was excluded (clause 12), no answer needed",
    )));
    d.push(Block::Text(format!(
        "{} «{matched}». {}",
        tr(
            lang,
            "Сообщение исключено по п. 12 (не обрабатывается и не требует ответа): совпадение со словарём",
            "The post was excluded under clause 12 (not processed, not answered): lexicon match"
        ),
        tr(
            lang,
            "Чтобы всё же назначить исполнителя, ответьте: НАЗНАЧИТЬ <исполнитель>.",
            "To have it answered anyway, reply: ASSIGN <executor>."
        )
    )));
    d.push(view.post_text());
    d.push(view.fields());
    Parts {
        subject,
        doc: d,
        attachments: Vec::new(),
    }
}

/// To the coordinator: flagged as a repeat but no earlier case found.
pub(super) fn repeat_unmatched(view: &View<'_>) -> Parts {
    let lang = view.lang();
    let subject = format!(
        "{} {}: {}",
        view.tag(),
        tr(
            lang,
            "Повторное без прежнего дела",
            "Repeat without an earlier case"
        ),
        headline(view.case)
    );
    let mut d = view.doc(&subject);
    d.lead = Some(view.info(tr(
        lang,
        "Для сведения: повторное сообщение распределено как новое",
        "For your information: a repeat was routed as a new post",
    )));
    d.push(Block::Text(
        tr(
            lang,
            "Мониторинг отметил сообщение как повторное, но прежнее дело не найдено; оно распределено как новое.",
            "The monitoring flagged this post as a repeat but no earlier case was found; it was routed as a new one.",
        )
        .to_string(),
    ));
    d.push(view.fields());
    Parts {
        subject,
        doc: d,
        attachments: Vec::new(),
    }
}
