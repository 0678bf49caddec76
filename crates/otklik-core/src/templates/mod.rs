//! Every text otklik sends, in one place (Russian by default, English with
//! `language = "en"`). Pure: a notice, the case and the time in, subject and body out.
//! One function per notice: the intake notices in `intake`, the approval round in
//! `approval`, short status mails in `status`, reminders and escalations in `deadline`,
//! the self-service answers (МОИ ДЕЛА, absence, refusals) in `service`.

mod abuse;
mod approval;
mod deadline;
pub mod decree;
pub mod doc;
mod gathered;
mod intake;
mod phrases;
mod repeat;
mod service;
mod status;

pub use service::{
    QueueItem, next_deadline, render_absence, render_confirmation, render_coordinator_absence,
    render_oversized, render_queue, render_service_refusal, render_set_aside,
};

use chrono::{DateTime, Datelike, Utc};

use crate::config::{Config, DeadlineKind, Language};
use crate::inbound::Attachment;
use crate::reply::keyword::Word;
use crate::workflow::{Case, DraftKind, Notice, NoticeKind};

use doc::{Block, Button, Doc, Lead, Tone};
pub use gathered::{Listed, new_cases};
use phrases::capitalize;
pub use phrases::{action_label, due_phrase, hours_left, state_label, work_duration_words};

/// A mail's content, before the MIME envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The `Subject:`, with the case's tag where there is a case.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// An HTML alternative of `text`, where a table helps.
    pub html: Option<String>,
    /// Files sent with the mail (the post's photos among them).
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

/// The name of a deadline in the configured language, `срок ответа` / `answer deadline`.
pub fn deadline_name(lang: Language, kind: DeadlineKind) -> &'static str {
    match (lang, kind) {
        (Language::Ru, DeadlineKind::Draft) => "срок проекта ответа",
        (Language::Ru, DeadlineKind::Answer) => "срок ответа",
        (Language::Ru, DeadlineKind::Rework) => "срок доработки",
        // Cl. 9: the executor's part after an interim answer is the final draft.
        (Language::Ru, DeadlineKind::Final) => "срок окончательного проекта ответа",
        (Language::En, DeadlineKind::Draft) => "draft deadline",
        (Language::En, DeadlineKind::Answer) => "answer deadline",
        (Language::En, DeadlineKind::Rework) => "rework deadline",
        (Language::En, DeadlineKind::Final) => "final draft deadline",
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
    /// The configuration: language, people, calendar.
    pub config: &'a Config,
    /// The case the mail is about, after the event.
    pub case: &'a Case,
    /// The time the mail is written, for what is left until a deadline.
    pub now: DateTime<Utc>,
    /// The recipient's address (lower-cased) and action code (without `#`).
    pub recipient: &'a str,
    /// The recipient's action code for this case, without `#`.
    pub code: &'a str,
    /// The service's own address (for `mailto:` links).
    pub service_addr: &'a str,
}

impl View<'_> {
    fn lang(&self) -> Language {
        self.config.service.language
    }

    fn ru(&self) -> bool {
        self.lang() == Language::Ru
    }

    fn tag(&self) -> String {
        format!("[{}]", self.case.id)
    }

    /// `[OTK-42] What: topic — location`, `what` in the configured language.
    fn subject(&self, ru: &str, en: &str) -> String {
        format!(
            "{} {}: {}",
            self.tag(),
            tr(self.lang(), ru, en),
            headline(self.case)
        )
    }

    /// A mail body with the salutation, the footer (the coordinator's signature first) and
    /// the action code.
    fn doc(&self, subject: &str) -> Doc {
        let footer = format!("{}{}", decree::signature(self), footer(self.lang()));
        let mut d = Doc::new(self.ru(), subject.to_string(), footer);
        let greeting = decree::greeting(self);
        if !greeting.trim().is_empty() {
            d.push(Block::Text(greeting.trim().to_string()));
        }
        d.code = Some((
            tr(
                self.lang(),
                "Код подтверждения (оставьте его в ответе)",
                "Action code (keep it in your reply)",
            )
            .to_string(),
            self.code.to_string(),
        ));
        d
    }

    /// The top line: `ask`, by the case's nearest open deadline (if any).
    fn lead(&self, ask: &str) -> Lead {
        let due = next_deadline(self.case);
        Lead {
            ask: ask.to_string(),
            due: due.map(|(kind, t)| due_phrase(self.config, self.now, kind, t)),
            tone: match due {
                Some((_, t)) if t <= self.now => Tone::Late,
                _ => Tone::Ask,
            },
        }
    }

    fn info(&self, what: &str) -> Lead {
        Lead {
            ask: what.to_string(),
            due: None,
            tone: Tone::Info,
        }
    }

    fn button(&self, keyword: &str, label: &str, explain: &str) -> Button {
        let subject = format!("{} {keyword} #{}", self.tag(), self.code);
        Button {
            keyword: keyword.to_string(),
            label: label.to_string(),
            explain: explain.to_string(),
            href: mailto(self.service_addr, &subject, ""),
        }
    }

    fn fields(&self) -> Block {
        let lang = self.lang();
        let n = &self.case.notification;
        let mut rows = Vec::new();
        let mut line = |label: &str, value: &Option<String>| {
            if let Some(v) = value {
                rows.push((label.to_string(), v.clone()));
            }
        };
        line(tr(lang, "Автор", "Author"), &n.author);
        line(tr(lang, "Ссылка", "Link"), &n.link);
        line(tr(lang, "Рубрика", "Topic"), &n.topic);
        line(tr(lang, "Территория", "Location"), &n.location);
        line(tr(lang, "Категория важности", "Category"), &n.category);
        line(tr(lang, "Источник", "Source"), &n.source);
        line(tr(lang, "Номер инцидента", "Incident ID"), &n.source_id);
        rows.push((
            tr(lang, "Выявлено", "Detected").to_string(),
            local_time(self.config, n.detected_at),
        ));
        if let Some(r) = &self.case.repeat_of {
            rows.push((
                tr(lang, "Повторное, прежнее дело", "Repeat of").to_string(),
                r.clone(),
            ));
        }
        Block::Fields(rows)
    }

    /// The earlier approved answers to posts like this one (the archive), one quote each:
    /// case number or imported id, date, location, similarity; the earlier post (cut) and
    /// its answer. Nothing when the archive offered none.
    fn similar(&self, d: &mut Doc) {
        let lang = self.lang();
        for s in &self.case.similar {
            let mut head = format!(
                "{} {}",
                tr(lang, "Похожее обращение", "A similar earlier post"),
                s.id
            );
            if let Some(date) = s.date {
                head.push_str(&format!(
                    "{} {}",
                    tr(lang, " от", ","),
                    date.format(match lang {
                        Language::Ru => "%d.%m.%Y",
                        Language::En => "%Y-%m-%d",
                    })
                ));
            }
            if !s.location.trim().is_empty() {
                head.push_str(&format!(", {}", s.location.trim()));
            }
            head.push_str(&format!(
                " — {} {:.0}%",
                tr(lang, "сходство", "similarity"),
                (s.score * 100.0).clamp(0.0, 100.0)
            ));
            d.push(Block::Quote {
                title: head,
                text: format!(
                    "{}: {}\n\n{}: {}",
                    tr(lang, "Сообщение", "Post"),
                    cut(&s.text, SIMILAR_POST_CHARS),
                    tr(lang, "Согласованный ответ", "Approved answer"),
                    cut(&s.answer, SIMILAR_ANSWER_CHARS)
                ),
            });
        }
    }

    fn post_text(&self) -> Block {
        Block::Quote {
            title: tr(self.lang(), "Текст сообщения", "Post text").to_string(),
            text: self.case.notification.text.clone(),
        }
    }

    /// The photos of `attachments`, shown inline (their Content-IDs: [`image_cid`]): the
    /// first [`MAX_INLINE_IMAGES`]; the rest travel as attachments.
    fn images(&self, attachments: &[Attachment]) -> Block {
        Block::Images(
            attachments
                .iter()
                .enumerate()
                .filter(|(_, a)| is_inline_image(a))
                .take(MAX_INLINE_IMAGES)
                .map(|(i, a)| (image_cid(&self.case.id, i), a.filename.clone()))
                .collect(),
        )
    }

    fn deadlines(&self) -> Block {
        let lang = self.lang();
        let mut rows = Vec::new();
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
                let mut v = local_time(self.config, t);
                if crate::workflow::open_deadline(self.case, kind).is_some() {
                    v.push_str(&format!(", {}", hours_left(self.config, self.now, t)));
                }
                rows.push((capitalize(deadline_name(lang, kind)), v));
            }
        }
        Block::Fields(rows)
    }

    fn executor_actions(&self, d: &mut Doc) {
        let lang = self.lang();
        d.instruction = Some(
            tr(
                lang,
                "Ответьте на это письмо: текст письма — проект ответа автору (фото и видео — вложениями).",
                "Reply to this message: its text is the draft answer to the author (photos and video as attachments).",
            )
            .to_string(),
        );
        d.actions_title = Some(
            tr(
                lang,
                "Первым словом ответа можно указать вид:",
                "The first word of your reply may say what it is:",
            )
            .to_string(),
        );
        let set = (self.config.deadlines).for_category(self.case.notification.category.as_deref());
        let final_after = work_duration_words(lang, set.final_after_interim);
        let final_within = match lang {
            Language::Ru => format!("окончательный — в течение {final_after}"),
            Language::En => format!("the final one within {final_after}"),
        };
        d.buttons.push(self.button(
            keyword(lang, Word::Interim),
            tr(lang, "Промежуточный ответ", "Interim answer"),
            &final_within,
        ));
        d.buttons.push(self.button(
            keyword(lang, Word::Query),
            tr(lang, "Уточняющий вопрос", "Clarifying question"),
            tr(lang, "вопрос автору сообщения", "a question to the author"),
        ));
        d.buttons.push(self.button(
            keyword(lang, Word::Decline),
            tr(lang, "Не моя компетенция", "Decline"),
            tr(
                lang,
                "вернуть координатору для переназначения (укажите причину)",
                "back to the coordinator to reassign (say why)",
            ),
        ));
    }

    fn coordinator_actions(&self, d: &mut Doc) {
        let lang = self.lang();
        d.instruction = Some(format!(
            "{} {} {} {}",
            tr(
                lang,
                "Ответьте на это письмо: первая строка —",
                "Reply to this message: the first line is"
            ),
            keyword(lang, Word::Approve),
            tr(lang, "или", "or"),
            tr(lang, "ДОРАБОТАТЬ и замечания.", "REWORK and your comments.")
        ));
        d.actions_title = Some(
            tr(
                lang,
                "Первым словом ответа укажите действие:",
                "Reply with the action as its first word:",
            )
            .to_string(),
        );
        d.buttons.push(self.button(
            keyword(lang, Word::Approve),
            tr(lang, "Согласовать", "Approve"),
            tr(
                lang,
                "текст уйдёт исполнителю на публикацию",
                "the text goes to the executor to be posted",
            ),
        ));
        d.buttons.push(self.button(
            keyword(lang, Word::Rework),
            tr(lang, "Вернуть на доработку", "Return for rework"),
            tr(
                lang,
                "замечания — после слова, в том же письме",
                "comments after the keyword, in the same reply",
            ),
        ));
        d.push(Block::Text(
            tr(
                lang,
                "Ещё: НАЗНАЧИТЬ <исполнитель> — переназначить; ИСКЛЮЧИТЬ — п. 12; ЗАКРЫТЬ <причина> — закрыть без ответа.",
                "Also: ASSIGN <executor> — reassign; EXCLUDE — clause 12; CLOSE <reason> — close without an answer.",
            )
            .to_string(),
        ));
    }

    /// Whether the recipient may confirm the posting (ОПУБЛИКОВАНО): while an approved text
    /// waits to be posted, the executor, the publisher and the coordinator.
    fn may_publish(&self) -> bool {
        let people = &self.config.people;
        let may = self.recipient == people.coordinator.email
            || people.publisher.as_deref() == Some(self.recipient)
            || self
                .case
                .executor
                .as_deref()
                .and_then(|id| self.config.executor(id))
                .is_some_and(|e| e.email == self.recipient);
        may && self.case.awaiting_publication.is_some()
    }

    /// `ОПУБЛИКОВАНО`, offered only to those [`View::may_publish`] allows.
    fn publish_actions(&self, d: &mut Doc) {
        if !self.may_publish() {
            return;
        }
        let lang = self.lang();
        d.instruction = Some(
            tr(
                lang,
                "После публикации ответьте: ОПУБЛИКОВАНО (можно со ссылкой на ответ).",
                "Once posted, reply: PUBLISHED (a link to the answer is welcome).",
            )
            .to_string(),
        );
        d.buttons.push(self.button(
            keyword(lang, Word::Published),
            tr(lang, "Опубликовано", "Published"),
            tr(
                lang,
                "ответ размещён под сообщением",
                "the answer is posted under the post",
            ),
        ));
    }

    fn executor_list(&self) -> Vec<String> {
        self.config
            .executors
            .iter()
            .map(|e| format!("{} — {}, {}", e.id, e.name, e.position))
            .collect()
    }
}

fn footer(lang: Language) -> String {
    tr(
        lang,
        "otklik — работа с сообщениями из открытых источников. Отвечайте на это письмо, не меняя тему.",
        "otklik — answering posts from open sources. Reply to this message keeping the subject.",
    )
    .to_string()
}

/// The most photos a mail shows inline; the others are attached like any file.
pub const MAX_INLINE_IMAGES: usize = 20;

/// The Content-ID of the `index`-th attachment of a case's mail, when shown inline.
pub fn image_cid(case_id: &str, index: usize) -> String {
    format!("img{index}.{case_id}@otklik")
}

/// A photo a mail client shows inline (PNG, JPEG, GIF, WebP).
pub fn is_inline_image(a: &Attachment) -> bool {
    let ct = a.content_type.to_ascii_lowercase();
    ["image/png", "image/jpeg", "image/gif", "image/webp"]
        .iter()
        .any(|t| ct.starts_with(t))
        && !a.data.is_empty()
}

/// One notice's subject, body and attachments.
struct Parts {
    subject: String,
    doc: Doc,
    attachments: Vec<Attachment>,
}

/// Renders one notice for one recipient: the text part and the HTML part from the same
/// blocks.
pub fn render(view: &View<'_>, notice: &Notice) -> Rendered {
    let parts = match &notice.kind {
        NoticeKind::CaseOpened => decree::case_opened(view),
        NoticeKind::NewCase { absent } => intake::new_case(view, absent),
        NoticeKind::NeedsAssignment {
            reason,
            suggestions,
        } => intake::needs_assignment(view, reason, suggestions),
        NoticeKind::Excluded { matched } => intake::excluded(view, matched),
        NoticeKind::RepeatUnmatched => intake::repeat_unmatched(view),
        NoticeKind::ForApproval => approval::for_approval(view),
        NoticeKind::Returned { comments } => approval::returned(view, comments),
        NoticeKind::Approved => approval::approved(view),
        NoticeKind::Declined { reason } => approval::declined(view, reason),
        NoticeKind::Withdrawn { reason } => status::withdrawn(view, reason),
        NoticeKind::Confirmation { action } => status::confirmation(view, action),
        NoticeKind::Refused { reason, .. } => status::refused(view, reason),
        NoticeKind::Deadline {
            kind,
            deadline,
            late,
        } => deadline::deadline(view, *kind, *deadline, *late),
    };
    Rendered {
        subject: parts.subject,
        text: parts.doc.text(),
        html: Some(parts.doc.html()),
        attachments: parts.attachments,
        calendar: None,
    }
}

/// An earlier post is shown cut to this many characters (the answer matters more).
const SIMILAR_POST_CHARS: usize = 400;
/// An earlier answer is shown cut to this many characters.
const SIMILAR_ANSWER_CHARS: usize = 3000;

/// `text` cut to `max` characters, with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}
