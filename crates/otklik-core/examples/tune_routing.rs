//! The grid the routing model's knobs were chosen on: 5-fold cross-validation of the bare
//! model (no rules) on the starter corpus, for each combination of the knobs and several
//! thresholds. It only prints; pick the knobs by hand and keep the held-out set out of it.
//!
//! `cargo run --release -p otklik-core --example tune_routing` (the built-in corpus,
//! `config/routing-starter.tsv`)
//!
//! Each cell reads `threshold:right/wrong/left/first-suggestion-right`, in per cent.

use otklik_core::routing::model::{self, Params};
use otklik_core::routing::{Labelled, Model};

/// Right, wrong, left and first-right-among-left (per cent) for each threshold.
fn cross_validate(
    corpus: &[Labelled],
    params: Params,
    folds: usize,
    thresholds: &[f64],
) -> Vec<(f64, f64, f64, f64)> {
    let mut counts = vec![(0usize, 0usize, 0usize, 0usize); thresholds.len()];
    for k in 0..folds {
        let train = corpus
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds != k)
            .map(|(_, l)| l);
        let m = Model::train_with(params, train);
        for (i, l) in corpus.iter().enumerate() {
            if i % folds != k {
                continue;
            }
            let Some(best) = m.predict(&l.example, 0).into_iter().next() else {
                continue;
            };
            let hit = best.executor == l.executor;
            for (t, th) in thresholds.iter().enumerate() {
                let c = &mut counts[t];
                match (best.probability.get() >= *th, hit) {
                    (true, true) => c.0 += 1,
                    (true, false) => c.1 += 1,
                    (false, first) => {
                        c.2 += 1;
                        c.3 += usize::from(first);
                    }
                }
            }
        }
    }
    let n = corpus.len().max(1) as f64;
    counts
        .iter()
        .map(|(r, w, l, f)| {
            let first = if *l == 0 {
                0.0
            } else {
                100.0 * *f as f64 / *l as f64
            };
            (
                100.0 * *r as f64 / n,
                100.0 * *w as f64 / n,
                100.0 * *l as f64 / n,
                first,
            )
        })
        .collect()
}

fn main() {
    let corpus = match model::parse_corpus(model::STARTER_CORPUS) {
        Ok(c) => c,
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            std::process::exit(1);
        }
    };
    println!(
        "{} examples; defaults {:?}",
        corpus.len(),
        Params::default()
    );
    let thresholds = [0.5, 0.6, 0.7, 0.8, 0.9];
    for prefix in [0, 4, 5] {
        for alpha in [0.05, 0.1, 0.25] {
            for topic_weight in [1.0, 2.0] {
                for temperature in [1.0, 1.5, 2.0, 3.0] {
                    let p = Params {
                        alpha,
                        topic_weight,
                        temperature,
                        prefix,
                    };
                    let cells: Vec<String> = cross_validate(&corpus, p, 5, &thresholds)
                        .iter()
                        .zip(thresholds)
                        .map(|((r, w, l, f), th)| format!("{th}:{r:.0}/{w:.1}/{l:.0}/{f:.0}"))
                        .collect();
                    println!(
                        "p={prefix} a={alpha} tw={topic_weight} T={temperature}  {}",
                        cells.join("  ")
                    );
                }
            }
        }
    }
}
