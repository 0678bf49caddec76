//! The `[[rules]]` that route a notification to an executor, and the `[routing]` model.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

use toml::Spanned;

use super::ctx::{Ctx, join, regex_message};
use crate::classifier::{self, Labelled};
use crate::config::raw::{RawRouting, RawRule, StrList};
use crate::config::{
    DEFAULT_AUTO_THRESHOLD, RoutingConfig, Rule, Starter, StarterExamples, Stemmed,
};

/// `words` (one word each) or `phrases` (two words or more) of a rule, as stems.
fn stemmed(cx: &mut Ctx<'_>, list: &Option<StrList>, key: &str, phrase: bool) -> Vec<Stemmed> {
    let mut out = Vec::new();
    for (j, item) in list.iter().flat_map(|l| l.get_ref().iter().enumerate()) {
        let source = item.get_ref().trim();
        let stems = crate::stem::stems(source);
        let k = format!("{key}[{j}]");
        let problem = if stems.is_empty() {
            Some("empty: no letter or digit to match".to_string())
        } else if !phrase && stems.len() > 1 {
            Some(format!(
                "{source:?} is {} words: list it under phrases, or each word apart",
                stems.len()
            ))
        } else if out.iter().any(|s: &Stemmed| s.stems == stems) {
            Some(format!(
                "{source:?} says the same as an earlier entry (same stems)"
            ))
        } else {
            None
        };
        match problem {
            Some(p) => cx.at(item.span(), &k, p),
            None => out.push(Stemmed {
                source: source.to_string(),
                stems,
            }),
        }
    }
    out
}

pub(super) fn rules(
    cx: &mut Ctx<'_>,
    raw: &[(usize, Spanned<RawRule>)],
    known: &HashSet<String>,
) -> Vec<Rule> {
    let mut out = Vec::new();
    for (i, rule) in raw {
        let p = format!("rules[{i}]");
        let r = rule.get_ref();
        let name = match &r.name {
            Some(n) => n.get_ref().trim().to_string(),
            None => format!("rule {}", i + 1),
        };
        let topic = cx.patterns(&r.topic, &join(&p, "topic"), false);
        let location = cx.patterns(&r.location, &join(&p, "location"), false);
        let category = cx.patterns(&r.category, &join(&p, "category"), false);
        let mut text = Vec::new();
        for (j, t) in r.text.iter().flat_map(|l| l.get_ref().iter().enumerate()) {
            match regex::Regex::new(t.get_ref()) {
                Ok(re) => text.push(re),
                Err(e) => cx.at(
                    t.span(),
                    &format!("{p}.text[{j}]"),
                    format!("invalid regular expression: {}", regex_message(&e)),
                ),
            }
        }
        let words = stemmed(cx, &r.words, &join(&p, "words"), false);
        let phrases = stemmed(cx, &r.phrases, &join(&p, "phrases"), true);
        let executor = cx
            .require(&r.executor, &rule.span(), &join(&p, "executor"))
            .and_then(|v| {
                let id = v.get_ref().trim();
                if known.contains(id) {
                    Some(id.to_string())
                } else {
                    cx.at(
                        v.span(),
                        &join(&p, "executor"),
                        format!("no executor has id {id:?}"),
                    );
                    None
                }
            });
        if let Some(executor) = executor {
            out.push(Rule {
                name,
                topic,
                location,
                category,
                text,
                words,
                phrases,
                executor,
            });
        }
    }
    out
}

/// The starter model of the built-in corpus's posts for these executors, shared by every
/// config of the same executors in a process, so it is trained once per set of executors
/// (on first use). The corpus is parsed for the training and not kept: the model is all the
/// service needs of it (it learns on top of the model).
fn builtin_model(known: &HashSet<String>) -> Starter {
    static SHARED: OnceLock<Mutex<HashMap<Vec<String>, Starter>>> = OnceLock::new();
    let mut key: Vec<String> = known.iter().cloned().collect();
    key.sort();
    let cache = SHARED.get_or_init(|| Mutex::new(HashMap::new()));
    // A poisoned lock (a thread panicked while holding it) only costs another training.
    if let Ok(map) = cache.lock()
        && let Some(t) = map.get(&key)
    {
        return t.clone();
    }
    let starter = Starter::new(StarterExamples::Builtin(known.clone()));
    if let Ok(mut map) = cache.lock() {
        // A few sets of executors at most: a service whose reloads keep changing them keeps
        // only the recent models, not one per reload.
        if map.len() >= CACHED_MODELS {
            map.clear();
        }
        map.insert(key, starter.clone());
    }
    starter
}

/// How many built-in starter models (one per set of executors) a process keeps.
const CACHED_MODELS: usize = 4;

/// The `[routing]` section (all optional) and the starter model of the config's executors.
pub(super) fn routing(
    cx: &mut Ctx<'_>,
    raw: Option<&Spanned<RawRouting>>,
    known: &HashSet<String>,
) -> Option<RoutingConfig> {
    let r = raw.map(|s| s.get_ref());
    let auto_threshold = match r.and_then(|r| r.auto_threshold.as_ref()) {
        None => Some(DEFAULT_AUTO_THRESHOLD),
        Some(v) => {
            let t = *v.get_ref();
            if t.is_finite() && t > 0.0 && t <= 1.0 {
                Some(t)
            } else {
                cx.at(
                    v.span(),
                    "routing.auto_threshold",
                    format!("{t} is not a probability above 0 and at most 1, such as 0.8"),
                );
                None
            }
        }
    };
    let model = r
        .and_then(|r| r.model.as_ref())
        .map(|v| *v.get_ref())
        .unwrap_or(true);
    let examples: Vec<Labelled> = match r.and_then(|r| r.starter_corpus.as_ref()) {
        // The built-in corpus speaks of the example config's executors: posts for ids this
        // config lacks are left out. Its model is trained once per set of executors (a
        // reload, or a test that reads many configs, does not train it again), on first use.
        None => {
            let starter = builtin_model(known);
            return Some(RoutingConfig {
                auto_threshold: auto_threshold?,
                model,
                starter,
            });
        }
        Some(v) => {
            let key = "routing.starter_corpus";
            let p = cx.resolve(v.get_ref().trim());
            let text = match cx.read_text(&p) {
                Ok(t) => t,
                Err(e) => {
                    cx.at(v.span(), key, format!("cannot read {}: {e}", p.display()));
                    return None;
                }
            };
            let corpus = match classifier::parse_corpus(&text) {
                Ok(c) => c,
                Err(errors) => {
                    for e in errors.iter().take(10) {
                        cx.at(v.span(), key, format!("{}:{e}", p.display()));
                    }
                    return None;
                }
            };
            let unknown: Vec<String> = corpus
                .iter()
                .filter(|l| !known.contains(&l.executor))
                .map(|l| l.executor.clone())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            if !unknown.is_empty() {
                cx.at(
                    v.span(),
                    key,
                    format!("{}: no executor has id {}", p.display(), unknown.join(", ")),
                );
                return None;
            }
            corpus
        }
    };
    // Checked now, trained on first use (`Starter::model`).
    Some(RoutingConfig {
        auto_threshold: auto_threshold?,
        model,
        starter: Starter::new(StarterExamples::Corpus(examples)),
    })
}
