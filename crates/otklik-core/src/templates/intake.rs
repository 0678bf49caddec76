use super::{Parts, View, headline, quote_block, tr};

pub(super) fn new_case(view: &View<'_>, absent: &Option<String>) -> Parts {
    let lang = view.lang();
    let case = view.case;
    let tag = view.tag();
    let head = headline(case);
    let attachments;
    let (subject, text) = {
        let what = if case.repeat_of.is_some() {
            tr(lang, "Повторное сообщение", "Repeated post")
        } else {
            tr(lang, "Новое сообщение", "New post")
        };
        let mut t = String::new();
        t.push_str(tr(
            lang,
            "Вам поручено подготовить ответ на сообщение из открытых источников.\n",
            "You are asked to prepare the answer to a post from open sources.\n",
        ));
        if let Some(a) = absent {
            t.push_str(&format!(
                "{} {a}.\n",
                tr(
                    lang,
                    "Вы замещаете отсутствующего исполнителя",
                    "You stand in for the absent executor"
                )
            ));
        }
        t.push('\n');
        t.push_str(&view.fields());
        t.push('\n');
        t.push_str(&view.post_text());
        if let Some(prev) = &case.earlier_answer {
            t.push_str(&format!(
                "\n{}\n{}\n",
                tr(
                    lang,
                    "Ранее по этому вопросу был дан ответ:",
                    "The earlier answer on this issue was:"
                ),
                quote_block(prev)
            ));
        }
        if case.repeat_of.is_some() {
            t.push_str(&format!(
                "\n{}\n",
                tr(
                    lang,
                    "Это повторное обращение (п. 10): в ответе укажите, какие меры приняты с момента прошлого ответа.",
                    "This is a repeat (clause 10): say in the answer what has been done since the earlier answer."
                )
            ));
        }
        t.push('\n');
        t.push_str(&view.deadlines());
        t.push('\n');
        t.push_str(&view.executor_actions());
        attachments = case.notification.attachments.clone();
        (format!("{tag} {what}: {head}"), t)
    };
    Parts {
        subject,
        text,
        attachments,
    }
}

pub(super) fn needs_assignment(view: &View<'_>, reason: &str) -> Parts {
    let lang = view.lang();
    let case = view.case;
    let tag = view.tag();
    let head = headline(case);
    let attachments;
    let (subject, text) = {
        let mut t = format!(
            "{} ({reason}).\n\n",
            tr(
                lang,
                "Сообщение не распределено",
                "The post could not be routed"
            )
        );
        t.push_str(&view.fields());
        t.push('\n');
        t.push_str(&view.post_text());
        t.push('\n');
        t.push_str(&view.deadlines());
        t.push_str(&format!(
            "\n{}\n{}",
            tr(
                lang,
                "Назначьте исполнителя ответом: НАЗНАЧИТЬ <исполнитель>. Исполнители:",
                "Assign it by replying: ASSIGN <executor>. Executors:"
            ),
            view.executor_list()
        ));
        t.push_str(&format!(
            "  {}\n",
            tr(
                lang,
                "ИСКЛЮЧИТЬ — п. 12; ЗАКРЫТЬ <причина> — закрыть без ответа",
                "EXCLUDE — clause 12; CLOSE <reason> — close without an answer"
            )
        ));
        attachments = case.notification.attachments.clone();
        (
            format!(
                "{tag} {}: {head}",
                tr(lang, "Назначьте исполнителя", "Please assign")
            ),
            t,
        )
    };
    Parts {
        subject,
        text,
        attachments,
    }
}

pub(super) fn excluded(view: &View<'_>, matched: &str) -> Parts {
    let lang = view.lang();
    let case = view.case;
    let tag = view.tag();
    let head = headline(case);
    let attachments = Vec::new();
    let (subject, text) = {
        let mut t = format!(
            "{} «{matched}». {}\n\n",
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
        );
        t.push_str(&view.fields());
        t.push('\n');
        t.push_str(&view.post_text());
        (
            format!(
                "{tag} {}: {head}",
                tr(lang, "Исключено (п. 12)", "Excluded (clause 12)")
            ),
            t,
        )
    };
    Parts {
        subject,
        text,
        attachments,
    }
}

pub(super) fn repeat_unmatched(view: &View<'_>) -> Parts {
    let lang = view.lang();
    let case = view.case;
    let tag = view.tag();
    let head = headline(case);
    let attachments = Vec::new();
    let (subject, text) = {
        let mut t = format!(
            "{}\n\n",
            tr(
                lang,
                "Мониторинг отметил сообщение как повторное, но прежнее дело не найдено; оно распределено как новое.",
                "The monitoring flagged this post as a repeat but no earlier case was found; it was routed as a new one."
            )
        );
        t.push_str(&view.fields());
        (
            format!(
                "{tag} {}: {head}",
                tr(
                    lang,
                    "Повторное без прежнего дела",
                    "Repeat without an earlier case"
                )
            ),
            t,
        )
    };
    Parts {
        subject,
        text,
        attachments,
    }
}
