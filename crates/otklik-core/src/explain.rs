//! A decision explained ([`Decision::explain`]): the verdict in a line and, for a new case,
//! what it would be — its notification, deadlines and routing. `otklik route` prints it;
//! nothing here is decided again.

use serde::Serialize;

use crate::config::Config;
use crate::decide::{Decision, Disposition, Facts};
use crate::intake::Notification;
use crate::routing::Suggestion;
use crate::workflow::{self, CaseDeadlines, Classification};

/// What a decision means, field by field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The verdict in a line (`routed`, `repeat of OTK-3`, `rejected: …`).
    pub verdict: String,
    /// Where the message goes.
    pub disposition: Disposition,
    /// A new case's notification, as the case would hold it.
    pub notification: Option<Notification>,
    /// A new case's first deadlines (draft and answer).
    pub deadlines: Option<CaseDeadlines>,
    /// The case of the same post, when the message notified it again.
    pub duplicate_of: Option<String>,
    /// The earlier case a repeat is of.
    pub repeat_of: Option<String>,
    /// The clause 12 entry that excluded the post.
    pub excluded_by: Option<String>,
    /// The routing rule that matched.
    pub rule: Option<String>,
    /// Who the case goes to (the deputy of an absent executor).
    pub executor: Option<String>,
    /// How a new post was routed: `rule`, `model` or `coordinator`.
    pub routed_by: Option<&'static str>,
    /// The routing model's confidence when it routed the post.
    pub confidence: Option<f64>,
    /// The post's words behind the model's choice.
    pub top_words: Vec<String>,
    /// The model's suggestions to the coordinator when it left the post to her.
    pub suggestions: Vec<Suggestion>,
    /// An earlier case by another author about the same problem at the same place, flagged
    /// to the coordinator (`ПОВТОР` links it).
    pub possible_repeat: Option<crate::repeat::PossibleRepeat>,
    /// The clause 12 model's flag on a post the rules let through (the coordinator decides).
    pub possible_abuse: Option<crate::workflow::PossibleAbuse>,
}

/// How a disposition reads in a verdict.
pub fn disposition_word(d: Disposition) -> &'static str {
    match d {
        Disposition::Processed => "processed",
        Disposition::Rejected => "rejected",
    }
}

impl Decision {
    /// The decision explained, with the facts it was made on.
    pub fn explain(&self, config: &Config, facts: &Facts) -> Explanation {
        let mut e = Explanation {
            verdict: String::new(),
            disposition: self.disposition(),
            notification: None,
            deadlines: None,
            duplicate_of: None,
            repeat_of: None,
            excluded_by: None,
            rule: None,
            executor: None,
            routed_by: None,
            confidence: None,
            top_words: Vec::new(),
            suggestions: Vec::new(),
            possible_repeat: None,
            possible_abuse: None,
        };
        e.verdict = match self {
            Decision::Case {
                new: true,
                class: Some(class),
                outcome,
                ..
            } => {
                let n = &outcome.case.notification;
                e.deadlines = Some(workflow::initial_deadlines(config, n));
                e.notification = Some(n.clone());
                let verdict = classified(&mut e, class.clone());
                let verdict = given_to(&mut e, verdict, outcome.case.executor.as_deref());
                let verdict = match &outcome.case.possible_repeat {
                    Some(p) => {
                        e.possible_repeat = Some(p.clone());
                        format!(
                            "{verdict}; possible repeat of {} by another author ({} % alike: {}), flagged to the coordinator",
                            p.of,
                            p.percent,
                            p.shared.join(", ")
                        )
                    }
                    None => verdict,
                };
                match &outcome.case.possible_abuse {
                    Some(a) => {
                        e.possible_abuse = Some(a.clone());
                        format!(
                            "{verdict}; possibly clause 12 (model {} %: {}), flagged to the coordinator",
                            a.percent,
                            a.words.join(", ")
                        )
                    }
                    None => verdict,
                }
            }
            Decision::Case { outcome, note, .. }
                if facts.same_post.is_some() && facts.case.is_none() =>
            {
                e.duplicate_of = Some(outcome.case.id.clone());
                note.clone()
            }
            Decision::Case {
                outcome,
                disposition,
                note,
                ..
            } => format!(
                "{}: reply to {}: {note}",
                disposition_word(*disposition),
                outcome.case.id
            ),
            Decision::Service { note, .. }
            | Decision::Report { note, .. }
            | Decision::Confirm { note, .. }
            | Decision::Confirmed { note, .. } => format!("processed: {note}"),
            Decision::Drop { disposition, note } => {
                format!("{}: {note}", disposition_word(*disposition))
            }
        };
        e
    }
}

/// Who the service actually gives the case to: the rule's (or the earlier case's)
/// executor, or their deputy while they are away, or nobody.
fn given_to(e: &mut Explanation, verdict: String, actual: Option<&str>) -> String {
    let Some(wanted) = e.executor.clone() else {
        return verdict;
    };
    if actual == Some(wanted.as_str()) {
        return verdict;
    }
    e.executor = actual.map(str::to_string);
    match actual {
        Some(deputy) => format!("{verdict} (to {deputy}, deputy of absent {wanted})"),
        None => format!("{verdict} ({wanted} is absent, no deputy: unassigned)"),
    }
}

/// How a new post was classified, as the verdict says it.
fn classified(e: &mut Explanation, class: Classification) -> String {
    match class {
        Classification::Excluded { matched } => {
            e.excluded_by = Some(matched);
            "excluded (clause 12)".into()
        }
        Classification::Repeat { of, executor, .. } => {
            e.executor = executor;
            e.repeat_of = Some(of.clone());
            format!("repeat of {of}")
        }
        Classification::Routed {
            rule,
            executor,
            repeat_unmatched,
        } => {
            e.rule = Some(rule);
            e.executor = Some(executor);
            e.routed_by = Some("rule");
            if repeat_unmatched {
                "routed (flagged as a repeat, no earlier case)".into()
            } else {
                "routed".into()
            }
        }
        Classification::Modelled {
            executor,
            confidence,
            top_words,
            repeat_unmatched,
        } => {
            e.executor = Some(executor);
            e.routed_by = Some("model");
            e.confidence = Some(confidence.get());
            e.top_words = top_words;
            if repeat_unmatched {
                "routed by the model (flagged as a repeat, no earlier case)".into()
            } else {
                "routed by the model".into()
            }
        }
        Classification::Unmatched { suggestions, .. } => {
            e.routed_by = Some("coordinator");
            e.suggestions = suggestions;
            if e.suggestions.is_empty() {
                "unassigned: no rule matched; the coordinator decides".into()
            } else {
                "unassigned: no rule matched and the model is not sure enough; the coordinator decides".into()
            }
        }
    }
}
