//! Durations, deadlines, actions and states in the words officials read, in the
//! service's language.

use chrono::{DateTime, Utc};

use super::{deadline_name, local_time, tr};
use crate::config::{Config, DeadlineKind, Language};

/// A configured duration as officials read it: `7 рабочих дней`, `1 рабочий день`,
/// `4 рабочих часа`, `90 рабочих минут` (`7 working days`, `4 working hours`).
pub fn work_duration_words(lang: Language, d: crate::calendar::WorkDuration) -> String {
    // Russian: one form after 1 (but 11), another after 2–4 (but 12–14), the third else.
    let ru = |n: u64, forms: [&str; 3]| {
        let form = match (n % 10, n % 100) {
            (1, r) if r != 11 => forms[0],
            (2..=4, r) if !(12..=14).contains(&r) => forms[1],
            _ => forms[2],
        };
        format!("{n} {form}")
    };
    let en = |n: u64, unit: &str| format!("{n} working {unit}{}", if n == 1 { "" } else { "s" });
    let (n, unit) = match d {
        crate::calendar::WorkDuration::Days(n) => (u64::from(n), 0),
        crate::calendar::WorkDuration::Seconds(s) if s % 3600 == 0 => (s / 3600, 1),
        crate::calendar::WorkDuration::Seconds(s) => (s.div_ceil(60), 2),
    };
    match (lang, unit) {
        (Language::Ru, 0) => ru(n, ["рабочий день", "рабочих дня", "рабочих дней"]),
        (Language::Ru, 1) => ru(n, ["рабочий час", "рабочих часа", "рабочих часов"]),
        (Language::Ru, _) => ru(n, ["рабочая минута", "рабочие минуты", "рабочих минут"]),
        (Language::En, 0) => en(n, "day"),
        (Language::En, 1) => en(n, "hour"),
        (Language::En, _) => en(n, "minute"),
    }
}

/// `осталось 5 рабочих ч` / `просрочено на 2 рабочих ч`, by the working-time calendar.
pub fn hours_left(config: &Config, now: DateTime<Utc>, deadline: DateTime<Utc>) -> String {
    let lang = config.service.language;
    let cal = &config.calendar;
    let unit = |n: i64| match lang {
        Language::Ru if n % 10 == 1 && n % 100 != 11 => "рабочий ч",
        Language::Ru => "рабочих ч",
        Language::En => "working h",
    };
    if now < deadline {
        let h = cal.working_time_between(now, deadline).num_minutes() / 60;
        if h == 0 {
            tr(
                lang,
                "осталось меньше 1 рабочего ч",
                "less than 1 working h left",
            )
            .to_string()
        } else {
            match lang {
                Language::Ru => format!("осталось {h} {}", unit(h)),
                Language::En => format!("{h} {} left", unit(h)),
            }
        }
    } else {
        let m = cal.working_time_between(deadline, now).num_minutes();
        let h = ((m + 59) / 60).max(1);
        format!(
            "{} {h} {}",
            tr(lang, "просрочено на", "overdue by"),
            unit(h)
        )
    }
}

/// `до ср 02.12.2026 15:15, осталось 9 рабочих ч (срок ответа)`, or for a deadline
/// passed `срок ср 02.12.2026 15:15 прошёл, просрочено на 2 рабочих ч (срок ответа)`.
pub fn due_phrase(
    config: &Config,
    now: DateTime<Utc>,
    kind: DeadlineKind,
    deadline: DateTime<Utc>,
) -> String {
    let lang = config.service.language;
    let when = local_time(config, deadline);
    let left = hours_left(config, now, deadline);
    let name = deadline_name(lang, kind);
    match (lang, now < deadline) {
        (Language::Ru, true) => format!("до {when}, {left} ({name})"),
        (Language::Ru, false) => format!("срок {when} прошёл, {left} ({name})"),
        (Language::En, true) => format!("by {when}, {left} ({name})"),
        (Language::En, false) => format!("due {when}, {left} ({name})"),
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
        "repeat" => (
            "связь с прежним делом (повторное обращение)",
            "linking to the earlier case (a repeat)",
        ),
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

pub(super) fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}
