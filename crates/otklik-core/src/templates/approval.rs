//! The approval round: a draft to the coordinator (with what changed since the returned
//! draft), a draft back to the executor, the approved text, an executor's refusal.

use super::doc::word_diff;
use super::{Block, Parts, View, kind_label, tr};
use crate::workflow::{Case, HistoryEvent};

/// After a rework: the draft that was returned and the coordinator's comments on it,
/// read from the case history (the last draft before the last return, and that return).
pub(super) fn rework_round(case: &Case) -> Option<(String, String)> {
    let is_draft = |e: HistoryEvent| {
        matches!(
            e,
            HistoryEvent::Draft | HistoryEvent::Interim | HistoryEvent::Clarification
        )
    };
    let h = &case.history;
    let current = h.iter().rposition(|e| is_draft(e.event))?;
    let returned = h[..current]
        .iter()
        .rposition(|e| e.event == HistoryEvent::Rework)?;
    let before = h[..returned].iter().rposition(|e| is_draft(e.event))?;
    Some((
        draft_text(&h[before].detail).to_string(),
        h[returned].detail.clone(),
    ))
}

/// A draft's text as the history keeps it, without the attachment note.
fn draft_text(detail: &str) -> &str {
    match detail.rsplit_once("\n[attachments: ") {
        Some((text, rest)) if rest.ends_with(']') => text,
        _ => detail,
    }
}

/// To the coordinator: the pending draft.
pub(super) fn for_approval(view: &View<'_>) -> Parts {
    let lang = view.lang();
    let case = view.case;
    let draft = case.draft.as_ref();
    let kind = draft.map(|d| kind_label(lang, d.kind)).unwrap_or("");
    let subject = view.subject("На согласование", "For approval");
    let mut d = view.doc(&subject);
    let round = rework_round(case);
    let ask = match (lang, round.is_some()) {
        (crate::config::Language::Ru, false) => {
            format!("Согласуйте {kind} или верните на доработку")
        }
        (crate::config::Language::Ru, true) => {
            format!("Проверьте доработку: согласуйте {kind} или верните снова")
        }
        (crate::config::Language::En, false) => {
            format!("Approve the {kind} or return it for rework")
        }
        (crate::config::Language::En, true) => {
            format!("Check the rework: approve the {kind} or return it again")
        }
    };
    d.lead = Some(view.lead(&ask));
    let by = case
        .executor
        .as_deref()
        .and_then(|id| view.config.executor(id))
        .map(|e| format!("{} ({})", e.name, e.position))
        .unwrap_or_default();
    d.push(Block::Fields(vec![
        (
            tr(lang, "Поступил на согласование", "For approval").to_string(),
            kind.to_string(),
        ),
        (tr(lang, "Исполнитель", "Executor").to_string(), by),
    ]));
    let waiting = super::decree::waiting(view);
    if !waiting.is_empty() {
        d.push(Block::Text(waiting.trim_end().to_string()));
    }
    let text = draft.map(|d| d.text.as_str()).unwrap_or("");
    if let Some((returned, comments)) = &round {
        d.push(Block::Quote {
            title: tr(
                lang,
                "Ваши замечания при возврате",
                "Your comments when you returned it",
            )
            .to_string(),
            text: comments.clone(),
        });
        d.push(Block::Diff {
            title: tr(
                lang,
                "Что изменилось после доработки ([-удалено-]{+добавлено+})",
                "What changed in the rework ([-deleted-]{+inserted+})",
            )
            .to_string(),
            pieces: word_diff(returned, text),
        });
    }
    d.push(Block::Quote {
        title: tr(lang, "Текст", "Text").to_string(),
        text: text.to_string(),
    });
    let attachments = draft.map(|d| d.attachments.clone()).unwrap_or_default();
    d.push(view.images(&attachments));
    d.push(view.deadlines());
    d.push(view.post_text());
    d.push(view.images(&case.notification.attachments));
    d.push(view.fields());
    view.similar(&mut d);
    view.coordinator_actions(&mut d);
    Parts {
        subject,
        doc: d,
        attachments,
    }
}

/// To the executor: returned with comments.
pub(super) fn returned(view: &View<'_>, comments: &str) -> Parts {
    let lang = view.lang();
    let case = view.case;
    let subject = view.subject("Возвращено на доработку", "Returned for rework");
    let mut d = view.doc(&subject);
    d.lead = Some(view.lead(tr(
        lang,
        "Доработайте проект ответа по замечаниям",
        "Rework the draft along the comments",
    )));
    d.instruction = Some(
        tr(
            lang,
            "Ответьте на это письмо доработанным текстом.",
            "Reply to this message with the reworked text.",
        )
        .to_string(),
    );
    d.push(Block::Text(
        tr(
            lang,
            "Проект ответа возвращён на доработку.",
            "The draft was returned for rework.",
        )
        .to_string(),
    ));
    d.push(Block::Quote {
        title: tr(lang, "Замечания координатора", "The coordinator's comments").to_string(),
        text: comments.to_string(),
    });
    if let Some(dr) = &case.draft {
        d.push(Block::Quote {
            title: tr(lang, "Ваш проект", "Your draft").to_string(),
            text: dr.text.clone(),
        });
    }
    d.push(view.deadlines());
    d.push(view.post_text());
    d.push(view.fields());
    Parts {
        subject,
        doc: d,
        attachments: Vec::new(),
    }
}

/// To the executor (and the publisher): the approved text.
pub(super) fn approved(view: &View<'_>) -> Parts {
    let lang = view.lang();
    let case = view.case;
    let approved = case.approved.as_ref();
    let kind = approved.map(|d| kind_label(lang, d.kind)).unwrap_or("");
    let subject = view.subject("Согласовано", "Approved");
    let mut d = view.doc(&subject);
    d.lead = Some(view.lead(tr(
        lang,
        "Опубликуйте согласованный ответ",
        "Post the approved answer",
    )));
    d.push(Block::Text(format!(
        "{} ({kind}).",
        tr(lang, "Текст согласован", "The text is approved")
    )));
    d.push(Block::Quote {
        title: tr(lang, "Согласованный текст", "Approved text").to_string(),
        text: approved.map(|d| d.text.clone()).unwrap_or_default(),
    });
    let attachments = approved.map(|d| d.attachments.clone()).unwrap_or_default();
    d.push(view.images(&attachments));
    if let Some(link) = &case.notification.link {
        d.push(Block::Fields(vec![(
            tr(lang, "Опубликуйте его по ссылке", "Post it at").to_string(),
            link.clone(),
        )]));
    }
    // Cl. 9: the final draft's clock starts when the interim answer goes out.
    if approved.is_some_and(|a| a.kind == crate::workflow::DraftKind::Interim)
        && case.deadlines.final_.is_none()
    {
        let set = view
            .config
            .deadlines
            .for_category(case.notification.category.as_deref());
        let within = super::work_duration_words(lang, set.final_after_interim);
        d.push(Block::Text(match lang {
            crate::config::Language::Ru => format!(
                "Окончательный проект ответа — координатору в течение {within} после размещения \
                 промежуточного ответа (п. 9): срок начнётся, когда размещение будет подтверждено \
                 (ОПУБЛИКОВАНО)."
            ),
            crate::config::Language::En => format!(
                "The final draft is due to the coordinator within {within} of the interim answer's \
                 posting (cl. 9): the clock starts when the posting is confirmed (PUBLISHED)."
            ),
        }));
    }
    d.push(view.deadlines());
    view.publish_actions(&mut d);
    Parts {
        subject,
        doc: d,
        attachments,
    }
}

/// To the coordinator: the executor declined.
pub(super) fn declined(view: &View<'_>, reason: &str) -> Parts {
    let lang = view.lang();
    let subject = view.subject("Отказ исполнителя", "Declined");
    let mut d = view.doc(&subject);
    d.lead = Some(view.lead(tr(
        lang,
        "Назначьте другого исполнителя",
        "Assign another executor",
    )));
    d.instruction = Some(
        tr(
            lang,
            "Ответьте на это письмо: первая строка — НАЗНАЧИТЬ <исполнитель>.",
            "Reply to this message: the first line is ASSIGN <executor>.",
        )
        .to_string(),
    );
    d.push(Block::Text(format!(
        "{}: {reason}",
        tr(
            lang,
            "Исполнитель отказался (не его компетенция)",
            "The executor declined (not their competence)"
        )
    )));
    d.push(Block::List {
        title: tr(
            lang,
            "Назначьте другого ответом: НАЗНАЧИТЬ <исполнитель>. Исполнители:",
            "Assign another by replying: ASSIGN <executor>. Executors:",
        )
        .to_string(),
        items: view.executor_list(),
    });
    d.push(view.deadlines());
    d.push(view.post_text());
    d.push(view.fields());
    Parts {
        subject,
        doc: d,
        attachments: Vec::new(),
    }
}
