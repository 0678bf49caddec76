//! The routing model: complement naive Bayes over the stems of a post (docs/configuration.md
//! `[routing]`). It learns which executor answers which words from labelled posts (the
//! starter corpus shipped with the product, then the coordinator's and executors' own
//! decisions), says how sure it is (the posterior probability of its best executor) and
//! why (the post's words with the largest log-likelihood ratio for that executor). Pure,
//! serialisable, and cheap: training is one pass over the examples, a prediction one pass
//! over the post's words per executor.
//!
//! Features: every distinct stem of the text (a word counts once per post however often it
//! is repeated: short posts repeat words for emphasis, not meaning), its first
//! [`PREFIX`] letters, every pair of consecutive stems of the text (a word after «не» is a
//! word of its own: «фонари не горят» is not a fire), and every distinct stem
//! of the topic, prefixed so that `газ` in the topic and `газ` in the text are two features
//! and weighted [`TOPIC_WEIGHT`] times. Function words and one-letter words are left out.
//!
//! The state is counts per executor and feature; complement naive Bayes scores an executor
//! by how unlike the other executors' posts the post is (Rennie et al., 2003), which ranks
//! executors with few examples fairly beside those with many. The knobs were chosen by
//! 5-fold cross-validation on the starter corpus, routed through the shipped rules
//! (`cargo run --release -p otklik-core --example tune_routing`), never on a held-out set.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::stem;

mod linear;
mod stop;
mod table;
mod wire;

use stop::STOP;
pub use stop::is_stop;

/// Laplace (add-α) smoothing of the word counts; α = 1 is Laplace's rule. Chosen by
/// cross-validation on the starter corpus with the temperature below.
pub const ALPHA: f64 = 1.0;

/// How much a topic word counts against a text word. The topic is one short line a
/// monitoring operator chose; when it says something it says it well.
pub const TOPIC_WEIGHT: f64 = 1.0;

/// Naive Bayes multiplies the evidence of words as if they were independent, which makes
/// its posteriors too sure or too shy; the log-likelihoods are divided by this before they
/// are turned into probabilities, chosen by cross-validation on the starter corpus so that
/// the default `routing.auto_threshold` of 0.8 routes about 2 % of posts wrongly there.
pub const TEMPERATURE: f64 = 1.0;

/// See [`Params::prefix`]: four letters, chosen by cross-validation on the starter corpus.
pub const PREFIX: usize = 4;

/// See [`Params::bigrams`].
pub const BIGRAMS: f64 = 1.0;

/// See [`Params::negation`].
pub const NEGATION: bool = true;

/// See [`Params::complement`].
pub const COMPLEMENT: bool = true;

/// See [`Params::length_power`].
pub const LENGTH_POWER: f64 = 0.0;

/// See [`Params::linear`].
pub const LINEAR: bool = true;

/// The mark of a word negated by «не» ([`Params::negation`]).
const NOT: &str = "не_";

/// The prefix that keeps topic features apart from text features.
const TOPIC: &str = "т:";

/// How many words explain a decision.
pub const WORDS_SHOWN: usize = 3;

/// The model's knobs, fixed when it is created (defaults: [`ALPHA`], [`TOPIC_WEIGHT`],
/// [`TEMPERATURE`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Params {
    /// Additive smoothing of the counts.
    pub alpha: f64,
    /// Weight of a topic word against a text word.
    pub topic_weight: f64,
    /// Divisor of the log-likelihoods before the posterior.
    pub temperature: f64,
    /// Besides each stem, its first this many letters as a feature of its own (so that
    /// `газификация` and `газопровод` share `газо`); 0: none.
    #[serde(default)]
    pub prefix: usize,
    /// Besides each stem, each pair of consecutive stems of the text (function words
    /// skipped) as a feature of its own, weighted this much (0: none), so that «школьный
    /// автобус» says more than «школьный» and «автобус» apart.
    #[serde(default)]
    pub bigrams: f64,
    /// The log-likelihoods are divided by the temperature times the number of the post's
    /// features raised to this power (0: the temperature alone), so that a long post is not
    /// surer than a short one only for being long.
    #[serde(default)]
    pub length_power: f64,
    /// Whether how many posts each executor answered counts (false: every executor is as
    /// likely before the words are read).
    #[serde(default = "yes")]
    pub prior: bool,
    /// Complement naive Bayes (Rennie et al., 2003): each executor is scored by how unlike
    /// the posts of all the other executors the post is, which evens out executors with
    /// many and few examples. Read from the same counts, so learning stays one pass.
    #[serde(default)]
    pub complement: bool,
    /// A word right after «не» is a feature of its own (`не гор` apart from `гор`), so
    /// that «фонари не горят» does not speak for a fire.
    #[serde(default)]
    pub negation: bool,
    /// A second opinion beside the counts: logistic regression over the same features
    /// (see the `linear` module), its probabilities averaged with naive Bayes'.
    #[serde(default)]
    pub linear: bool,
}

fn yes() -> bool {
    true
}

impl Default for Params {
    fn default() -> Params {
        Params {
            alpha: ALPHA,
            topic_weight: TOPIC_WEIGHT,
            temperature: TEMPERATURE,
            prefix: PREFIX,
            bigrams: BIGRAMS,
            length_power: LENGTH_POWER,
            prior: true,
            complement: COMPLEMENT,
            negation: NEGATION,
            linear: LINEAR,
        }
    }
}

/// A post as the model reads it: its topic (may be empty) and its text.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Example {
    /// The notification's topic line; empty when it had none.
    #[serde(default)]
    pub topic: String,
    /// The post's text.
    pub text: String,
}

impl Example {
    /// A post with this topic and text.
    pub fn new(topic: impl Into<String>, text: impl Into<String>) -> Example {
        Example {
            topic: topic.into(),
            text: text.into(),
        }
    }
}

/// A post and the executor who answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labelled {
    /// The executor's id.
    pub executor: String,
    /// The post.
    pub example: Example,
}

/// A probability in `[0, 1]`, never NaN; equal when bit-for-bit equal, so decisions that
/// carry one can be compared and stored like any other value.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Probability(f64);

impl Probability {
    /// `p` clamped to `[0, 1]`; NaN becomes 0.
    pub fn new(p: f64) -> Probability {
        Probability(if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) })
    }

    /// The value.
    pub fn get(self) -> f64 {
        self.0
    }

    /// Whole per cent, rounded (for mails and logs).
    pub fn percent(self) -> u32 {
        // In [0, 100] by construction.
        (self.0 * 100.0).round() as u32
    }
}

impl PartialEq for Probability {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

impl Eq for Probability {}

/// One executor the model proposes, how likely, and the post's words behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The executor's id.
    pub executor: String,
    /// The posterior probability that this executor answers the post.
    pub probability: Probability,
    /// The post's words that speak most for this executor, strongest first (as written in
    /// the post, lower-cased).
    pub words: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct Class {
    /// Examples learned (weight; a removed example subtracts).
    docs: f64,
    /// Sum of the feature weights below.
    total: f64,
    /// Feature number → weight; only weights above zero.
    words: HashMap<u32, f64>,
}

/// The model: per executor, how often each feature came with its posts.
///
/// Held compactly: every feature's text once, numbered in a table shared by the counts and
/// the regression, the counts keyed by those numbers. Serialised with the features by
/// their text (the form it always had), converted when written and read.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(from = "wire::Wire", into = "wire::Wire")]
pub struct Model {
    params: Params,
    classes: BTreeMap<String, Class>,
    /// The features' texts and numbers.
    table: table::Table,
    /// Feature number → summed weight over every executor; a feature is in the vocabulary
    /// when this is above [`KNOWN`], and 0 when it is not.
    vocab: Vec<f64>,
    /// How many features are in the vocabulary.
    known: usize,
    /// The regression's weights ([`Params::linear`]).
    linear: linear::Linear,
}

/// A feature's summed weight above this puts it in the vocabulary.
const KNOWN: f64 = 1e-9;

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("executors", &self.classes.len())
            .field("examples", &self.examples())
            .field("features", &self.known)
            .finish()
    }
}

/// The features of a post with their weights, and for each the word as first written in
/// the post (to explain a decision in the post's own words).
fn features(example: &Example, params: &Params) -> Vec<(String, f64, String)> {
    // The words that count, each with its stem, in order.
    let content = |source: &str| -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut after_not = false;
        for w in stem::words(source) {
            if params.negation && w == "не" {
                after_not = true;
                continue;
            }
            let negated = std::mem::replace(&mut after_not, false);
            if w.chars().count() < 2 || w.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let s = stem::stem(&w);
            if STOP.contains(&s.as_str()) || STOP.contains(&w.as_str()) {
                continue;
            }
            if negated {
                out.push((format!("не {w}"), format!("{NOT}{s}")));
            } else {
                out.push((w, s));
            }
        }
        out
    };
    let mut out: Vec<(String, f64, String)> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut push = |out: &mut Vec<(String, f64, String)>, key: String, weight: f64, word: &str| {
        if seen.insert(key.clone()) {
            out.push((key, weight, word.to_string()));
        }
    };
    let mut unigrams = |out: &mut Vec<(String, f64, String)>,
                        words: &[(String, String)],
                        prefix: &str,
                        weight: f64| {
        for (word, s) in words {
            push(out, format!("{prefix}{s}"), weight, word);
            if params.prefix > 0 && !s.starts_with(NOT) && s.chars().count() > params.prefix {
                let head: String = s.chars().take(params.prefix).collect();
                push(out, format!("{prefix}~{head}"), weight, word);
            }
        }
    };
    let topic = content(&example.topic);
    let text = content(&example.text);
    unigrams(&mut out, &topic, TOPIC, params.topic_weight);
    unigrams(&mut out, &text, "", 1.0);
    if params.bigrams > 0.0 {
        let mut pairs = HashSet::new();
        for w in text.windows(2) {
            let key = format!("{} {}", w[0].1, w[1].1);
            if pairs.insert(key.clone()) {
                out.push((key, params.bigrams, format!("{} {}", w[0].0, w[1].0)));
            }
        }
    }
    out
}

impl Model {
    /// An empty model: it knows no executor and proposes nobody.
    pub fn new() -> Model {
        Model::default()
    }

    /// An empty model with these knobs.
    pub fn with_params(params: Params) -> Model {
        Model {
            params,
            ..Model::default()
        }
    }

    /// The knobs it was created with.
    pub fn params(&self) -> Params {
        self.params
    }

    /// A model trained on `examples`, in one pass.
    pub fn train<'a>(examples: impl IntoIterator<Item = &'a Labelled>) -> Model {
        Model::train_with(Params::default(), examples)
    }

    /// A model with these knobs trained on `examples`.
    pub fn train_with<'a>(
        params: Params,
        examples: impl IntoIterator<Item = &'a Labelled>,
    ) -> Model {
        let mut m = Model::with_params(params);
        let mut seen = Vec::new();
        for l in examples {
            let feats = m.numbered(&l.example);
            if params.linear {
                seen.push((feats.clone(), l.executor.as_str()));
            }
            m.add_features(feats, &l.executor, 1.0, true);
        }
        if params.linear {
            m.linear = linear::Linear::train(&seen);
        }
        m.shrink_to_fit();
        m
    }

    /// Gives back the spare capacity of every part (after training at once).
    fn shrink_to_fit(&mut self) {
        self.table.shrink_to_fit();
        self.vocab.shrink_to_fit();
        for c in self.classes.values_mut() {
            c.words.shrink_to_fit();
        }
        self.linear.shrink_to_fit();
    }

    /// The features of a post by number, each numbered now if new, with their weights.
    fn numbered(&mut self, example: &Example) -> Vec<(u32, f64)> {
        let out = features(example, &self.params)
            .into_iter()
            .filter_map(|(f, w, _)| self.table.intern(&f).map(|id| (id, w)))
            .collect();
        self.vocab.resize(self.table.len(), 0.0);
        out
    }

    /// The number of feature `f` and its summed weight, if it is in the vocabulary.
    fn in_vocab(&self, f: &str) -> Option<(u32, f64)> {
        let id = self.table.get(f)?;
        let v = self.vocab.get(id as usize).copied().unwrap_or(0.0);
        (v > KNOWN).then_some((id, v))
    }

    /// Sets the summed weight of feature `id` (whose slot exists), counting the
    /// vocabulary: a feature leaves it when its weight falls to [`KNOWN`] or below.
    fn set_vocab(&mut self, id: u32, v: f64) {
        let Some(slot) = self.vocab.get_mut(id as usize) else {
            return;
        };
        let was = *slot > KNOWN;
        let is = v > KNOWN;
        *slot = if is { v } else { 0.0 };
        match (was, is) {
            (false, true) => self.known += 1,
            (true, false) => self.known -= 1,
            _ => {}
        }
    }

    /// Whether the post's text (not only its topic) has a word the model has met: a post
    /// of a topic alone, or of words it never saw, is not one to route by itself.
    pub fn reads_text(&self, example: &Example) -> bool {
        let text = Example::new("", example.text.as_str());
        features(&text, &self.params)
            .iter()
            .any(|(f, _, _)| self.in_vocab(f).is_some())
    }

    /// How many examples it has learned (net of those unlearned).
    pub fn examples(&self) -> f64 {
        self.classes.values().map(|c| c.docs).sum()
    }

    /// The executors it knows, by id.
    pub fn executors(&self) -> impl Iterator<Item = &str> {
        self.classes
            .iter()
            .filter(|(_, c)| c.docs > 0.0)
            .map(|(id, _)| id.as_str())
    }

    /// Adds (`sign` 1) or takes away (−1) the numbered features `feats` to `executor`'s
    /// counts, and one post to its posts when `docs`.
    fn add_features(&mut self, feats: Vec<(u32, f64)>, executor: &str, sign: f64, docs: bool) {
        let mut class = self.classes.remove(executor).unwrap_or_default();
        if docs {
            class.docs = (class.docs + sign).max(0.0);
        }
        for (f, w) in feats {
            let have = class.words.get(&f).copied().unwrap_or(0.0);
            // Never below zero: taking away more than was learned takes away what was.
            let new = (have + sign * w).max(0.0);
            let delta = new - have;
            class.total = (class.total + delta).max(0.0);
            if new > 0.0 {
                class.words.insert(f, new);
            } else {
                class.words.remove(&f);
            }
            let v = self.vocab.get(f as usize).copied().unwrap_or(0.0) + delta;
            self.set_vocab(f, v);
        }
        if class.docs > 0.0 || !class.words.is_empty() {
            self.classes.insert(executor.to_string(), class);
        }
    }

    /// Learns one post answered by `executor` (a positive example).
    pub fn learn(&mut self, example: &Example, executor: &str) {
        let feats = self.numbered(example);
        if self.params.linear {
            self.linear.learn(&feats, executor);
        }
        self.add_features(feats, executor, 1.0, true);
    }

    /// A negative example: `executor` said the post is not theirs. Its words count less for
    /// that executor (their weights are taken from the executor's counts, never below
    /// zero); how many posts the executor answers is left as it is. The regression takes
    /// one step away from the executor.
    pub fn negative(&mut self, example: &Example, executor: &str) {
        let feats = self.numbered(example);
        if self.params.linear {
            self.linear.negative(&feats, executor);
        }
        self.add_features(feats, executor, -1.0, false);
    }

    fn log_p(&self, class: &Class, f: u32, v: f64) -> f64 {
        let n = class.words.get(&f).copied().unwrap_or(0.0);
        let a = self.params.alpha;
        ((n + a) / (class.total + a * v)).ln()
    }

    /// The smoothed log-probability of feature `f` (summed weight `all`) among the posts of
    /// every executor but `class` (complement naive Bayes).
    fn log_p_rest(&self, class: &Class, (f, all): (u32, f64), v: f64, all_total: f64) -> f64 {
        let n = class.words.get(&f).copied().unwrap_or(0.0);
        let rest = (all - n).max(0.0);
        let a = self.params.alpha;
        ((rest + a) / ((all_total - class.total).max(0.0) + a * v)).ln()
    }

    /// Every executor it knows, most probable first, with the words behind the first
    /// `explain` of them. Empty when the model knows nobody.
    pub fn predict(&self, example: &Example, explain: usize) -> Vec<Suggestion> {
        let classes: Vec<(&String, &Class)> =
            self.classes.iter().filter(|(_, c)| c.docs > 0.0).collect();
        if classes.is_empty() {
            return Vec::new();
        }
        // Every feature of the post by number and weight (for the regression), and those
        // in the vocabulary with their summed weight and the post's word.
        let mut numbered: Vec<(u32, f64)> = Vec::new();
        let mut feats: Vec<((u32, f64), f64, String)> = Vec::new();
        for (f, w, word) in features(example, &self.params) {
            if let Some(id) = self.table.get(&f) {
                numbered.push((id, w));
            }
            if let Some(known) = self.in_vocab(&f) {
                feats.push((known, w, word));
            }
        }
        let v = self.known.max(1) as f64;
        let docs: f64 = classes.iter().map(|(_, c)| c.docs).sum();
        let k = classes.len() as f64;
        let all_total: f64 = self.classes.values().map(|c| c.total).sum();
        let divisor =
            self.params.temperature * (feats.len().max(1) as f64).powf(self.params.length_power);
        let scores: Vec<f64> = classes
            .iter()
            .map(|(_, c)| {
                let prior = if self.params.prior {
                    ((c.docs + 1.0) / (docs + k)).ln()
                } else {
                    0.0
                };
                let like: f64 = if self.params.complement {
                    -feats
                        .iter()
                        .map(|(f, w, _)| w * self.log_p_rest(c, *f, v, all_total))
                        .sum::<f64>()
                } else {
                    feats
                        .iter()
                        .map(|(f, w, _)| w * self.log_p(c, f.0, v))
                        .sum()
                };
                prior + like / divisor
            })
            .collect();
        let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut p: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
        let sum: f64 = p.iter().sum();
        for v in p.iter_mut() {
            *v /= sum;
        }
        if self.params.linear {
            // The average of the two opinions, over the executors the counts know.
            let second = self.linear.predict(&numbered);
            for (v, (id, _)) in p.iter_mut().zip(&classes) {
                *v = (*v + second.get(id.as_str()).copied().unwrap_or(0.0)) / 2.0;
            }
            let sum: f64 = p.iter().sum();
            if sum > 0.0 {
                for v in p.iter_mut() {
                    *v /= sum;
                }
            }
        }
        let mut out: Vec<Suggestion> = classes
            .iter()
            .zip(p)
            .map(|((id, _), v)| Suggestion {
                executor: (*id).clone(),
                probability: Probability::new(v),
                words: Vec::new(),
            })
            .collect();
        out.sort_by(|a, b| {
            b.probability
                .get()
                .total_cmp(&a.probability.get())
                .then_with(|| a.executor.cmp(&b.executor))
        });
        for s in out.iter_mut().take(explain) {
            s.words = self.explain(&feats, &s.executor, v);
        }
        out
    }

    /// The post's words with the largest log-likelihood ratio for `executor` against all
    /// the others together, strongest first; only words that speak for it.
    fn explain(&self, feats: &[((u32, f64), f64, String)], executor: &str, v: f64) -> Vec<String> {
        let Some(class) = self.classes.get(executor) else {
            return Vec::new();
        };
        let rest_total: f64 = self
            .classes
            .iter()
            .filter(|(id, _)| id.as_str() != executor)
            .map(|(_, c)| c.total)
            .sum();
        // Single words only: a pair of words says the same as its two words, and the
        // explanation quotes the post.
        let mut scored: Vec<(f64, &str)> = feats
            .iter()
            .filter(|((f, _), _, _)| !self.table.name(*f).contains(' '))
            .map(|((f, all), w, word)| {
                let (f, all) = (*f, *all);
                let n = class.words.get(&f).copied().unwrap_or(0.0);
                let rest = all - n;
                let a = self.params.alpha;
                let llr = self.log_p(class, f, v) - ((rest + a) / (rest_total + a * v)).ln();
                (llr * w, word.as_str())
            })
            .filter(|(llr, _)| *llr > 0.0)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let mut words: Vec<String> = Vec::new();
        for (_, w) in scored {
            if words.len() == WORDS_SHOWN {
                break;
            }
            if !words.iter().any(|x| x == w) {
                words.push(w.to_string());
            }
        }
        words
    }
}

/// A problem in a corpus file: its line (1-based) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CorpusError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads a corpus: one post a line, `executor<TAB>topic<TAB>text` or
/// `executor<TAB>topic<TAB>location<TAB>text` (the location is not used); lines that are
/// empty or start with `#` are skipped. Every problem is reported, not only the first.
pub fn parse_corpus(text: &str) -> Result<Vec<Labelled>, Vec<CorpusError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let (executor, topic, body) = match cols.as_slice() {
            [e, t, x] | [e, t, _, x] => (e.trim(), t.trim(), x.trim()),
            _ => {
                errors.push(CorpusError {
                    line: i + 1,
                    message: format!(
                        "{} tab-separated columns; expected executor, topic, [location,] text",
                        cols.len()
                    ),
                });
                continue;
            }
        };
        if executor.is_empty() || body.is_empty() {
            errors.push(CorpusError {
                line: i + 1,
                message: "empty executor or text".into(),
            });
            continue;
        }
        out.push(Labelled {
            executor: executor.to_string(),
            example: Example::new(topic, body),
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The starter corpus shipped with the product (`config/routing-starter.tsv`).
pub const STARTER_CORPUS: &str = include_str!("../../../config/routing-starter.tsv");

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(topic: &str, text: &str) -> Example {
        Example::new(topic, text)
    }

    #[test]
    fn learns_and_explains() {
        let mut m = Model::new();
        m.learn(&ex("", "нет воды в кране"), "housing");
        m.learn(&ex("", "прорвало водопровод, воды нет"), "housing");
        m.learn(&ex("", "налог на машину пришел"), "finance");
        m.learn(&ex("", "налог на землю вырос"), "finance");
        let p = m.predict(&ex("Прочее", "Третий день нет воды"), 2);
        assert_eq!(p[0].executor, "housing");
        assert!(p[0].probability.get() > 0.5);
        assert_eq!(p[0].words, ["воды"]);
        let sum: f64 = p.iter().map(|s| s.probability.get()).sum();
        assert!((sum - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_negative_lowers_the_executor() {
        let mut m = Model::new();
        for _ in 0..3 {
            m.learn(&ex("", "школьный автобус не пришел"), "education");
            m.learn(&ex("", "автобус отменили"), "housing");
        }
        let p = |m: &Model| {
            m.predict(&ex("", "автобус"), 0)
                .into_iter()
                .find(|s| s.executor == "housing")
                .map(|s| s.probability.get())
                .unwrap_or(0.0)
        };
        let before = p(&m);
        m.negative(&ex("", "автобус"), "housing");
        assert!(p(&m) < before);
    }

    #[test]
    fn the_starter_corpus_parses_and_round_trips() {
        let corpus = parse_corpus(STARTER_CORPUS).unwrap_or_default();
        assert!(corpus.len() >= 400, "{}", corpus.len());
        let m = Model::train(&corpus);
        let json = serde_json::to_string(&m).unwrap_or_default();
        let mut back: Model = serde_json::from_str(&json).unwrap_or_default();
        let e = ex("", "Отменили автобус до райцентра");
        assert_eq!(m.predict(&e, 3), back.predict(&e, 3));
        // Held compactly, written as it always was: the same text back.
        assert_eq!(serde_json::to_string(&back).unwrap_or_default(), json);
        assert!(json.contains("\"vocab\":{") && json.contains("\"index\":{"));
        // And it goes on learning as the original does.
        let mut m = m;
        for model in [&mut m, &mut back] {
            model.learn(&e, "housing");
            model.negative(&ex("Транспорт", "автобус"), "economy");
        }
        assert_eq!(m.predict(&e, 3), back.predict(&e, 3));
        assert_eq!(
            serde_json::to_string(&m).unwrap_or_default(),
            serde_json::to_string(&back).unwrap_or_default()
        );
    }

    #[test]
    fn corpus_errors_name_the_line() {
        let e = parse_corpus("# c\nhousing\tЖКХ\tнет воды\nbad line\n").err();
        assert_eq!(e.map(|e| e[0].line), Some(3));
    }

    #[test]
    fn a_pair_of_words_counts_but_is_never_shown() {
        let p = Params::default();
        let f = features(&ex("", "Школьный автобус не пришел"), &p);
        let keys: Vec<&str> = f.iter().map(|(k, _, _)| k.as_str()).collect();
        assert!(keys.contains(&"школьн автобус"), "{keys:?}");
        let mut m = Model::new();
        for _ in 0..3 {
            m.learn(&ex("", "школьный автобус опоздал"), "education");
            m.learn(&ex("", "рейсовый автобус отменили"), "housing");
        }
        let best = &m.predict(&ex("", "школьный автобус опять опоздал"), 1)[0];
        assert_eq!(best.executor, "education");
        assert!(
            best.words.iter().all(|w| !w.contains(' ')),
            "{:?}",
            best.words
        );
    }

    #[test]
    fn a_word_after_ne_is_a_word_of_its_own() {
        let f = features(&ex("", "Фонари не горят"), &Params::default());
        let keys: Vec<&str> = f.iter().map(|(k, _, _)| k.as_str()).collect();
        assert!(keys.contains(&"не_гор"), "{keys:?}");
        assert!(!keys.contains(&"гор"), "{keys:?}");
        let f = features(&ex("", "Горит трава"), &Params::default());
        assert!(f.iter().any(|(k, _, _)| k == "гор"));
    }

    #[test]
    fn an_empty_model_proposes_nobody() {
        assert!(Model::new().predict(&ex("", "что угодно"), 3).is_empty());
    }
}
