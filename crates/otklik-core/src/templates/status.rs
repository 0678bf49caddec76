use super::{Parts, View, action_label, headline, state_label, tr};

pub(super) fn withdrawn(view: &View<'_>, reason: &str) -> Parts {
    let lang = view.lang();
    let case = view.case;
    let tag = view.tag();
    let head = headline(case);
    let attachments = Vec::new();
    let (subject, text) = (
        format!(
            "{tag} {}: {head}",
            tr(lang, "Снято с вас", "No longer yours")
        ),
        format!(
            "{} ({reason}).\n",
            tr(
                lang,
                "Дело больше не требует ваших действий",
                "The case no longer needs your action"
            )
        ),
    );
    Parts {
        subject,
        text,
        attachments,
    }
}

pub(super) fn confirmation(view: &View<'_>, action: &str) -> Parts {
    let lang = view.lang();
    let case = view.case;
    let tag = view.tag();
    let attachments = Vec::new();
    let (subject, text) = {
        let what = action_label(lang, action);
        (
            format!("{tag} {}: {what}", tr(lang, "Принято", "Done")),
            format!(
                "{} {what}. {}: {}.\n\n{}",
                tr(lang, "Принято:", "Taken:"),
                tr(lang, "Состояние дела", "Case state"),
                state_label(lang, case.state),
                view.deadlines()
            ),
        )
    };
    Parts {
        subject,
        text,
        attachments,
    }
}

pub(super) fn refused(view: &View<'_>, reason: &str) -> Parts {
    let lang = view.lang();
    let _case = view.case;
    let tag = view.tag();
    let attachments = Vec::new();
    let (subject, text) = (
        format!(
            "{tag} {}",
            tr(lang, "Письмо не принято", "Your message was not accepted")
        ),
        format!(
            "{}: {reason}.\n{}\n",
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
        ),
    );
    Parts {
        subject,
        text,
        attachments,
    }
}
