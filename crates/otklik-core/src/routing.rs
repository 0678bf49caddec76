//! Who answers (docs/configuration.md `[[rules]]`, `deputy`/`absent`, absences by mail in docs/keywords.md). Pure.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::config::{Config, Executor, Rule};
use crate::intake::Notification;

/// The first rule, top to bottom, that the notification matches.
pub fn first_match<'a>(config: &'a Config, n: &Notification) -> Option<&'a Rule> {
    config.rules.iter().find(|rule| rule_matches(rule, n))
}

/// A rule matches when every non-empty list of it has a pattern that matches.
pub fn rule_matches(rule: &Rule, n: &Notification) -> bool {
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
