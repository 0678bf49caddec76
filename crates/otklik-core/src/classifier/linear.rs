//! The routing model's second opinion: multinomial logistic regression over the same
//! features as the naive Bayes counts, trained by AdaGrad steps. Naive Bayes adds up every
//! word's evidence as if the words were independent; the regression learns how much each
//! word is worth beside the others (a fire word outweighs the street words around it), so
//! the two are wrong on different posts and their average is surer where both agree. It
//! learns online, one step per example, like the counts: every confirmed executor moves
//! it at once. Pure and deterministic (the training order is a fixed shuffle).
//!
//! The weights are one flat table of `f32`, a row of one weight per executor for each
//! feature, the rows found by the feature's number in the model's feature table (see the
//! `table` module): a few megabytes for the starter corpus, where a map of rows took six
//! times that.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::table::Table;

/// No row (in [`Linear::rows`]).
const NONE: u32 = u32::MAX;

/// Passes over the examples when a model is trained at once.
pub(super) const EPOCHS: usize = 5;

/// The AdaGrad learning rate.
pub(super) const RATE: f32 = 0.5;

/// L2 regularisation of the weights.
pub(super) const LAMBDA: f32 = 1e-4;

/// How sure of a confirmed post's executor one lesson leaves the regression.
pub(super) const LEARNED: f32 = 0.9;

/// At most this many steps for one confirmed post.
pub(super) const STEPS: usize = 10;

/// The weights: for row `r`, the executors' weights are
/// `weights[r * classes.len()..][..classes.len()]`, and `squares` the summed squared
/// gradients AdaGrad scales its steps by, laid out the same way. Feature number `f` of the
/// model's table has row `rows[f]` (none when `f` is past the end or the entry is
/// [`NONE`]): rows are numbered in the order the regression met the features.
#[derive(Debug, Clone, Default)]
pub(super) struct Linear {
    classes: Vec<String>,
    bias: Vec<f32>,
    rows: Vec<u32>,
    count: usize,
    weights: Vec<f32>,
    squares: Vec<f32>,
}

/// The regression as it is serialised: its rows keyed by the feature's text.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct Wire {
    classes: Vec<String>,
    bias: Vec<f32>,
    index: BTreeMap<String, u32>,
    weights: Vec<f32>,
    squares: Vec<f32>,
}

/// A post's features scaled to unit length, so that a long post is not surer for being long.
fn unit(features: &[(u32, f64)]) -> Vec<(u32, f32)> {
    let norm = features.iter().map(|(_, w)| w * w).sum::<f64>().sqrt();
    if norm <= 0.0 {
        return Vec::new();
    }
    features
        .iter()
        .map(|(f, w)| (*f, (w / norm) as f32))
        .collect()
}

/// Scores to probabilities, in place.
fn softmax(s: &mut [f32]) {
    let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in s.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    if sum > 0.0 {
        for v in s.iter_mut() {
            *v /= sum;
        }
    }
}

/// One AdaGrad step of the rows `x` (feature number, value) towards `target`, given the
/// current probabilities `p` (overwritten with the gradient).
fn step(
    k: usize,
    weights: &mut [f32],
    squares: &mut [f32],
    bias: &mut [f32],
    x: &[(usize, f32)],
    p: &mut [f32],
    target: &[f32],
) {
    for c in 0..k {
        let g = p[c] - target[c];
        bias[c] -= RATE * 0.1 * g;
        p[c] = g;
    }
    for (f, v) in x {
        let row = f * k..(f + 1) * k;
        for ((w, sq), g) in weights[row.clone()]
            .iter_mut()
            .zip(&mut squares[row])
            .zip(&*p)
        {
            let g = g * v + LAMBDA * *w;
            *sq += g * g;
            if *sq > 0.0 {
                *w -= RATE * g / sq.sqrt();
            }
        }
    }
}

impl Linear {
    /// The row of feature number `f`, if the regression has met it.
    fn row(&self, f: u32) -> Option<usize> {
        self.rows
            .get(f as usize)
            .filter(|&&r| r != NONE)
            .map(|&r| r as usize)
    }

    /// The serialised form, the features named by `table`.
    pub(super) fn to_wire(&self, table: &Table) -> Wire {
        let index = (0..self.rows.len() as u32)
            .filter_map(|f| self.row(f).map(|r| (table.name(f).to_string(), r as u32)))
            .collect();
        Wire {
            classes: self.classes.clone(),
            bias: self.bias.clone(),
            index,
            weights: self.weights.clone(),
            squares: self.squares.clone(),
        }
    }

    /// From the serialised form, its features numbered in `table`. Rows past the
    /// weights' end, or a weight table not a whole number of rows, are dropped: a damaged
    /// file gives a smaller regression, never an index out of bounds.
    pub(super) fn from_wire(w: Wire, table: &mut Table) -> Linear {
        let k = w.classes.len();
        let count = w.weights.len().checked_div(k).unwrap_or(0);
        let mut m = Linear {
            bias: if w.bias.len() == k {
                w.bias
            } else {
                vec![0.0; k]
            },
            classes: w.classes,
            rows: Vec::new(),
            count,
            weights: w.weights,
            squares: w.squares,
        };
        m.weights.truncate(count * k);
        m.squares.resize(count * k, 0.0);
        for (name, r) in w.index {
            if (r as usize) < count
                && let Some(f) = table.intern(&name)
            {
                m.set_row(f, r);
            }
        }
        m
    }

    fn set_row(&mut self, f: u32, r: u32) {
        let f = f as usize;
        if self.rows.len() <= f {
            self.rows.resize(f + 1, NONE);
        }
        self.rows[f] = r;
    }

    /// Gives back spare capacity (after training at once).
    pub(super) fn shrink_to_fit(&mut self) {
        self.rows.shrink_to_fit();
        self.weights.shrink_to_fit();
        self.squares.shrink_to_fit();
    }

    fn class(&mut self, executor: &str) -> usize {
        if let Some(i) = self.classes.iter().position(|c| c == executor) {
            return i;
        }
        // A new executor: a column more in every row.
        let k = self.classes.len();
        let rows = self.count;
        let widen = |old: &[f32]| -> Vec<f32> {
            let mut out = Vec::with_capacity(rows * (k + 1));
            for r in 0..rows {
                out.extend_from_slice(&old[r * k..(r + 1) * k]);
                out.push(0.0);
            }
            out
        };
        self.weights = widen(&self.weights);
        self.squares = widen(&self.squares);
        self.classes.push(executor.to_string());
        self.bias.push(0.0);
        k
    }

    /// The row numbers of the features, each added as a row of zeros when new.
    fn rows(&mut self, x: &[(u32, f32)]) -> Vec<(usize, f32)> {
        let k = self.classes.len();
        x.iter()
            .map(|&(f, v)| {
                let r = match self.row(f) {
                    Some(r) => r,
                    None => {
                        let r = self.count;
                        self.set_row(f, r as u32);
                        self.count += 1;
                        self.weights.extend(std::iter::repeat_n(0.0, k));
                        self.squares.extend(std::iter::repeat_n(0.0, k));
                        r
                    }
                };
                (r, v)
            })
            .collect()
    }

    /// The probability of each executor it knows, in the order of `classes`.
    fn probabilities(&self, x: &[(usize, f32)]) -> Vec<f32> {
        let k = self.classes.len();
        let mut s = self.bias.clone();
        for (f, v) in x {
            for (sc, wc) in s.iter_mut().zip(&self.weights[f * k..(f + 1) * k]) {
                *sc += wc * v;
            }
        }
        softmax(&mut s);
        s
    }

    fn learn_towards(&mut self, x: &[(usize, f32)], target: &[f32]) {
        let k = self.classes.len();
        let mut p = self.probabilities(x);
        step(
            k,
            &mut self.weights,
            &mut self.squares,
            &mut self.bias,
            x,
            &mut p,
            target,
        );
    }

    /// Learns that the post with these features is `executor`'s: steps towards it until
    /// the regression gives it [`LEARNED`] of this post, at most [`STEPS`] of them, so that
    /// one confirmed post moves the model as much as one more post moves the counts (a
    /// single AdaGrad step on a word never seen barely would).
    pub(super) fn learn(&mut self, features: &[(u32, f64)], executor: &str) {
        let c = self.class(executor);
        let x = self.rows(&unit(features));
        let mut target = vec![0.0; self.classes.len()];
        target[c] = 1.0;
        for _ in 0..STEPS {
            self.learn_towards(&x, &target);
            if self.probabilities(&x)[c] >= LEARNED {
                break;
            }
        }
    }

    /// Learns that the post is not `executor`'s: the executor's share goes to the others in
    /// proportion to what they have.
    pub(super) fn negative(&mut self, features: &[(u32, f64)], executor: &str) {
        let Some(c) = self.classes.iter().position(|e| e == executor) else {
            return;
        };
        let x = self.rows(&unit(features));
        let mut target = self.probabilities(&x);
        let rest = 1.0 - target[c];
        target[c] = 0.0;
        if rest > 0.0 {
            for t in target.iter_mut() {
                *t /= rest;
            }
        }
        self.learn_towards(&x, &target);
    }

    /// Trained on every example, [`EPOCHS`] passes in a fixed shuffled order: the same steps
    /// as [`Linear::learn`], on features numbered once (no map lookup per step).
    pub(super) fn train(examples: &[(Vec<(u32, f64)>, &str)]) -> Linear {
        let mut classes: Vec<String> = Vec::new();
        let mut numbers: HashMap<u32, usize> = HashMap::new();
        let mut names: Vec<u32> = Vec::new();
        let mut data: Vec<(Vec<(usize, f32)>, usize)> = Vec::with_capacity(examples.len());
        for (features, e) in examples {
            let c = match classes.iter().position(|x| x == e) {
                Some(c) => c,
                None => {
                    classes.push((*e).to_string());
                    classes.len() - 1
                }
            };
            let x = unit(features)
                .into_iter()
                .map(|(f, v)| {
                    let next = names.len();
                    let i = *numbers.entry(f).or_insert(next);
                    if i == next {
                        names.push(f);
                    }
                    (i, v)
                })
                .collect();
            data.push((x, c));
        }
        let k = classes.len();
        let mut m = Linear {
            rows: Vec::new(),
            count: names.len(),
            weights: vec![0.0; names.len() * k],
            squares: vec![0.0; names.len() * k],
            bias: vec![0.0; k],
            classes,
        };
        for (r, f) in names.iter().enumerate() {
            m.set_row(*f, r as u32);
        }
        let mut order: Vec<usize> = (0..data.len()).collect();
        let mut seed: u64 = 0x6f74_6b6c_696b;
        let mut target = vec![0.0; k];
        for _ in 0..EPOCHS {
            for i in (1..order.len()).rev() {
                seed = seed
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                let j = (seed >> 33) as usize % (i + 1);
                order.swap(i, j);
            }
            for &i in &order {
                let (x, y) = &data[i];
                target.fill(0.0);
                target[*y] = 1.0;
                m.learn_towards(x, &target);
            }
        }
        m
    }

    /// The probability of each executor it knows for the post with these features.
    pub(super) fn predict(&self, features: &[(u32, f64)]) -> BTreeMap<&str, f64> {
        // Words it never saw say nothing, and do not dilute those it knows.
        let known: Vec<(u32, f64)> = features
            .iter()
            .filter(|(f, _)| self.row(*f).is_some())
            .copied()
            .collect();
        let x: Vec<(usize, f32)> = unit(&known)
            .into_iter()
            .filter_map(|(f, v)| self.row(f).map(|r| (r, v)))
            .collect();
        self.classes
            .iter()
            .map(String::as_str)
            .zip(self.probabilities(&x).into_iter().map(f64::from))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(t: &mut Table, words: &[&str]) -> Vec<(u32, f64)> {
        words
            .iter()
            .filter_map(|w| t.intern(w))
            .map(|i| (i, 1.0))
            .collect()
    }

    #[test]
    fn learns_a_word_and_unlearns_by_a_negative() {
        let mut t = Table::default();
        let examples = vec![
            (f(&mut t, &["вод", "труб"]), "housing"),
            (f(&mut t, &["налог", "земл"]), "finance"),
        ];
        let mut m = Linear::train(&examples);
        let p = m.predict(&f(&mut t, &["вод"]));
        assert!(p["housing"] > 0.8, "{p:?}");
        let before = p["housing"];
        m.negative(&f(&mut t, &["вод"]), "housing");
        assert!(m.predict(&f(&mut t, &["вод"]))["housing"] < before);
        // A new executor and a new word: a column and a row more.
        m.learn(&f(&mut t, &["школ", "вод"]), "education");
        let p = m.predict(&f(&mut t, &["школ"]));
        assert_eq!(p.len(), 3);
        assert!(p["education"] > p["finance"], "{p:?}");
        assert_eq!(m.count, 5);
        assert_eq!(m.weights.len(), m.count * 3);
        // A word the table knows but the regression never met says nothing.
        let p2 = m.predict(&f(&mut t, &["школ", "новое"]));
        assert_eq!(p, p2);
    }

    #[test]
    fn the_serialised_form_reads_back() {
        let mut t = Table::default();
        let mut m = Linear::train(&[
            (f(&mut t, &["вод", "труб"]), "housing"),
            (f(&mut t, &["налог"]), "finance"),
        ]);
        m.learn(&f(&mut t, &["школ"]), "education");
        let wire = m.to_wire(&t);
        assert_eq!(wire.index.len(), 4);
        let mut t2 = Table::default();
        t2.intern("другое");
        let back = Linear::from_wire(wire, &mut t2);
        let x = f(&mut t, &["школ", "вод"]);
        let y = f(&mut t2, &["школ", "вод"]);
        assert_eq!(m.predict(&x), back.predict(&y));
        assert_eq!(back.to_wire(&t2).index, m.to_wire(&t).index);
    }

    #[test]
    fn an_empty_post_is_even() {
        let mut t = Table::default();
        let m = Linear::train(&[
            (f(&mut t, &["вод"]), "housing"),
            (f(&mut t, &["налог"]), "finance"),
        ]);
        let p = m.predict(&[]);
        assert!((p["housing"] - p["finance"]).abs() < 0.2, "{p:?}");
    }
}
