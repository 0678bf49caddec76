//! The grid the routing model's knobs were chosen on: 5-fold cross-validation on the
//! starter corpus alone (never a held-out set), each post routed as the service routes it
//! — the shipped config's rules first, then the model trained on the other four folds —
//! for each combination of the knobs and several thresholds. It only prints; the knobs are
//! picked by hand from what it prints.
//!
//! `cargo run --release -p otklik-core --example tune_routing` (the built-in corpus,
//! `config/routing-starter.tsv`, and `config/otklik.toml`)
//!
//! Each cell reads `threshold:right/wrong/left/first-suggestion-right`, in per cent.
#![allow(clippy::disallowed_methods)] // an example: it reads the shipped config and times

use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use otklik_core::config::{self, Config, Environment, SecretCheck};
use otklik_core::intake::Notification;
use otklik_core::routing::model::{self, Params};
use otklik_core::routing::{self, Labelled, Model};

struct Files;

impl Environment for Files {
    fn var(&self, _name: &str) -> Option<String> {
        None
    }
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }
}

fn notification(l: &Labelled) -> Notification {
    Notification {
        source_id: None,
        topic: (!l.example.topic.trim().is_empty()).then(|| l.example.topic.clone()),
        location: None,
        category: None,
        source: None,
        link: None,
        author: None,
        detected_at: Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap(),
        text: l.example.text.clone(),
        repeat: false,
        attachments: vec![],
        warnings: vec![],
    }
}

/// Right, wrong, left and first-right-among-left (per cent) for each threshold.
fn cross_validate(
    config: &Config,
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
            if let Some(rule) = routing::first_match(config, &notification(l)) {
                for c in counts.iter_mut() {
                    if rule.executor == l.executor {
                        c.0 += 1;
                    } else {
                        c.1 += 1;
                    }
                }
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
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    // OTKLIK_CONFIG and OTKLIK_CORPUS: another config or corpus to try.
    let path = std::env::var_os("OTKLIK_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("config/otklik.toml"));
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let config = match config::parse(&text, &path, SecretCheck::Lenient, &Files) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let corpus_text = std::env::var_os("OTKLIK_CORPUS")
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .unwrap_or_else(|| model::STARTER_CORPUS.to_string());
    let corpus = match model::parse_corpus(&corpus_text) {
        Ok(c) => c,
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            std::process::exit(1);
        }
    };
    // Training as the service trains at start-up: the fastest of five runs (the machine may
    // be busy with other work).
    let mut fastest = f64::INFINITY;
    let mut m = Model::new();
    for _ in 0..5 {
        let started = std::time::Instant::now();
        m = Model::train(&corpus);
        fastest = fastest.min(started.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "{} examples, trained in {fastest:.1} ms ({m:?}); defaults {:?}",
        corpus.len(),
        Params::default()
    );
    let thresholds = [0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.9];
    let only = std::env::args().nth(1).unwrap_or_default();
    let mut grid = Vec::new();
    // The grid the defaults were picked from (a wider one was searched first: prefix 0 or 4,
    // smoothing 0.05 to 4, topic weight 1 or 2, length power 0 or 0.5, with and without
    // the prior; these are the knobs that mattered).
    for complement in [false, true] {
        for alpha in [0.25, 1.0] {
            for bigrams in [0.0, 1.0] {
                for negation in [false, true] {
                    let temperatures: &[f64] = if complement {
                        &[0.75, 1.0, 1.25]
                    } else {
                        &[2.0, 3.0, 4.0]
                    };
                    for &temperature in temperatures {
                        grid.push(Params {
                            alpha,
                            temperature,
                            bigrams,
                            complement,
                            negation,
                            ..Params::default()
                        });
                    }
                }
            }
        }
    }
    if only == "default" {
        grid = vec![Params::default()];
    }
    // With and without the regression's second opinion.
    if only == "linear" {
        grid = vec![
            Params {
                linear: false,
                ..Params::default()
            },
            Params::default(),
        ];
    }
    // The second round's grid, on the grown corpus with the topics left to the model.
    if only == "topic" {
        grid.clear();
        for topic_weight in [1.0, 1.5, 2.0, 3.0] {
            for alpha in [0.5, 1.0] {
                for temperature in [0.75, 1.0, 1.25] {
                    grid.push(Params {
                        topic_weight,
                        alpha,
                        temperature,
                        ..Params::default()
                    });
                }
            }
        }
    }
    for p in grid {
        let cells: Vec<String> = cross_validate(&config, &corpus, p, 5, &thresholds)
            .iter()
            .zip(thresholds)
            .map(|((r, w, l, f), th)| format!("{th}:{r:.1}/{w:.1}/{l:.0}/{f:.0}"))
            .collect();
        println!(
            "p={} a={} tw={} bi={} lp={} T={} prior={} c={} not={} lin={}  {}",
            p.prefix,
            p.alpha,
            p.topic_weight,
            p.bigrams,
            p.length_power,
            p.temperature,
            p.prior,
            p.complement,
            p.negation,
            p.linear,
            cells.join("  ")
        );
    }
}
