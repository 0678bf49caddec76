//! Short status mails: a case taken off its executor, an action confirmed, a reply refused.

use super::{Block, Parts, View, action_label, headline, state_label, tr};

/// To the previous executor after reassignment or closing.
pub(super) fn withdrawn(view: &View<'_>, reason: &str) -> Parts {
    let lang = view.lang();
    let subject = format!(
        "{} {}: {}",
        view.tag(),
        tr(lang, "Снято с вас", "No longer yours"),
        headline(view.case)
    );
    let mut d = view.doc(&subject);
    d.lead = Some(view.info(tr(
        lang,
        "Для сведения: дело снято с вас, действий не нужно",
        "For your information: the case is no longer yours, nothing to do",
    )));
    d.push(Block::Text(format!(
        "{} ({reason}).",
        tr(
            lang,
            "Дело больше не требует ваших действий",
            "The case no longer needs your action"
        )
    )));
    Parts {
        subject,
        doc: d,
        attachments: Vec::new(),
    }
}

/// To an actor whose action was taken.
pub(super) fn confirmation(view: &View<'_>, action: &str) -> Parts {
    let lang = view.lang();
    let what = action_label(lang, action);
    let subject = format!("{} {}: {what}", view.tag(), tr(lang, "Принято", "Done"));
    let mut d = view.doc(&subject);
    d.lead = Some(view.info(&format!("{} {what}", tr(lang, "Принято:", "Taken:"))));
    d.push(Block::Text(format!(
        "{} {what}. {}: {}.",
        tr(lang, "Принято:", "Taken:"),
        tr(lang, "Состояние дела", "Case state"),
        state_label(lang, view.case.state),
    )));
    d.push(view.deadlines());
    Parts {
        subject,
        doc: d,
        attachments: Vec::new(),
    }
}

/// To a sender whose reply changed nothing.
pub(super) fn refused(view: &View<'_>, reason: &str) -> Parts {
    let lang = view.lang();
    let subject = format!(
        "{} {}",
        view.tag(),
        tr(lang, "Письмо не принято", "Your message was not accepted")
    );
    let mut d = view.doc(&subject);
    d.lead = Some(view.info(tr(
        lang,
        "Ваше письмо ничего не изменило в деле",
        "Your message changed nothing in the case",
    )));
    d.push(Block::Text(format!(
        "{}: {reason}.\n{}",
        tr(
            lang,
            "Ваше письмо ничего не изменило в деле",
            "Your message changed nothing in the case"
        ),
        tr(
            lang,
            "Если это ошибка, обратитесь к координатору.",
            "If this is a mistake, please contact the coordinator."
        )
    )));
    Parts {
        subject,
        doc: d,
        attachments: Vec::new(),
    }
}
