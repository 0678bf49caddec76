//! How well routing did (`otklik routing-report`, and a few lines of the monthly report):
//! read from the cases' histories alone. Pure: cases and a period in, figures out.
//!
//! - **first choice**: the executor the service gave a new case (by a rule, per rule name, or
//!   by the model) against the executor who finally drafted its answer (the absent one
//!   when a deputy drafted on their behalf); cases nobody drafted yet are not counted;
//! - **left to the coordinator**: how many, how many she assigned, and how often she chose
//!   the model's first suggestion (recorded in the case's `unassigned` entry);
//! - **reassignments**: `НЕ МОЯ КОМПЕТЕНЦИЯ`, and `НАЗНАЧИТЬ` after a first executor;
//! - **words that predict a reassignment**: stems of posts whose first executor was not
//!   the right one, by how much more often they come with a reassignment than without;
//! - **suggested rules**: a stem of posts reassigned to the same executor at least
//!   [`SUGGEST_AFTER`] times, as a `[[rules]]` block to paste into the config.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;

use crate::config::Config;
use crate::learning::signals::{assigned_to, drafted_by};
use crate::workflow::{Case, HistoryEvent, local_date};

/// A stem reassigned to the same executor this many times is worth a rule.
pub const SUGGEST_AFTER: usize = 3;

/// How many words predicting a reassignment are listed.
pub const WORDS_LISTED: usize = 10;

/// Right and checked first choices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Accuracy {
    /// Cases routed this way.
    pub routed: usize,
    /// Of those, cases whose answer someone drafted (the only ones that can be judged).
    pub checked: usize,
    /// Of those, the first executor was the one who drafted.
    pub right: usize,
}

impl Accuracy {
    /// Right among the checked, in per cent (`None` when nothing was checked).
    pub fn percent(&self) -> Option<f64> {
        (self.checked > 0).then(|| 100.0 * self.right as f64 / self.checked as f64)
    }

    fn add(&mut self, first: &str, last: Option<&str>) {
        self.routed += 1;
        if let Some(last) = last {
            self.checked += 1;
            if first == last {
                self.right += 1;
            }
        }
    }
}

/// One rule's first choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleAccuracy {
    /// The rule's name.
    pub rule: String,
    /// Its figures.
    #[serde(flatten)]
    pub accuracy: Accuracy,
}

/// Cases the service left to the coordinator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Coordinator {
    /// Cases left to her.
    pub cases: usize,
    /// Of those, cases she assigned (`НАЗНАЧИТЬ`).
    pub assigned: usize,
    /// Of those, cases that had a suggestion.
    pub with_suggestion: usize,
    /// Of those, she chose the first suggestion.
    pub first_suggestion: usize,
}

/// A word that comes with reassignments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WordRisk {
    /// The word as first written in a post (lower-cased).
    pub word: String,
    /// Routed cases whose post says it.
    pub cases: usize,
    /// Of those, reassigned.
    pub reassigned: usize,
}

/// A rule the cases suggest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuggestedRule {
    /// The word (as first written in a post, lower-cased).
    pub word: String,
    /// The executor the posts saying it went to in the end.
    pub executor: String,
    /// How many times.
    pub times: usize,
    /// The rule as TOML lines.
    pub toml: String,
}

/// The whole report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RoutingReport {
    /// First day of the period (by detection date).
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
    /// New cases in the period.
    pub cases: usize,
    /// First choices by rule, by rule name.
    pub by_rule: Vec<RuleAccuracy>,
    /// All rules together.
    pub rules: Accuracy,
    /// First choices by the model.
    pub model: Accuracy,
    /// Cases left to the coordinator.
    pub coordinator: Coordinator,
    /// Cases with a `НЕ МОЯ КОМПЕТЕНЦИЯ` or a `НАЗНАЧИТЬ` after a first executor.
    pub reassigned: usize,
    /// `НЕ МОЯ КОМПЕТЕНЦИЯ` answers.
    pub declined: usize,
    /// `НАЗНАЧИТЬ` after a first executor.
    pub reassignments: usize,
    /// Words that most predict a reassignment, strongest first.
    pub risky_words: Vec<WordRisk>,
    /// Suggested rules, most reassignments first.
    pub suggested_rules: Vec<SuggestedRule>,
}

/// How the service first dealt with a new case.
enum First {
    Rule(String, String),
    Model(String),
    Coordinator(Option<String>),
    Other,
}

fn first_of(case: &Case) -> First {
    for h in &case.history {
        match h.event {
            HistoryEvent::Assigned if h.by == "otklik" => {
                let Some((id, absent)) = assigned_to(&h.detail) else {
                    return First::Other;
                };
                let id = absent.unwrap_or(id);
                if let Some(rest) = h.detail.split_once("(rule «").map(|(_, r)| r) {
                    let name = rest.split('»').next().unwrap_or("").to_string();
                    return First::Rule(name, id);
                }
                if h.detail.contains("(routing model") {
                    return First::Model(id);
                }
                return First::Other;
            }
            HistoryEvent::Unassigned if h.by == "otklik" => {
                let best = h.detail.split_once("best guess ").and_then(|(_, r)| {
                    let id: String = r
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                        .collect();
                    (!id.is_empty()).then_some(id)
                });
                return First::Coordinator(best);
            }
            HistoryEvent::Repeat | HistoryEvent::Excluded => return First::Other,
            _ => {}
        }
    }
    First::Other
}

/// The distinct content words of a post: stem → the word as first written.
fn words_of(case: &Case) -> BTreeMap<String, String> {
    let n = &case.notification;
    let mut out = BTreeMap::new();
    for text in [n.topic.as_deref().unwrap_or(""), n.text.as_str()] {
        for w in crate::stem::words(text) {
            if w.chars().count() < 3 || w.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let s = crate::stem::stem(&w);
            if crate::classifier::is_stop(&s) || crate::classifier::is_stop(&w) {
                continue;
            }
            out.entry(s).or_insert(w);
        }
    }
    out
}

/// The report over the cases detected from `from` to `to` (inclusive, local dates).
pub fn build(config: &Config, cases: &[Case], from: NaiveDate, to: NaiveDate) -> RoutingReport {
    let coordinator = &config.people.coordinator.email;
    let mut r = RoutingReport {
        from,
        to,
        ..RoutingReport::default()
    };
    let mut by_rule: BTreeMap<String, Accuracy> = BTreeMap::new();
    // stem → (word, cases, reassigned); (stem, executor) → times reassigned there.
    let mut words: BTreeMap<String, (String, usize, usize)> = BTreeMap::new();
    let mut moved: BTreeMap<(String, String), usize> = BTreeMap::new();
    for case in cases {
        let day = local_date(config, case.notification.detected_at);
        if day < from || day > to {
            continue;
        }
        r.cases += 1;
        let last = drafted_by(config, case);
        let first = first_of(case);
        match &first {
            First::Rule(name, id) => {
                by_rule
                    .entry(name.clone())
                    .or_default()
                    .add(id, last.as_deref());
                r.rules.add(id, last.as_deref());
            }
            First::Model(id) => r.model.add(id, last.as_deref()),
            First::Coordinator(best) => {
                r.coordinator.cases += 1;
                let chosen = case
                    .history
                    .iter()
                    .find(|h| h.event == HistoryEvent::Assigned && h.by == *coordinator)
                    .and_then(|h| assigned_to(&h.detail))
                    .map(|(id, absent)| absent.unwrap_or(id));
                if let Some(chosen) = chosen {
                    r.coordinator.assigned += 1;
                    if let Some(best) = best {
                        r.coordinator.with_suggestion += 1;
                        if *best == chosen {
                            r.coordinator.first_suggestion += 1;
                        }
                    }
                }
            }
            First::Other => {}
        }
        // Reassignments: a decline, or the coordinator naming someone after a first executor.
        let (declined, reassigned, final_by_coordinator) = reassignments(case, coordinator);
        r.declined += declined;
        r.reassignments += reassigned;
        let was_reassigned = declined + reassigned > 0;
        if was_reassigned {
            r.reassigned += 1;
        }
        let first_executor = match &first {
            First::Rule(_, id) | First::Model(id) => Some(id.clone()),
            _ => None,
        };
        let Some(first_executor) = first_executor else {
            continue;
        };
        let post = words_of(case);
        for (stem, word) in &post {
            let e = words.entry(stem.clone()).or_insert((word.clone(), 0, 0));
            e.1 += 1;
            if was_reassigned {
                e.2 += 1;
            }
        }
        let ended = last.or(final_by_coordinator);
        if was_reassigned
            && let Some(ended) = ended
            && ended != first_executor
        {
            for stem in post.keys() {
                *moved.entry((stem.clone(), ended.clone())).or_default() += 1;
            }
        }
    }
    r.by_rule = by_rule
        .into_iter()
        .map(|(rule, accuracy)| RuleAccuracy { rule, accuracy })
        .collect();
    r.risky_words = risky_words(&words);
    r.suggested_rules = suggested_rules(config, moved, &words);
    r
}

/// A case's declines and reassignments by the coordinator (naming someone after a first
/// executor), and whom she named last.
fn reassignments(case: &Case, coordinator: &str) -> (usize, usize, Option<String>) {
    let mut had_executor = false;
    let (mut declined, mut reassigned) = (0, 0);
    let mut final_by_coordinator: Option<String> = None;
    for h in &case.history {
        match h.event {
            HistoryEvent::Declined => declined += 1,
            HistoryEvent::Assigned => {
                if h.by == coordinator {
                    if had_executor {
                        reassigned += 1;
                    }
                    final_by_coordinator =
                        assigned_to(&h.detail).map(|(id, absent)| absent.unwrap_or(id));
                }
                had_executor = true;
            }
            _ => {}
        }
    }
    (declined, reassigned, final_by_coordinator)
}

/// The words of posts reassigned at least twice (`words`: stem → (word, cases,
/// reassigned)), riskiest first.
fn risky_words(words: &BTreeMap<String, (String, usize, usize)>) -> Vec<WordRisk> {
    // Words: reassigned at least twice, by the smoothed share of reassignments.
    let mut risky: Vec<WordRisk> = words
        .values()
        .filter(|(_, _, re)| *re >= 2)
        .map(|(w, n, re)| WordRisk {
            word: w.clone(),
            cases: *n,
            reassigned: *re,
        })
        .collect();
    let share = |w: &WordRisk| (w.reassigned as f64 + 1.0) / (w.cases as f64 + 2.0);
    risky.sort_by(|a, b| {
        share(b)
            .total_cmp(&share(a))
            .then(b.reassigned.cmp(&a.reassigned))
            .then(a.word.cmp(&b.word))
    });
    risky.truncate(WORDS_LISTED);
    risky
}

/// Rules to suggest: a stem reassigned to one executor (`moved`) often enough, unless a
/// rule already says it.
fn suggested_rules(
    config: &Config,
    moved: BTreeMap<(String, String), usize>,
    words: &BTreeMap<String, (String, usize, usize)>,
) -> Vec<SuggestedRule> {
    // Rules: a stem reassigned to one executor often enough, unless a rule already says it.
    let ruled: BTreeSet<(String, String)> = config
        .rules
        .iter()
        .flat_map(|rule| {
            rule.words
                .iter()
                .filter(|w| w.stems.len() == 1)
                .map(|w| (w.stems[0].clone(), rule.executor.clone()))
        })
        .collect();
    let mut suggested: Vec<SuggestedRule> = moved
        .into_iter()
        .filter(|((stem, executor), times)| {
            *times >= SUGGEST_AFTER && !ruled.contains(&(stem.clone(), executor.clone()))
        })
        .filter_map(|((stem, executor), times)| {
            let word = words.get(&stem)?.0.clone();
            let toml = format!(
                "[[rules]]\nname = \"{word} → {executor}\"\nwords = [\"{word}\"]\nexecutor = \"{executor}\"\n"
            );
            Some(SuggestedRule {
                word,
                executor,
                times,
                toml,
            })
        })
        .collect();
    suggested.sort_by(|a, b| b.times.cmp(&a.times).then(a.word.cmp(&b.word)));
    suggested
}

fn pct(a: &Accuracy) -> String {
    match a.percent() {
        Some(p) => format!("{p:.1} % ({} of {})", a.right, a.checked),
        None => "—".to_string(),
    }
}

/// The report as text, for the terminal.
pub fn text(r: &RoutingReport) -> String {
    let mut s = format!(
        "Routing {} – {}: {} new cases\n\nFirst choice right (the first executor drafted the answer):\n",
        r.from, r.to, r.cases
    );
    s.push_str(&format!(
        "  by rules   {:>5} routed, {}\n",
        r.rules.routed,
        pct(&r.rules)
    ));
    for rule in &r.by_rule {
        s.push_str(&format!(
            "    {:<24} {:>5} routed, {}\n",
            rule.rule,
            rule.accuracy.routed,
            pct(&rule.accuracy)
        ));
    }
    s.push_str(&format!(
        "  by model   {:>5} routed, {}\n",
        r.model.routed,
        pct(&r.model)
    ));
    let c = &r.coordinator;
    s.push_str(&format!(
        "\nLeft to the coordinator: {} ({} assigned by her; the first suggestion chosen {} of {})\n",
        c.cases, c.assigned, c.first_suggestion, c.with_suggestion
    ));
    s.push_str(&format!(
        "Reassigned: {} cases ({} НЕ МОЯ КОМПЕТЕНЦИЯ, {} НАЗНАЧИТЬ after a first executor)\n",
        r.reassigned, r.declined, r.reassignments
    ));
    if !r.risky_words.is_empty() {
        s.push_str("\nWords that most predict a reassignment:\n");
        for w in &r.risky_words {
            s.push_str(&format!(
                "  {:<20} reassigned {} of {}\n",
                w.word, w.reassigned, w.cases
            ));
        }
    }
    if !r.suggested_rules.is_empty() {
        s.push_str("\nSuggested rules (check, then add to the config):\n");
        for rule in &r.suggested_rules {
            s.push_str(&format!(
                "# «{}» reassigned to {} {} times\n{}\n",
                rule.word, rule.executor, rule.times, rule.toml
            ));
        }
    }
    s
}

/// The few first-choice figures the monthly report carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FirstChoice {
    /// By rules.
    pub rules: Accuracy,
    /// By the model.
    pub model: Accuracy,
    /// Left to the coordinator.
    pub coordinator: usize,
}

impl FirstChoice {
    /// The figures over the cases detected from `from` to `to`.
    pub fn of(config: &Config, cases: &[Case], from: NaiveDate, to: NaiveDate) -> FirstChoice {
        FirstChoice::from(&build(config, cases, from, to))
    }
}

impl From<&RoutingReport> for FirstChoice {
    fn from(r: &RoutingReport) -> FirstChoice {
        FirstChoice {
            rules: r.rules.clone(),
            model: r.model.clone(),
            coordinator: r.coordinator.cases,
        }
    }
}
