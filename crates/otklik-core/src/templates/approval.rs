use super::{Parts, View, Word, headline, keyword, kind_label, quote_block, tr};

pub(super) fn for_approval(view: &View<'_>) -> Parts {
    let lang = view.lang();
    let case = view.case;
    let tag = view.tag();
    let head = headline(case);
    let attachments;
    let (subject, text) = {
        let draft = case.draft.as_ref();
        let kind = draft.map(|d| kind_label(lang, d.kind)).unwrap_or("");
        let by = case
            .executor
            .as_deref()
            .and_then(|id| view.config.executor(id))
            .map(|e| format!("{} ({})", e.name, e.position))
            .unwrap_or_default();
        let mut t = format!(
            "{}: {kind}\n{}: {by}\n\n",
            tr(lang, "Поступил на согласование", "For approval"),
            tr(lang, "Исполнитель", "Executor")
        );
        t.push_str(&format!(
            "{}\n{}\n\n",
            tr(lang, "Текст:", "Text:"),
            quote_block(draft.map(|d| d.text.as_str()).unwrap_or(""))
        ));
        t.push_str(&view.fields());
        t.push('\n');
        t.push_str(&view.post_text());
        t.push('\n');
        t.push_str(&view.deadlines());
        t.push('\n');
        t.push_str(&view.coordinator_actions());
        attachments = draft.map(|d| d.attachments.clone()).unwrap_or_default();
        (
            format!(
                "{tag} {}: {head}",
                tr(lang, "На согласование", "For approval")
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

pub(super) fn returned(view: &View<'_>, comments: &str) -> Parts {
    let lang = view.lang();
    let case = view.case;
    let tag = view.tag();
    let head = headline(case);
    let attachments = Vec::new();
    let (subject, text) = {
        let mut t = format!(
            "{}\n\n{}\n{}\n\n",
            tr(
                lang,
                "Проект ответа возвращён на доработку.",
                "The draft was returned for rework."
            ),
            tr(
                lang,
                "Замечания координатора:",
                "The coordinator's comments:"
            ),
            quote_block(comments)
        );
        if let Some(d) = &case.draft {
            t.push_str(&format!(
                "{}\n{}\n\n",
                tr(lang, "Ваш проект:", "Your draft:"),
                quote_block(&d.text)
            ));
        }
        t.push_str(&view.deadlines());
        t.push_str(&format!(
            "\n{}\n",
            tr(
                lang,
                "Ответьте на это письмо доработанным текстом.",
                "Reply to this message with the reworked text."
            )
        ));
        (
            format!(
                "{tag} {}: {head}",
                tr(lang, "Возвращено на доработку", "Returned for rework")
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

pub(super) fn approved(view: &View<'_>) -> Parts {
    let lang = view.lang();
    let case = view.case;
    let tag = view.tag();
    let head = headline(case);
    let attachments;
    let (subject, text) = {
        let approved = case.approved.as_ref();
        let kind = approved.map(|d| kind_label(lang, d.kind)).unwrap_or("");
        let mut t = format!(
            "{} ({kind}).\n\n{}\n{}\n\n",
            tr(lang, "Текст согласован", "The text is approved"),
            tr(lang, "Согласованный текст:", "Approved text:"),
            quote_block(approved.map(|d| d.text.as_str()).unwrap_or(""))
        );
        if let Some(link) = &case.notification.link {
            t.push_str(&format!(
                "{}: {link}\n",
                tr(lang, "Опубликуйте его по ссылке", "Post it at")
            ));
        }
        t.push_str(&view.deadlines());
        t.push_str(&format!(
            "\n{}\n",
            tr(
                lang,
                "После публикации ответьте: ОПУБЛИКОВАНО (можно со ссылкой на ответ).",
                "Once posted, reply: PUBLISHED (a link to the answer is welcome)."
            )
        ));
        t.push_str(&view.action(
            keyword(lang, Word::Published),
            tr(lang, "Опубликовано", "Published"),
        ));
        attachments = approved.map(|d| d.attachments.clone()).unwrap_or_default();
        (
            format!("{tag} {}: {head}", tr(lang, "Согласовано", "Approved")),
            t,
        )
    };
    Parts {
        subject,
        text,
        attachments,
    }
}

pub(super) fn declined(view: &View<'_>, reason: &str) -> Parts {
    let lang = view.lang();
    let case = view.case;
    let tag = view.tag();
    let head = headline(case);
    let attachments = Vec::new();
    let (subject, text) = {
        let mut t = format!(
            "{}: {reason}\n\n{}\n{}",
            tr(
                lang,
                "Исполнитель отказался (не его компетенция)",
                "The executor declined (not their competence)"
            ),
            tr(
                lang,
                "Назначьте другого ответом: НАЗНАЧИТЬ <исполнитель>. Исполнители:",
                "Assign another by replying: ASSIGN <executor>. Executors:"
            ),
            view.executor_list()
        );
        t.push('\n');
        t.push_str(&view.fields());
        t.push_str(&view.deadlines());
        (
            format!(
                "{tag} {}: {head}",
                tr(lang, "Отказ исполнителя", "Declined")
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
