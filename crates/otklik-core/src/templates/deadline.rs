use super::{
    DateTime, DeadlineKind, Parts, Utc, View, capitalize, deadline_name, headline, hours_minutes,
    local_time, state_label, tr,
};

pub(super) fn deadline(
    view: &View<'_>,
    kind: DeadlineKind,
    deadline: DateTime<Utc>,
    late: bool,
) -> Parts {
    let lang = view.lang();
    let case = view.case;
    let tag = view.tag();
    let head = headline(case);
    let attachments = Vec::new();
    let (subject, text) = {
        let cal = &view.config.calendar;
        let name = deadline_name(lang, kind);
        let (word, status) = if view.now >= deadline {
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
        let mut t = format!(
            "{}: {}; {status}.\n",
            capitalize(name),
            local_time(view.config, deadline)
        );
        if late && view.now < deadline {
            t.push_str(tr(
                lang,
                "(Напоминание отправлено с опозданием.)\n",
                "(This reminder is late.)\n",
            ));
        }
        t.push_str(&format!(
            "{}: {}\n\n",
            tr(lang, "Состояние дела", "Case state"),
            state_label(lang, case.state)
        ));
        if let Some(e) = case
            .executor
            .as_deref()
            .and_then(|id| view.config.executor(id))
        {
            t.push_str(&format!(
                "{}: {} ({})\n",
                tr(lang, "Исполнитель", "Executor"),
                e.name,
                e.email
            ));
        }
        t.push_str(&view.fields());
        t.push('\n');
        t.push_str(&view.post_text());
        t.push('\n');
        if view.recipient == view.config.people.coordinator.email {
            t.push_str(&view.coordinator_actions());
        } else if case
            .executor
            .as_deref()
            .and_then(|id| view.config.executor(id))
            .is_some_and(|e| e.email == view.recipient)
        {
            t.push_str(&view.executor_actions());
        }
        (
            format!(
                "{tag} {word}: {name} {} — {head}",
                local_time(view.config, deadline)
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
