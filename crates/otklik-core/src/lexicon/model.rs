//! Clause 12's second reader: a small logistic regression, trained on labelled posts
//! shipped with the product, for what the rules have no word for — a veiled threat
//! («дочка его одна из школы ходит»), an insult by irony («интеллект табуретки»), a post
//! typed wholly in Latin letters («glava - mudak»). Pure.
//!
//! It reads the post as the rules do ([`normalise`]), and each word three ways: its
//! Snowball stem, the stems of it and its neighbour (a bigram), and the letters of the word
//! three and four at a time (so `мудачьё` and a new suffix still share something with
//! what it learned); a word typed in Latin letters is already read in Cyrillic
//! (`pizdec` → `пиздец`, see [`super::translit`]). Features are hashed into a fixed table of
//! [`BUCKETS`] weights, so the model's size does not depend on its corpus.
//!
//! The model alone never excludes a post: on posts it had not seen it was sure of too many
//! legitimate ones for that (even at 0.99, one of 3,214 written to look abusive when each
//! set was left out of training in turn; see `examples/clause12_fresh.rs`). The rules
//! decide. Where they found nothing, the model excludes only when it is at least
//! [`EXCLUDE_THRESHOLD`] sure *and* the post has a word of the rules' threat or insult
//! lists somewhere, in whatever context ([`super::rules::Builtin::cues`]); where it is at
//! least [`THRESHOLD`] sure otherwise, the case goes on as usual and the coordinator is
//! told it may fall under clause 12, with the words that weighed most and a one-click
//! `ИСКЛЮЧИТЬ`.

use super::normalise::{self, Normalised};
use crate::stem;
use std::sync::OnceLock;

/// Size of the hashed weight table (`f32` each, so 1 MiB).
pub const BUCKETS: usize = 1 << 18;

/// Passes over the corpus in training.
pub const EPOCHS: usize = 12;

/// AdaGrad's base rate.
const RATE: f32 = 0.3;

/// L2 penalty per step.
const LAMBDA: f32 = 1e-5;

/// The probability of abuse from which a post the rules let through is flagged to the
/// coordinator. Chosen by leaving each set of the corpus out in turn
/// (`examples/clause12_fresh.rs`, sets 0 to 19): there, with the rules of the seventh
/// round, 108 of the 227 abusive posts the rules missed were flagged, and 11 of 2,374
/// legitimate posts written to look abusive; none of 863 ordinary complaints (the routing
/// held-out sets) nor of 150 short ones kept out of training
/// (`tests/data/clause12/short-heldout.tsv`). At 0.85 (the value before `dev13`–`dev17`
/// joined the corpus) one of those 150 was flagged, so it went up to 0.9. With the rules
/// of the eighth round and `dev21`–`dev23` in the corpus (sets 0 to 22), 124 of the 247
/// missed are flagged at 0.9, 12 of 2,734 near-miss legitimate posts and none of the 863
/// ordinary ones; one of the 150 short posts now passes it (0.909) and the threshold was
/// left where the development sets put it. After the ninth round (sets 0 to 24): 147 of
/// the 277 missed flagged, 8 of 2,974 near-miss legitimate posts, 1 of the 863 ordinary
/// ones, none of the 150 short ones. After the tenth (sets 0 to 26): 147 of the 281
/// missed, 11 of 3,214 near-miss legitimate posts, none of the 863 ordinary ones nor of
/// the 150 short ones. After the eleventh
/// (sets 0 to 28): 170 of the 332 missed flagged, 12 of 3,454 near-miss
/// legitimate posts, none of the 863 ordinary ones, one of the 150 short ones (as
/// after the eighth round; the threshold stays).
pub const THRESHOLD: f32 = 0.9;

/// The probability from which the model excludes a post the rules let through, when the
/// post also has a word of the threat or insult lists ([`super::rules::Builtin::cues`]).
/// Chosen on the development sets, each left out of training in turn
/// (`examples/clause12_fresh.rs`, sets 0 to 26), as the lowest of 0.9, 0.95, 0.98 and 0.99
/// at which no legitimate post was excluded: there, of the 281 abusive posts the rules
/// missed, 0.9 excluded 41 and 2 of the 3,214 near-miss legitimate posts; 0.95, 31 and 1;
/// 0.98, 20 and none; none of 863 ordinary complaints nor of 150 short posts at any of
/// them. Without the cue, 0.98 would have excluded 62 and 2 legitimate posts. With the
/// routing starter corpus grown to 9,054 posts (learned as ordinary complaints): 21 and
/// none at 0.98. After the eleventh round of rules, with `dev28` and `dev29` (sets 0 to
/// 28), 0.98 excluded one of 3,454 near-miss legitimate posts (and 24 of the 332 missed),
/// so the rule put it at 0.99: 15 of the 332, none of the 3,454.
pub const EXCLUDE_THRESHOLD: f32 = 0.99;

/// How many words a reason names.
pub const WORDS_SHOWN: usize = 3;

/// The labelled posts the shipped model learns from: `label<TAB>text` lines, label
/// `exclude` or `answer`, `#` comments.
pub const CORPUS: &[&str] = &[
    include_str!("../../../../config/clause12/examples/dev.tsv"),
    include_str!("../../../../config/clause12/examples/dev2.tsv"),
    include_str!("../../../../config/clause12/examples/dev3.tsv"),
    include_str!("../../../../config/clause12/examples/dev4.tsv"),
    include_str!("../../../../config/clause12/examples/dev5.tsv"),
    include_str!("../../../../config/clause12/examples/dev6.tsv"),
    include_str!("../../../../config/clause12/examples/dev7.tsv"),
    include_str!("../../../../config/clause12/examples/dev8.tsv"),
    include_str!("../../../../config/clause12/examples/dev9.tsv"),
    include_str!("../../../../config/clause12/examples/dev10.tsv"),
    include_str!("../../../../config/clause12/examples/dev11.tsv"),
    include_str!("../../../../config/clause12/examples/dev12.tsv"),
    include_str!("../../../../config/clause12/examples/dev13.tsv"),
    include_str!("../../../../config/clause12/examples/dev14.tsv"),
    include_str!("../../../../config/clause12/examples/dev15.tsv"),
    include_str!("../../../../config/clause12/examples/dev16.tsv"),
    include_str!("../../../../config/clause12/examples/dev17.tsv"),
    include_str!("../../../../config/clause12/examples/dev18.tsv"),
    include_str!("../../../../config/clause12/examples/dev19.tsv"),
    include_str!("../../../../config/clause12/examples/dev20.tsv"),
    include_str!("../../../../config/clause12/examples/dev21.tsv"),
    include_str!("../../../../config/clause12/examples/dev22.tsv"),
    include_str!("../../../../config/clause12/examples/dev23.tsv"),
    include_str!("../../../../config/clause12/examples/dev24.tsv"),
    include_str!("../../../../config/clause12/examples/dev25.tsv"),
    include_str!("../../../../config/clause12/examples/dev26.tsv"),
    include_str!("../../../../config/clause12/examples/dev27.tsv"),
    include_str!("../../../../config/clause12/examples/dev28.tsv"),
    include_str!("../../../../config/clause12/examples/dev29.tsv"),
    include_str!("../../../../config/clause12/examples/short.tsv"),
];

/// Ordinary complaints, all to be answered: the texts of the routing starter corpus
/// (`config/routing-starter.tsv`). Without them, and without the short posts of
/// `short.tsv` in [`CORPUS`], the model took everyday posts («вечером темно», «Нет воды
/// третий день.») for veiled threats, having seen few that were not.
pub fn complaints() -> impl Iterator<Item = (bool, &'static str)> {
    crate::classifier::STARTER_CORPUS.lines().filter_map(|l| {
        if l.starts_with('#') {
            return None;
        }
        let text = l.split('\t').nth(3)?;
        Some((false, text))
    })
}

/// Every training row of the shipped model but those of `CORPUS[skip]` (to measure the
/// model on a set it did not learn from): the labelled sets, then [`complaints`].
pub fn training(skip: Option<usize>) -> impl Iterator<Item = (bool, &'static str)> {
    CORPUS
        .iter()
        .enumerate()
        .filter(move |(i, _)| Some(*i) != skip)
        .flat_map(|(_, t)| rows(t))
        .chain(complaints())
}

/// A trained model: one weight per bucket and a bias.
#[derive(Clone)]
pub struct Model {
    weights: Sparse,
    bias: f32,
}

/// The weight table as held after training: most buckets are never used by the corpus
/// (about 75,000 of 262,144 are), so only the others' weights are kept, found through a
/// bitmap of the buckets in use and a running count per 64 buckets (0.35 MB instead of
/// 1 MiB, the same weights to the bit).
#[derive(Clone, Default)]
struct Sparse {
    /// Bit `b % 64` of word `b / 64`: bucket `b` has a weight other than zero.
    used: Vec<u64>,
    /// By word of `used`: how many buckets before it have a weight.
    before: Vec<u32>,
    /// The weights other than zero, by bucket.
    values: Vec<f32>,
}

impl Sparse {
    fn from_dense(dense: &[f32]) -> Sparse {
        let mut s = Sparse {
            used: vec![0; dense.len().div_ceil(64)],
            before: Vec::with_capacity(dense.len().div_ceil(64)),
            values: Vec::new(),
        };
        for (k, chunk) in dense.chunks(64).enumerate() {
            s.before.push(s.values.len() as u32);
            for (j, &w) in chunk.iter().enumerate() {
                if w != 0.0 {
                    s.used[k] |= 1 << j;
                    s.values.push(w);
                }
            }
        }
        s.values.shrink_to_fit();
        s
    }

    /// Bucket `b`'s weight (0 for a bucket out of the table).
    fn get(&self, b: usize) -> f32 {
        let (k, bit) = (b / 64, 1u64 << (b % 64));
        match (self.used.get(k), self.before.get(k)) {
            (Some(&word), Some(&before)) if word & bit != 0 => {
                let rank = before as usize + (word & (bit - 1)).count_ones() as usize;
                self.values.get(rank).copied().unwrap_or(0.0)
            }
            _ => 0.0,
        }
    }

    fn len(&self) -> usize {
        self.used.len() * 64
    }
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("buckets", &self.weights.len())
            .finish()
    }
}

/// The model's verdict on one post.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Probability that the post falls under clause 12.
    pub probability: f32,
    /// The post's words that weighed most toward exclusion, heaviest first.
    pub words: Vec<String>,
}

/// `label<TAB>text` rows of a corpus text (`exclude` → true); lines that are blank, start
/// with `#` or carry another label are skipped.
pub fn rows(text: &str) -> impl Iterator<Item = (bool, &str)> {
    text.lines().filter_map(|l| {
        if l.starts_with('#') {
            return None;
        }
        let (label, post) = l.split_once('\t')?;
        match label.trim() {
            "exclude" => Some((true, post)),
            "answer" => Some((false, post)),
            _ => None,
        }
    })
}

/// 64-bit FNV-1a, so that a feature lands in the same bucket on every machine and run.
fn hash(parts: &[&str]) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h ^= 0x1f;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        for b in p.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    (h % BUCKETS as u64) as usize
}

/// The features of a read post: `(bucket, index of the word it came from)`.
fn features(n: &Normalised) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut prev: Option<(usize, String, usize)> = None;
    for (i, t) in n.tokens.iter().enumerate() {
        let word = normalise::collapse_doubles(&t.text);
        let s = stem::stem(&word);
        out.push((hash(&["w", &s]), i));
        if let Some((pi, ps, sentence)) = &prev
            && *sentence == t.sentence
        {
            out.push((hash(&["b", ps, &s]), *pi));
            out.push((hash(&["b", ps, &s]), i));
        }
        let letters: Vec<char> = format!("<{word}>").chars().collect();
        for k in [3, 4] {
            for g in letters.windows(k) {
                let g: String = g.iter().collect();
                out.push((hash(&["c", &g]), i));
            }
        }
        prev = Some((i, s, t.sentence));
    }
    out
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

impl Model {
    /// Trains on `(must_exclude, text)` rows: logistic regression by AdaGrad, [`EPOCHS`]
    /// passes in a fixed shuffled order, so the same corpus gives the same model.
    pub fn train<'a>(rows: impl IntoIterator<Item = (bool, &'a str)>) -> Model {
        // A post's buckets as `u32` (they are below 2^18), each list exactly sized: the
        // corpus's features are held through training, and then given back.
        let docs: Vec<(f32, Vec<u32>, f32)> = rows
            .into_iter()
            .map(|(y, text)| {
                let mut f: Vec<u32> = features(&normalise::normalise(text))
                    .iter()
                    .map(|(b, _)| *b as u32)
                    .collect();
                f.sort_unstable();
                f.shrink_to_fit();
                let scale = 1.0 / (f.len().max(1) as f32).sqrt();
                (if y { 1.0 } else { 0.0 }, f, scale)
            })
            .collect();
        let mut weights = vec![0.0f32; BUCKETS];
        let mut bias = 0.0f32;
        let mut g2 = vec![0.0f32; BUCKETS];
        let mut g2_bias = 0.0f32;
        let mut order: Vec<usize> = (0..docs.len()).collect();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..EPOCHS {
            for i in (1..order.len()).rev() {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                order.swap(i, (seed % (i as u64 + 1)) as usize);
            }
            for &d in &order {
                let (y, f, scale) = &docs[d];
                let z = bias + f.iter().map(|&b| weights[b as usize] * scale).sum::<f32>();
                let g = sigmoid(z) - y;
                for &b in f {
                    let b = b as usize;
                    let gb = g * scale + LAMBDA * weights[b];
                    g2[b] += gb * gb;
                    weights[b] -= RATE * gb / (g2[b].sqrt() + 1e-6);
                }
                g2_bias += g * g;
                bias -= RATE * g / (g2_bias.sqrt() + 1e-6);
            }
        }
        Model {
            weights: Sparse::from_dense(&weights),
            bias,
        }
    }

    /// The model trained on the shipped corpus ([`training`]), once per process.
    pub fn shipped() -> &'static Model {
        static MODEL: OnceLock<Model> = OnceLock::new();
        MODEL.get_or_init(|| Model::train(training(None)))
    }

    /// The probability that a read post falls under clause 12, with the words that weighed
    /// most toward it (at most [`WORDS_SHOWN`], only words that pushed toward exclusion).
    pub fn judge(&self, n: &Normalised) -> Verdict {
        let f = features(n);
        let mut buckets: Vec<usize> = f.iter().map(|(b, _)| *b).collect();
        buckets.sort_unstable();
        let scale = 1.0 / (buckets.len().max(1) as f32).sqrt();
        let z = self.bias
            + buckets
                .iter()
                .map(|&b| self.weights.get(b) * scale)
                .sum::<f32>();
        let mut by_word = vec![0.0f32; n.tokens.len()];
        for (b, i) in &f {
            if let Some(w) = by_word.get_mut(*i) {
                *w += self.weights.get(*b);
            }
        }
        let mut ranked: Vec<(f32, usize)> = by_word
            .iter()
            .enumerate()
            .filter(|(_, w)| **w > 0.0)
            .map(|(i, w)| (*w, i))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut words: Vec<String> = Vec::new();
        for (_, i) in ranked {
            let w = n.tokens[i].text.clone();
            if !words.contains(&w) {
                words.push(w);
            }
            if words.len() == WORDS_SHOWN {
                break;
            }
        }
        Verdict {
            probability: sigmoid(z),
            words,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sparse_table_gives_back_every_weight() {
        let mut dense = vec![0.0f32; 300];
        for (i, w) in dense.iter_mut().enumerate() {
            if i % 7 == 0 || i == 63 || i == 64 || i == 299 {
                *w = i as f32 - 150.5;
            }
        }
        let s = Sparse::from_dense(&dense);
        for (i, w) in dense.iter().enumerate() {
            assert_eq!(s.get(i).to_bits(), w.to_bits(), "{i}");
        }
        assert_eq!(s.get(10_000), 0.0);
        assert_eq!(s.len(), 320);
    }

    #[test]
    fn a_model_learns_its_corpus_and_names_the_words() {
        let rows = [
            (true, "глава мудак и вор"),
            (true, "мудак этот депутат"),
            (false, "глава обещал дорогу"),
            (false, "депутат приехал на встречу"),
        ];
        let m = Model::train(rows);
        let bad = m.judge(&normalise::normalise("мудак"));
        let good = m.judge(&normalise::normalise("обещал дорогу"));
        assert!(bad.probability > good.probability);
        assert_eq!(bad.words, vec!["мудак".to_string()]);
    }
}
