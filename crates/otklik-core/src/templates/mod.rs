//! Every text otklik sends, in one place (Russian by default, English with
//! `language = "en"`). Pure: a notice, the case and the time in, subject and body out.
//! One function per notice: the intake notices in `intake`, the approval round in
//! `approval`, short status mails in `status`, reminders and escalations in `deadline`,
//! the self-service answers (МОИ ДЕЛА, absence, refusals) in `service`.

mod approval;
mod deadline;
mod intake;
mod service;
mod status;

pub use service::{
    QueueItem, next_deadline, render_absence, render_oversized, render_queue,
    render_service_refusal,
};

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
            "\n-- \n{}\n",
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

/// One notice's subject, body and attachments, before the code line and the footer.
struct Parts {
    subject: String,
    text: String,
    attachments: Vec<Attachment>,
}

/// Renders one notice for one recipient.
pub fn render(view: &View<'_>, notice: &Notice) -> Rendered {
    let parts = match &notice.kind {
        NoticeKind::NewCase { absent } => intake::new_case(view, absent),
        NoticeKind::NeedsAssignment { reason } => intake::needs_assignment(view, reason),
        NoticeKind::Excluded { matched } => intake::excluded(view, matched),
        NoticeKind::RepeatUnmatched => intake::repeat_unmatched(view),
        NoticeKind::ForApproval => approval::for_approval(view),
        NoticeKind::Returned { comments } => approval::returned(view, comments),
        NoticeKind::Approved => approval::approved(view),
        NoticeKind::Declined { reason } => approval::declined(view, reason),
        NoticeKind::Withdrawn { reason } => status::withdrawn(view, reason),
        NoticeKind::Confirmation { action } => status::confirmation(view, action),
        NoticeKind::Refused { reason } => status::refused(view, reason),
        NoticeKind::Deadline {
            kind,
            deadline,
            late,
        } => deadline::deadline(view, *kind, *deadline, *late),
    };
    let mut text = parts.text;
    text.push('\n');
    text.push_str(&view.code_line());
    text.push_str(&view.footer());
    Rendered {
        subject: parts.subject,
        text,
        html: None,
        attachments: parts.attachments,
        calendar: None,
    }
}
