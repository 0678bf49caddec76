//! How a new notification is to be handled (clause 12, a repeat within the window, a rule)
//! and the deadlines and dates it starts with.

use chrono::{DateTime, Utc};

use super::{Case, CaseDeadlines, HistoryEvent};
use crate::config::Config;
use crate::intake::Notification;
use crate::routing::{self, Model, Probability, RouteDecision, Suggestion};

/// How a new notification is to be handled (clauses 10, 12; rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classification {
    /// Clause 12: the lexicon entry that matched.
    Excluded {
        /// The lexicon entry that matched the post.
        matched: String,
    },
    /// Clause 10: a repeat of an earlier case (its id and executor).
    Repeat {
        /// The earlier case's id.
        of: String,
        /// The earlier case's executor, who gets the repeat.
        executor: Option<String>,
        /// The answer approved on the earlier case, to quote to the executor.
        earlier_answer: Option<String>,
    },
    /// A rule named the executor; `repeat_unmatched`: flagged as a repeat, no earlier case.
    Routed {
        /// The matching rule's name.
        rule: String,
        /// The executor id the rule names.
        executor: String,
        /// The platform flagged the post as a repeat, but no earlier case was found.
        repeat_unmatched: bool,
    },
    /// No rule matched; the routing model was sure enough (`routing.auto_threshold`).
    Modelled {
        /// The executor the model chose.
        executor: String,
        /// Its posterior probability.
        confidence: Probability,
        /// The post's words that speak most for that executor.
        top_words: Vec<String>,
        /// The platform flagged the post as a repeat, but no earlier case was found.
        repeat_unmatched: bool,
    },
    /// No rule matched and the model was not sure enough (or is off): the coordinator
    /// decides.
    Unmatched {
        /// The platform flagged the post as a repeat, but no earlier case was found.
        repeat_unmatched: bool,
        /// The model's best guesses for the coordinator, most probable first.
        suggestions: Vec<Suggestion>,
    },
}

/// Is `earlier` a case this notification may repeat (clause 10): detected before it, within
/// `intake.repeat_window` calendar days?
pub fn within_repeat_window(config: &Config, earlier: &Case, n: &Notification) -> bool {
    let before = earlier.notification.detected_at;
    before <= n.detected_at && n.detected_at - before <= config.intake.repeat_window
}

/// Classify a notification with the config's starter routing model ([`classify_with`]).
pub fn classify(config: &Config, n: &Notification, earlier: Option<&Case>) -> Classification {
    classify_with(config, None, n, earlier)
}

/// Classify a notification. `earlier` is the latest case by the same author on the same
/// topic within the repeat window (the store finds it); `model` is the routing model the
/// shell keeps (learned from earlier cases), `None` for the config's starter model.
pub fn classify_with(
    config: &Config,
    model: Option<&Model>,
    n: &Notification,
    earlier: Option<&Case>,
) -> Classification {
    if let Some(matched) = config.intake.lexicon.exclude(&n.text) {
        return Classification::Excluded { matched };
    }
    if let Some(prev) = earlier {
        return Classification::Repeat {
            of: prev.id.clone(),
            executor: prev.executor.clone(),
            earlier_answer: prev.approved.as_ref().map(|d| d.text.clone()),
        };
    }
    let repeat_unmatched = n.repeat;
    match routing::route(config, model, n) {
        RouteDecision::Rule { name, executor } => Classification::Routed {
            rule: name,
            executor,
            repeat_unmatched,
        },
        RouteDecision::Model {
            executor,
            confidence,
            top_words,
        } => Classification::Modelled {
            executor,
            confidence,
            top_words,
            repeat_unmatched,
        },
        RouteDecision::Coordinator { suggestions } => Classification::Unmatched {
            repeat_unmatched,
            suggestions,
        },
    }
}

/// The draft and answer deadlines of a notification detected at `detected`.
pub fn initial_deadlines(config: &Config, n: &Notification) -> CaseDeadlines {
    let set = config.deadlines.for_category(n.category.as_deref());
    let cal = &config.calendar;
    let answer = cal.add(n.detected_at, set.answer);
    let draft = cal.sub(answer, set.draft_before_answer);
    CaseDeadlines {
        draft: Some(draft),
        answer: Some(answer),
        rework: None,
        final_: None,
    }
}

/// Has an interim answer of the case been approved (cl. 9: a final one is owed)?
pub fn had_interim(case: &Case) -> bool {
    case.history.iter().any(|h| {
        h.event == HistoryEvent::Approved && h.detail.starts_with("interim answer approved")
    })
}

/// The calendar-zone date of an instant.
pub fn local_date(config: &Config, t: DateTime<Utc>) -> chrono::NaiveDate {
    t.with_timezone(&config.calendar.timezone()).date_naive()
}
