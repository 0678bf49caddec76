//! Who answers (docs/configuration.md `[[rules]]` and `[routing]`, `deputy`/`absent`,
//! absences by mail in docs/keywords.md). Pure.
//!
//! A new post is routed in three steps ([`route`]): the first matching rule, whose word is
//! final; else the [`model`] when it is at least `routing.auto_threshold` sure; else the
//! coordinator, with the model's best two or three guesses as suggestions.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::config::{Config, Executor, Rule};
use crate::intake::Notification;

/// The model's own code, a leaf apart from the configuration (which holds a trained model):
/// [`crate::classifier`].
pub use crate::classifier as model;

pub use crate::classifier::{Example, Labelled, Model, Probability, Suggestion};

/// How many suggestions the coordinator gets at most.
pub const SUGGESTIONS: usize = 3;

/// A suggestion less likely than this is not worth a button.
pub const MIN_SUGGESTION: f64 = 0.05;

/// The stems of a post, read once for every rule: the topic's and the text's apart (a
/// phrase does not run from one into the other), and all of them as a set.
pub struct Said {
    topic: Vec<String>,
    text: Vec<String>,
    all: HashSet<String>,
}

impl Said {
    /// The stems of the notification's topic and text.
    pub fn of(n: &Notification) -> Said {
        let topic = crate::stem::stems(n.topic.as_deref().unwrap_or(""));
        let text = crate::stem::stems(&n.text);
        let all = topic.iter().chain(text.iter()).cloned().collect();
        Said { topic, text, all }
    }

    /// Whether one of the words is said, or one of the phrases (its stems in a row).
    fn says(&self, rule: &Rule) -> bool {
        rule.words
            .iter()
            .any(|w| w.stems.iter().all(|s| self.all.contains(s)))
            || rule.phrases.iter().any(|p| {
                let found = |seq: &[String]| {
                    !p.stems.is_empty()
                        && seq.windows(p.stems.len()).any(|w| w == p.stems.as_slice())
                };
                found(&self.topic) || found(&self.text)
            })
    }
}

/// The first rule, top to bottom, that the notification matches.
pub fn first_match<'a>(config: &'a Config, n: &Notification) -> Option<&'a Rule> {
    let said = config
        .rules
        .iter()
        .any(|r| !r.words.is_empty() || !r.phrases.is_empty())
        .then(|| Said::of(n));
    config
        .rules
        .iter()
        .find(|rule| matches(rule, n, said.as_ref()))
}

/// A rule matches when every non-empty list of it has a pattern that matches; `words` and
/// `phrases` together are one condition (the post says one of them).
pub fn rule_matches(rule: &Rule, n: &Notification) -> bool {
    let said = (!rule.words.is_empty() || !rule.phrases.is_empty()).then(|| Said::of(n));
    matches(rule, n, said.as_ref())
}

fn matches(rule: &Rule, n: &Notification, said: Option<&Said>) -> bool {
    let field = |value: &Option<String>, patterns: &[crate::config::Pattern]| {
        patterns.is_empty()
            || value
                .as_deref()
                .is_some_and(|v| patterns.iter().any(|p| p.is_match(v)))
    };
    field(&n.topic, &rule.topic)
        && field(&n.location, &rule.location)
        && field(&n.category, &rule.category)
        && (rule.text.is_empty() || rule.text.iter().any(|re| re.is_match(&n.text)))
        && ((rule.words.is_empty() && rule.phrases.is_empty())
            || said.is_some_and(|s| s.says(rule)))
}

/// How a new post is routed: by a rule, by the model, or left to the coordinator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by")]
pub enum RouteDecision {
    /// An explicit rule matched; its word is final.
    Rule {
        /// The rule's name.
        name: String,
        /// The executor it names.
        executor: String,
    },
    /// No rule matched and the model is sure enough (`routing.auto_threshold`).
    Model {
        /// The executor it chose.
        executor: String,
        /// Its posterior probability.
        confidence: Probability,
        /// The post's words that speak most for that executor.
        top_words: Vec<String>,
    },
    /// Nobody sure: the coordinator decides, with the model's best guesses.
    Coordinator {
        /// Up to [`SUGGESTIONS`] executors, most probable first (empty without a model).
        suggestions: Vec<Suggestion>,
    },
}

impl RouteDecision {
    /// The executor the post goes to, if any.
    pub fn executor(&self) -> Option<&str> {
        match self {
            RouteDecision::Rule { executor, .. } | RouteDecision::Model { executor, .. } => {
                Some(executor)
            }
            RouteDecision::Coordinator { .. } => None,
        }
    }
}

/// The model's guesses for a post among the config's executors, most probable first.
pub fn suggest(config: &Config, model: Option<&Model>, n: &Notification) -> Vec<Suggestion> {
    if !config.routing.model {
        return Vec::new();
    }
    let model = model.unwrap_or_else(|| config.routing.starter.model());
    model
        .predict(&Example::of(n), SUGGESTIONS + 2)
        .into_iter()
        .filter(|s| config.executor(&s.executor).is_some())
        .take(SUGGESTIONS)
        .collect()
}

/// Routes a new post: rules first, then the model (`model`, or the starter model of the
/// config when `None`) if sure enough, else the coordinator with suggestions.
pub fn route(config: &Config, model: Option<&Model>, n: &Notification) -> RouteDecision {
    if let Some(rule) = first_match(config, n) {
        return RouteDecision::Rule {
            name: rule.name.clone(),
            executor: rule.executor.clone(),
        };
    }
    let mut suggestions = suggest(config, model, n);
    // The model routes by itself only a post whose text it can read: a topic alone (an
    // empty post under «Справочные вопросы») is the coordinator's to judge.
    let reads = model
        .unwrap_or_else(|| config.routing.starter.model())
        .reads_text(&Example::of(n));
    if let Some(best) = suggestions.first()
        && best.probability.get() >= config.routing.auto_threshold
        && reads
    {
        let best = suggestions.swap_remove(0);
        return RouteDecision::Model {
            executor: best.executor,
            confidence: best.probability,
            top_words: best.words,
        };
    }
    suggestions.retain(|s| s.probability.get() >= MIN_SUGGESTION);
    RouteDecision::Coordinator { suggestions }
}

/// Absences announced by email (`ОТСУТСТВУЮ ДО …`): executor id → last day away.
pub type Absences = BTreeMap<String, NaiveDate>;

/// Is the executor away on `date`, by config or by email?
pub fn is_absent(executor: &Executor, absences: &Absences, date: NaiveDate) -> bool {
    executor
        .absent
        .iter()
        .any(|(from, to)| *from <= date && date <= *to)
        || absences
            .get(&executor.id)
            .is_some_and(|until| date <= *until)
}

/// The key under which the coordinator's own absence by email (`ОТСУТСТВУЮ ДО`) is kept
/// among [`Absences`]; no executor id can take it (ids start with a letter or a digit).
pub const COORDINATOR_ABSENCE: &str = "@coordinator";

/// Is the coordinator away on `date`, by `people.coordinator.absent` or by email?
pub fn coordinator_absent(config: &Config, absences: &Absences, date: NaiveDate) -> bool {
    config
        .people
        .coordinator
        .absent
        .iter()
        .any(|(from, to)| *from <= date && date <= *to)
        || absences
            .get(COORDINATOR_ABSENCE)
            .is_some_and(|until| date <= *until)
}

/// Whoever acts with the coordinator's rights on `date`: her deputy's address while she is
/// away and the deputy is there (an executor deputy may be away too), else her own.
pub fn acting_coordinator(config: &Config, absences: &Absences, date: NaiveDate) -> String {
    let own = config.people.coordinator.email.clone();
    if !coordinator_absent(config, absences, date) {
        return own;
    }
    let deputy_id = config.people.coordinator.deputy.as_deref();
    if let Some(e) = deputy_id.and_then(|d| config.executor(d))
        && is_absent(e, absences, date)
    {
        return own;
    }
    config.coordinator_deputy().unwrap_or(own)
}

/// Where a new case for `wanted` goes on `date`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    /// The executor themself.
    Direct(String),
    /// Their deputy, on behalf of the absent executor.
    Deputy {
        /// The deputy's executor id, who gets the case.
        deputy: String,
        /// The absent executor's id.
        absent: String,
    },
    /// Absent, and no deputy present (none set, or away too): the coordinator decides.
    Nobody {
        /// The executor id the rule named (possibly one not in the config).
        absent: String,
    },
}

impl Assignee {
    /// The executor id who gets the case, or `None` when the coordinator must decide.
    pub fn executor(&self) -> Option<&str> {
        match self {
            Assignee::Direct(id) => Some(id),
            Assignee::Deputy { deputy, .. } => Some(deputy),
            Assignee::Nobody { .. } => None,
        }
    }
}

/// One level of deputies: a deputy who is away too leaves the case to the coordinator.
pub fn resolve(config: &Config, absences: &Absences, wanted: &str, date: NaiveDate) -> Assignee {
    let Some(executor) = config.executor(wanted) else {
        return Assignee::Nobody {
            absent: wanted.to_string(),
        };
    };
    if !is_absent(executor, absences, date) {
        return Assignee::Direct(executor.id.clone());
    }
    match executor.deputy.as_deref().and_then(|d| config.executor(d)) {
        Some(deputy) if !is_absent(deputy, absences, date) => Assignee::Deputy {
            deputy: deputy.id.clone(),
            absent: executor.id.clone(),
        },
        _ => Assignee::Nobody {
            absent: executor.id.clone(),
        },
    }
}

impl Example {
    /// The post of a notification.
    pub fn of(n: &Notification) -> Example {
        Example::new(n.topic.clone().unwrap_or_default(), n.text.clone())
    }
}
