//! What a case's history teaches the routing model. Pure: the shell reads a case, asks
//! [`signals`], and applies them to its model with [`teach`] (or stores them to retrain).
//!
//! - a draft (answer, interim answer or clarifying question) by the executor holding the
//!   case: the post is theirs — a positive example (for the absent executor when a deputy
//!   wrote it on their behalf: the competence is the absent one's);
//! - `НАЗНАЧИТЬ` by the coordinator: the post belongs to the executor she named — positive;
//! - `НЕ МОЯ КОМПЕТЕНЦИЯ` (history event `declined`): not the decliner's — negative.
//!
//! Assignments made by the service itself (a rule, the model, a repeat) teach nothing: the
//! model would only learn its own guesses back.

use crate::config::Config;
use crate::routing::model::{Example, Model};
use crate::workflow::{Case, HistoryEvent};

/// One thing learned from a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// The post is this executor's.
    Positive(String),
    /// The post is not this executor's.
    Negative(String),
}

/// The executor id an `assigned` entry names (`to ID …`) and the absent one it stands in
/// for (`…, on behalf of absent ID`).
fn assigned_to(detail: &str) -> Option<(String, Option<String>)> {
    let rest = detail.strip_prefix("to ")?;
    let id: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    if id.is_empty() {
        return None;
    }
    let absent = detail.rsplit_once("on behalf of absent ").map(|(_, a)| {
        a.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    });
    Some((id, absent))
}

/// The training signals in a case's history, oldest first, each at most once.
pub fn signals(config: &Config, case: &Case) -> Vec<Signal> {
    let coordinator = &config.people.coordinator.email;
    let mut out: Vec<Signal> = Vec::new();
    let mut push = |s: Signal| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    // Whom the case is held for: the executor, or the absent one a deputy stands in for.
    let mut holder: Option<(String, Option<String>)> = None;
    for h in &case.history {
        match h.event {
            HistoryEvent::Assigned => {
                holder = assigned_to(&h.detail);
                if h.by == *coordinator
                    && let Some((id, absent)) = &holder
                {
                    push(Signal::Positive(
                        absent.clone().unwrap_or_else(|| id.clone()),
                    ));
                }
            }
            HistoryEvent::Draft | HistoryEvent::Interim | HistoryEvent::Clarification => {
                let Some(author) = config.executor_by_email(&h.by) else {
                    continue;
                };
                let id = match &holder {
                    Some((held, Some(absent))) if *held == author.id => absent.clone(),
                    _ => author.id.clone(),
                };
                push(Signal::Positive(id));
            }
            HistoryEvent::Declined => {
                if let Some(e) = config.executor_by_email(&h.by) {
                    push(Signal::Negative(e.id.clone()));
                }
                holder = None;
            }
            _ => {}
        }
    }
    out
}

/// Applies signals about the post of `case` to `model`.
pub fn teach(model: &mut Model, case: &Case, signals: &[Signal]) {
    let example = Example::of(&case.notification);
    for s in signals {
        match s {
            Signal::Positive(id) => model.learn(&example, id),
            Signal::Negative(id) => model.negative(&example, id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::assigned_to;

    #[test]
    fn reads_the_assigned_detail() {
        assert_eq!(
            assigned_to("to housing (rule «ЖКХ»)"),
            Some(("housing".into(), None))
        );
        assert_eq!(
            assigned_to("to economy (model), on behalf of absent housing"),
            Some(("economy".into(), Some("housing".into())))
        );
        assert_eq!(assigned_to("nobody"), None);
    }
}
