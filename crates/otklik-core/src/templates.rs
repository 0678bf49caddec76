//! Every text otklik sends, in one place (Russian by default, English with
//! `language = "en"`). Pure: a notice, the case and the time in, subject and body out.

use chrono::{DateTime, Datelike, Utc};

use crate::config::{Config, DeadlineKind, Language};
use crate::inbound::Attachment;
use crate::reply::keyword::Word;
use crate::workflow::{Case, DraftKind, Notice, NoticeKind};

/// A mail's content, before the MIME envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    /// An HTML alternative of `text`, where a table helps.
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
    /// An iCalendar part (`text/calendar; method=PUBLISH`).
    pub calendar: Option<String>,
}

/// A keyword as the parser reads it, in the configured language.
pub mod decree;

fn keyword(lang: Language, w: Word) -> &'static str {
    crate::reply::keyword::word(w, lang == Language::En)
}

/// The Russian or the English text, by the configured language.
pub fn tr<'a>(lang: Language, ru: &'a str, en: &'a str) -> &'a str {
    match lang {
        Language::Ru => ru,
        Language::En => en,
    }
}

/// `пн 07.12.2026 14:00` / `Mon 07.12.2026 14:00` in the calendar's zone.
pub fn local_time(config: &Config, t: DateTime<Utc>) -> String {
    let local = t.with_timezone(&config.calendar.timezone());
    let wd = local.weekday().num_days_from_monday() as usize;
    let day = match config.service.language {
        Language::Ru => ["пн", "вт", "ср", "чт", "пт", "сб", "вс"][wd],
        Language::En => ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][wd],
    };
    format!("{day} {}", local.format("%d.%m.%Y %H:%M"))
}

/// `2 ч 05 мин` / `2 h 05 min`.
pub fn hours_minutes(lang: Language, d: chrono::Duration) -> String {
    let mins = d.num_minutes().max(0);
    format!(
        "{} {} {:02} {}",
        mins / 60,
        tr(lang, "ч", "h"),
        mins % 60,
        tr(lang, "мин", "min")
    )
}

pub fn deadline_name(lang: Language, kind: DeadlineKind) -> &'static str {
    match (lang, kind) {
        (Language::Ru, DeadlineKind::Draft) => "срок проекта ответа",
        (Language::Ru, DeadlineKind::Answer) => "срок ответа",
        (Language::Ru, DeadlineKind::Rework) => "срок доработки",
        (Language::Ru, DeadlineKind::Final) => "срок окончательного ответа",
        (Language::En, DeadlineKind::Draft) => "draft deadline",
        (Language::En, DeadlineKind::Answer) => "answer deadline",
        (Language::En, DeadlineKind::Rework) => "rework deadline",
        (Language::En, DeadlineKind::Final) => "final answer deadline",
    }
}

fn kind_label(lang: Language, kind: DraftKind) -> &'static str {
    match (lang, kind) {
        (Language::Ru, DraftKind::Answer) => "проект ответа",
        (Language::Ru, DraftKind::Interim) => "промежуточный ответ",
        (Language::Ru, DraftKind::Query) => "уточняющий вопрос",
        (Language::En, DraftKind::Answer) => "draft answer",
        (Language::En, DraftKind::Interim) => "interim answer",
        (Language::En, DraftKind::Query) => "clarifying question",
    }
}

fn headline(case: &Case) -> String {
    let n = &case.notification;
    match (&n.topic, &n.location) {
        (Some(t), Some(l)) => format!("{t} — {l}"),
        (Some(t), None) => t.clone(),
        (None, Some(l)) => l.clone(),
        (None, None) => n.link.clone().unwrap_or_default(),
    }
}

/// RFC 6068 `mailto:` with the subject percent-encoded.
pub fn mailto(to: &str, subject: &str, body: &str) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    let mut link = format!("mailto:{to}?subject={}", enc(subject));
    if !body.is_empty() {
        link.push_str(&format!("&body={}", enc(body)));
    }
    link
}

/// Everything a template needs besides the notice.
pub struct View<'a> {
    pub config: &'a Config,
    pub case: &'a Case,
    pub now: DateTime<Utc>,
    /// The recipient's address (lower-cased) and action code (without `#`).
    pub recipient: &'a str,
    pub code: &'a str,
    /// The service's own address (for `mailto:` links).
    pub service_addr: &'a str,
}

impl View<'_> {
    fn lang(&self) -> Language {
        self.config.service.language
    }

    fn tag(&self) -> String {
        format!("[{}]", self.case.id)
    }

    fn action(&self, keyword: &str, label: &str) -> String {
        let subject = format!("{} {keyword} #{}", self.tag(), self.code);
        format!(
            "  {keyword} — {label}: {}\n",
            mailto(self.service_addr, &subject, "")
        )
    }

    fn fields(&self) -> String {
        let lang = self.lang();
        let n = &self.case.notification;
        let mut s = String::new();
        let mut line = |label: &str, value: &Option<String>| {
            if let Some(v) = value {
                s.push_str(&format!("{label}: {v}\n"));
            }
        };
        line(tr(lang, "Рубрика", "Topic"), &n.topic);
        line(tr(lang, "Территория", "Location"), &n.location);
        line(tr(lang, "Категория важности", "Category"), &n.category);
        line(tr(lang, "Источник", "Source"), &n.source);
        line(tr(lang, "Автор", "Author"), &n.author);
        line(tr(lang, "Ссылка", "Link"), &n.link);
        line(tr(lang, "Номер инцидента", "Incident ID"), &n.source_id);
        s.push_str(&format!(
            "{}: {}\n",
            tr(lang, "Выявлено", "Detected"),
            local_time(self.config, n.detected_at)
        ));
        if let Some(r) = &self.case.repeat_of {
            s.push_str(&format!(
                "{}: {r}\n",
                tr(lang, "Повторное, прежнее дело", "Repeat of")
            ));
        }
        s
    }

    fn post_text(&self) -> String {
        let lang = self.lang();
        format!(
            "{}:\n{}\n",
            tr(lang, "Текст сообщения", "Post text"),
            quote_block(&self.case.notification.text)
        )
    }

    fn deadlines(&self) -> String {
        let lang = self.lang();
        let mut s = String::new();
        let d = &self.case.deadlines;
        for (kind, value) in [
            (DeadlineKind::Draft, d.draft),
            (DeadlineKind::Answer, d.answer),
            (DeadlineKind::Rework, d.rework),
            (DeadlineKind::Final, d.final_),
        ] {
            if let Some(t) = value {
                if kind == DeadlineKind::Draft && self.case.first_draft_at.is_some() {
                    continue;
                }
                let name = deadline_name(lang, kind);
                s.push_str(&format!(
                    "{}: {}\n",
                    capitalize(name),
                    local_time(self.config, t)
                ));
            }
        }
        s
    }

    fn code_line(&self) -> String {
        format!(
            "{}: #{}\n",
            tr(
                self.lang(),
                "Код подтверждения (оставьте его в ответе)",
                "Action code (keep it in your reply)"
            ),
            self.code
        )
    }

    fn footer(&self) -> String {
        format!(
            "\n-- \n{}{}\n",
            decree::signature(self),
            tr(
                self.lang(),
                "otklik — работа с сообщениями из открытых источников. Отвечайте на это письмо, не меняя тему.",
                "otklik — answering posts from open sources. Reply to this message keeping the subject."
            )
        )
    }

    fn executor_actions(&self) -> String {
        let lang = self.lang();
        let mut s = format!(
            "{}\n",
            tr(
                lang,
                "Как ответить: ответьте на это письмо текстом проекта ответа автору (вложения — фото, видео — прикладывайте). \
                 Первым словом письма можно указать вид:",
                "How to reply: answer this message with the draft of the answer to the author (attach photos or video). \
                 The first word of your reply may say what it is:"
            )
        );
        s.push_str(&format!(
            "  {} — {}\n  {} — {}\n  {} — {}\n",
            keyword(lang, Word::Interim),
            tr(
                lang,
                "промежуточный ответ (окончательный — в течение 7 рабочих дней)",
                "an interim answer (the final one within 7 working days)"
            ),
            keyword(lang, Word::Query),
            tr(
                lang,
                "уточняющий вопрос автору",
                "a clarifying question to the author"
            ),
            keyword(lang, Word::Decline),
            tr(
                lang,
                "вернуть координатору для переназначения (укажите причину)",
                "back to the coordinator to reassign (say why)"
            ),
        ));
        s.push_str(&self.action(
            keyword(lang, Word::Interim),
            tr(lang, "Промежуточный ответ", "Interim answer"),
        ));
        s.push_str(&self.action(
            keyword(lang, Word::Query),
            tr(lang, "Уточняющий вопрос", "Clarifying question"),
        ));
        s.push_str(&self.action(
            keyword(lang, Word::Decline),
            tr(lang, "Не моя компетенция", "Decline"),
        ));
        s
    }

    /// `ОПУБЛИКОВАНО`, offered only while an approved text waits to be posted, and only to
    /// those who may confirm it (the executor, the publisher, the coordinator).
    fn publish_action(&self) -> String {
        let lang = self.lang();
        let people = &self.config.people;
        let may = self.recipient == people.coordinator.email
            || people.publisher.as_deref() == Some(self.recipient)
            || self
                .case
                .executor
                .as_deref()
                .and_then(|id| self.config.executor(id))
                .is_some_and(|e| e.email == self.recipient);
        if self.case.awaiting_publication.is_none() || !may {
            return String::new();
        }
        let mut s = format!(
            "\n{}\n",
            tr(
                lang,
                "После публикации ответьте: ОПУБЛИКОВАНО (можно со ссылкой на ответ).",
                "Once posted, reply: PUBLISHED (a link to the answer is welcome)."
            )
        );
        s.push_str(&self.action(
            keyword(lang, Word::Published),
            tr(lang, "Опубликовано", "Published"),
        ));
        s
    }

    fn coordinator_actions(&self) -> String {
        let lang = self.lang();
        let mut s = format!(
            "{}\n",
            tr(
                lang,
                "Ответьте на это письмо, первым словом указав действие:",
                "Reply to this message with the action as its first word:"
            )
        );
        s.push_str(&self.action(
            keyword(lang, Word::Approve),
            tr(lang, "Согласовать", "Approve"),
        ));
        s.push_str(&self.action(
            keyword(lang, Word::Rework),
            tr(
                lang,
                "Вернуть на доработку (замечания — далее в тексте)",
                "Return for rework (comments after the keyword)",
            ),
        ));
        s.push_str(&format!(
            "  {}\n",
            tr(
                lang,
                "НАЗНАЧИТЬ <исполнитель> — переназначить; ИСКЛЮЧИТЬ — п. 12; ЗАКРЫТЬ <причина> — закрыть без ответа",
                "ASSIGN <executor> — reassign; EXCLUDE — clause 12; CLOSE <reason> — close without an answer"
            )
        ));
        s
    }

    fn executor_list(&self) -> String {
        let mut s = String::new();
        for e in &self.config.executors {
            s.push_str(&format!("  {} — {}, {}\n", e.id, e.name, e.position));
        }
        s
    }
}

/// A history event's name as officials read it.
pub fn action_label(lang: Language, action: &str) -> String {
    let (ru, en) = match action {
        "draft" => ("проект ответа", "draft answer"),
        "interim" => ("промежуточный ответ", "interim answer"),
        "clarification" => ("уточняющий вопрос", "clarifying question"),
        "declined" => ("отказ (не моя компетенция)", "declined"),
        "approved" => ("согласование", "approval"),
        "rework" => ("возврат на доработку", "return for rework"),
        "assigned" => ("назначение исполнителя", "assignment"),
        "excluded" => ("исключение (п. 12)", "exclusion (clause 12)"),
        "closed" => ("закрытие дела", "closing"),
        "published" => ("публикация ответа", "publication"),
        "forwarded" => (
            "пересланное уведомление, открыто дело",
            "the forwarded notification; a case is open",
        ),
        other => (other, other),
    };
    tr(lang, ru, en).to_string()
}

/// A case state as officials read it.
pub fn state_label(lang: Language, state: crate::workflow::State) -> &'static str {
    use crate::workflow::State::*;
    match state {
        Unassigned => tr(
            lang,
            "ждёт назначения исполнителя",
            "waiting for an executor",
        ),
        Assigned => tr(lang, "у исполнителя", "with the executor"),
        DraftSubmitted => tr(lang, "на согласовании", "waiting for approval"),
        Rework => tr(lang, "на доработке", "in rework"),
        InterimApproved => tr(
            lang,
            "промежуточный ответ согласован, ждём окончательный",
            "interim answer approved, final one due",
        ),
        Approved => tr(
            lang,
            "ответ согласован, ждём публикации",
            "answer approved, to be published",
        ),
        Closed => tr(lang, "закрыто", "closed"),
        Excluded => tr(lang, "исключено (п. 12)", "excluded (clause 12)"),
    }
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

fn quote_block(text: &str) -> String {
    text.lines()
        .map(|l| format!("  {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Renders one notice for one recipient.
pub fn render(view: &View<'_>, notice: &Notice) -> Rendered {
    let lang = view.lang();
    let case = view.case;
    let tag = view.tag();
    let head = headline(case);
    let mut attachments = Vec::new();
    let (subject, mut text) = match &notice.kind {
        NoticeKind::CaseOpened => decree::case_opened(view),
        NoticeKind::NewCase { absent } => {
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
        }
        NoticeKind::NeedsAssignment { reason } => {
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
        }
        NoticeKind::Excluded { matched } => {
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
        }
        NoticeKind::RepeatUnmatched => {
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
        }
        NoticeKind::ForApproval => {
            let draft = case.draft.as_ref();
            let kind = draft.map(|d| kind_label(lang, d.kind)).unwrap_or("");
            let by = case
                .executor
                .as_deref()
                .and_then(|id| view.config.executor(id))
                .map(|e| format!("{} ({})", e.name, e.position))
                .unwrap_or_default();
            let mut t = format!(
                "{}: {kind}\n{}: {by}\n{}\n",
                tr(lang, "Поступил на согласование", "For approval"),
                tr(lang, "Исполнитель", "Executor"),
                decree::waiting(view)
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
        }
        NoticeKind::Returned { comments } => {
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
        }
        NoticeKind::Approved => {
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
            t.push_str(&view.publish_action());
            attachments = approved.map(|d| d.attachments.clone()).unwrap_or_default();
            (
                format!("{tag} {}: {head}", tr(lang, "Согласовано", "Approved")),
                t,
            )
        }
        NoticeKind::Declined { reason } => {
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
        }
        NoticeKind::Withdrawn { reason } => (
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
        ),
        NoticeKind::Confirmation { action } => {
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
        }
        NoticeKind::Refused { reason } => (
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
        ),
        NoticeKind::Deadline {
            kind,
            deadline,
            late,
        } => {
            let cal = &view.config.calendar;
            let name = deadline_name(lang, *kind);
            let (word, status) = if view.now >= *deadline {
                (
                    tr(lang, "Просрочено", "Overdue"),
                    format!(
                        "{} {}",
                        tr(lang, "просрочено на", "overdue by"),
                        hours_minutes(lang, cal.working_time_between(*deadline, view.now))
                    ),
                )
            } else {
                (
                    tr(lang, "Напоминание", "Reminder"),
                    format!(
                        "{} {}",
                        tr(lang, "осталось рабочего времени:", "working time left:"),
                        hours_minutes(lang, cal.working_time_between(view.now, *deadline))
                    ),
                )
            };
            let mut t = format!(
                "{}: {}; {status}.\n",
                capitalize(name),
                local_time(view.config, *deadline)
            );
            if *late && view.now < *deadline {
                t.push_str(tr(
                    lang,
                    "(Напоминание отправлено с опозданием.)\n",
                    "(This reminder is late.)\n",
                ));
            }
            t.push_str(&format!(
                "{}: {}\n",
                tr(lang, "Состояние дела", "Case state"),
                state_label(lang, case.state)
            ));
            t.push_str(&decree::waiting(view));
            t.push('\n');
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
            if case.awaiting_publication.is_some() {
                t.push_str(&view.publish_action());
            } else if view.recipient == view.config.people.coordinator.email {
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
                    local_time(view.config, *deadline)
                ),
                t,
            )
        }
    };
    text.insert_str(0, &decree::greeting(view));
    text.push('\n');
    text.push_str(&view.code_line());
    text.push_str(&view.footer());
    Rendered {
        subject,
        text,
        html: None,
        attachments,
        calendar: None,
    }
}

/// One open case in a `МОИ ДЕЛА` answer.
pub struct QueueItem<'a> {
    pub case: &'a Case,
    /// The recipient's action code for this case.
    pub code: String,
}

fn html_escape(s: &str) -> String {
    crate::html::escape(s)
}

/// The earliest open deadline of a case (for ordering: overdue first).
pub fn next_deadline(case: &Case) -> Option<(DeadlineKind, DateTime<Utc>)> {
    [
        DeadlineKind::Draft,
        DeadlineKind::Answer,
        DeadlineKind::Rework,
        DeadlineKind::Final,
    ]
    .into_iter()
    .filter_map(|k| crate::workflow::open_deadline(case, k).map(|t| (k, t)))
    .min_by_key(|(_, t)| *t)
}

/// `МОИ ДЕЛА` / `MY CASES`: the open cases, overdue first; grouped by executor for the
/// coordinator and the supervisor.
pub fn render_queue(
    config: &Config,
    items: &[QueueItem<'_>],
    grouped: bool,
    now: DateTime<Utc>,
    service_addr: &str,
) -> Rendered {
    let lang = config.service.language;
    let mut text = String::new();
    let mut html = String::from("<html><body>");
    if items.is_empty() {
        text.push_str(tr(lang, "Открытых дел нет.\n", "No open cases.\n"));
        html.push_str(&format!(
            "<p>{}</p>",
            tr(lang, "Открытых дел нет.", "No open cases.")
        ));
    }
    let mut groups: Vec<(String, Vec<&QueueItem<'_>>)> = Vec::new();
    for item in items {
        let key = if grouped {
            item.case.executor.clone().unwrap_or_else(|| "-".into())
        } else {
            String::new()
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(item),
            None => groups.push((key, vec![item])),
        }
    }
    for (key, group) in groups {
        if grouped {
            let who = config
                .executor(&key)
                .map(|e| format!("{} ({})", e.name, e.id))
                .unwrap_or_else(|| tr(lang, "не назначены", "unassigned").to_string());
            text.push_str(&format!("\n== {who}: {}\n", group.len()));
            html.push_str(&format!("<h3>{}: {}</h3>", html_escape(&who), group.len()));
        }
        html.push_str(&format!(
            "<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            tr(lang, "Дело", "Case"),
            tr(lang, "Состояние", "State"),
            tr(lang, "Тема", "Topic"),
            tr(lang, "Ближайший срок", "Next deadline"),
            tr(lang, "Ответить", "Reply")
        ));
        for item in group {
            let c = item.case;
            let (due, overdue) = match next_deadline(c) {
                Some((kind, t)) => (
                    format!("{} {}", deadline_name(lang, kind), local_time(config, t)),
                    t <= now,
                ),
                None => ("-".into(), false),
            };
            let mark = if overdue {
                tr(lang, " — ПРОСРОЧЕНО", " — OVERDUE")
            } else {
                ""
            };
            let link = mailto(service_addr, &format!("[{}] #{}", c.id, item.code), "");
            text.push_str(&format!(
                "[{}] {} | {} | {}{mark}\n    {}\n",
                c.id,
                c.state.as_str(),
                headline(c),
                due,
                link
            ));
            html.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td><a href=\"{}\">{}</a></td></tr>",
                html_escape(&c.id),
                c.state.as_str(),
                html_escape(&headline(c)),
                html_escape(&due),
                html_escape(mark),
                html_escape(&link),
                tr(lang, "ответить", "reply")
            ));
        }
        html.push_str("</table>");
    }
    html.push_str("</body></html>");
    Rendered {
        subject: format!("{} ({})", tr(lang, "Мои дела", "My cases"), items.len()),
        text,
        html: Some(html),
        attachments: Vec::new(),
        calendar: None,
    }
}

/// Answers to `ОТСУТСТВУЮ ДО` / `НА МЕСТЕ`, to the executor or (about them) the coordinator.
pub fn render_absence(
    config: &Config,
    executor: &crate::config::Executor,
    until: Option<chrono::NaiveDate>,
    for_coordinator: bool,
) -> Rendered {
    let lang = config.service.language;
    let deputy = executor
        .deputy
        .as_deref()
        .and_then(|d| config.executor(d))
        .map(|d| d.name.clone())
        .unwrap_or_default();
    let (subject, text) = match (until, for_coordinator) {
        (Some(d), false) => (
            format!(
                "{} {}",
                tr(lang, "Отсутствие записано до", "Absence recorded until"),
                d.format("%d.%m.%Y")
            ),
            format!(
                "{} {}. {}: {deputy}.\n{}\n",
                tr(lang, "Отсутствие записано по", "Absence recorded until"),
                d.format("%d.%m.%Y"),
                tr(
                    lang,
                    "Новые дела получит заместитель",
                    "New cases go to your deputy"
                ),
                tr(
                    lang,
                    "Открытые дела остаются за вами, пока координатор их не переназначит. Вернувшись раньше, напишите: НА МЕСТЕ.",
                    "Open cases stay yours unless the coordinator reassigns them. Back earlier? Write: BACK."
                )
            ),
        ),
        (Some(d), true) => (
            format!(
                "{}: {} {} {}",
                tr(lang, "Отсутствие", "Absence"),
                executor.name,
                tr(lang, "до", "until"),
                d.format("%d.%m.%Y")
            ),
            format!(
                "{} {} ({}) {} {}. {}: {deputy}.\n",
                tr(lang, "Исполнитель", "Executor"),
                executor.name,
                executor.id,
                tr(lang, "отсутствует по", "is away until"),
                d.format("%d.%m.%Y"),
                tr(
                    lang,
                    "Новые дела передаются заместителю",
                    "New cases go to the deputy"
                )
            ),
        ),
        (None, false) => (
            tr(lang, "С возвращением", "Welcome back").to_string(),
            tr(
                lang,
                "Отсутствие снято: новые дела снова приходят вам.\n",
                "Absence ended: new cases come to you again.\n",
            )
            .to_string(),
        ),
        (None, true) => (
            format!("{}: {}", tr(lang, "На месте", "Back"), executor.name),
            format!(
                "{} {} ({}) {}\n",
                tr(lang, "Исполнитель", "Executor"),
                executor.name,
                executor.id,
                tr(lang, "снова на месте.", "is back.")
            ),
        ),
    };
    Rendered {
        subject,
        text,
        html: None,
        attachments: Vec::new(),
        calendar: None,
    }
}

/// A short refusal of a self-service request.
pub fn render_service_refusal(config: &Config, reason: &str) -> Rendered {
    let lang = config.service.language;
    Rendered {
        subject: tr(lang, "Письмо не принято", "Your message was not accepted").to_string(),
        text: format!("{reason}.\n"),
        html: None,
        attachments: Vec::new(),
        calendar: None,
    }
}

/// To the coordinator: a message over `imap.max_message_size` was set aside unread.
pub fn render_oversized(
    config: &Config,
    from: &str,
    subject: &str,
    size: u64,
    limit: u64,
) -> Rendered {
    let lang = config.service.language;
    let mb = |n: u64| format!("{:.1}", n as f64 / 1_048_576.0);
    let mailbox = &config.imap.rejected_mailbox;
    Rendered {
        subject: tr(lang, "Письмо слишком большое", "A message was too large").to_string(),
        text: match lang {
            Language::Ru => format!(
                "Письмо размером {} МБ больше предела {} МБ (imap.max_message_size); оно не прочитано \
                 и перемещено в папку «{mailbox}».\n\nОт: {from}\nТема: {subject}\n\n\
                 Если это уведомление о сообщении, перешлите его без вложений или заведите дело вручную.\n",
                mb(size),
                mb(limit)
            ),
            Language::En => format!(
                "A message of {} MB is over the limit of {} MB (imap.max_message_size); it was not read \
                 and is in the folder \"{mailbox}\".\n\nFrom: {from}\nSubject: {subject}\n\n\
                 If it is a notification, forward it without attachments.\n",
                mb(size),
                mb(limit)
            ),
        },
        html: None,
        attachments: Vec::new(),
        calendar: None,
    }
}
