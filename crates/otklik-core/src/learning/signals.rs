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

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::classifier::{Example, Model};
use crate::config::Config;
use crate::workflow::{Case, HistoryEvent};

/// One thing learned from a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "executor")]
pub enum Signal {
    /// The post is this executor's.
    Positive(String),
    /// The post is not this executor's.
    Negative(String),
}

/// The executor id an `assigned` entry names (`to ID …`) and the absent one it stands in
/// for (`…, on behalf of absent ID`).
pub(crate) fn assigned_to(detail: &str) -> Option<(String, Option<String>)> {
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

/// Where a signal came from in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A draft, interim answer or clarifying question by the executor holding the case.
    Draft,
    /// `НАЗНАЧИТЬ` by the coordinator.
    Coordinator,
    /// `НЕ МОЯ КОМПЕТЕНЦИЯ`.
    Declined,
}

/// The training signals in a case's history, oldest first, each at most once.
pub fn signals(config: &Config, case: &Case) -> Vec<Signal> {
    let mut out: Vec<Signal> = Vec::new();
    for (s, _) in sourced(config, case) {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// The executor whose competence the last draft of the case shows (the absent executor
/// when a deputy wrote it on their behalf), if anyone drafted.
pub fn drafted_by(config: &Config, case: &Case) -> Option<String> {
    sourced(config, case)
        .into_iter()
        .rev()
        .find_map(|(s, src)| match (s, src) {
            (Signal::Positive(id), Source::Draft) => Some(id),
            _ => None,
        })
}

/// Every signal of the history with where it came from, oldest first (repeats kept).
pub fn sourced(config: &Config, case: &Case) -> Vec<(Signal, Source)> {
    let coordinator = &config.people.coordinator.email;
    let mut out: Vec<(Signal, Source)> = Vec::new();
    let mut push = |s: Signal, src: Source| out.push((s, src));
    // Whom the case is held for: the executor, or the absent one a deputy stands in for.
    let mut holder: Option<(String, Option<String>)> = None;
    for h in &case.history {
        match h.event {
            HistoryEvent::Assigned => {
                holder = assigned_to(&h.detail);
                if h.by == *coordinator
                    && let Some((id, absent)) = &holder
                {
                    push(
                        Signal::Positive(absent.clone().unwrap_or_else(|| id.clone())),
                        Source::Coordinator,
                    );
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
                push(Signal::Positive(id), Source::Draft);
            }
            HistoryEvent::Declined => {
                if let Some(e) = config.executor_by_email(&h.by) {
                    push(Signal::Negative(e.id.clone()), Source::Declined);
                }
                holder = None;
            }
            _ => {}
        }
    }
    out
}

/// A training example a case confirmed, as the store keeps it: the post, what it taught
/// about whom, and when it was learned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taught {
    /// The case's number.
    pub case: u64,
    /// Positive or negative, for which executor.
    pub signal: Signal,
    /// The post.
    pub example: Example,
    /// When the event that taught it happened.
    pub at: DateTime<Utc>,
}

/// What a change of a case teaches: the signals of `new` that `old` (the case as it was
/// before the event; `None` for a new case) did not have yet, as examples to store. Each
/// signal of a case is taught once however often the history repeats it.
pub fn learned(config: &Config, old: Option<&Case>, new: &Case, at: DateTime<Utc>) -> Vec<Taught> {
    let before = old.map(|c| signals(config, c)).unwrap_or_default();
    let example = Example::of(&new.notification);
    signals(config, new)
        .into_iter()
        .filter(|s| !before.contains(s))
        .map(|signal| Taught {
            case: new.number,
            signal,
            example: example.clone(),
            at,
        })
        .collect()
}

/// Applies one stored example to `model`.
pub fn apply(model: &mut Model, taught: &Taught) {
    match &taught.signal {
        Signal::Positive(id) => model.learn(&taught.example, id),
        Signal::Negative(id) => model.negative(&taught.example, id),
    }
}

/// The model the service routes with: `starter` (the config's starter model) and every
/// stored example on top, in one pass. Examples for executors the config no longer has are
/// learned too (they cannot be proposed: [`crate::routing::suggest`] keeps the config's).
pub fn trained<'a>(starter: &Model, taught: impl IntoIterator<Item = &'a Taught>) -> Model {
    let mut model = starter.clone();
    for t in taught {
        apply(&mut model, t);
    }
    model
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
