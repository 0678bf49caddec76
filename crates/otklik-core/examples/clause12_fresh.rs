//! How the clause 12 model's flag threshold was chosen, on posts the model did not learn
//! from: each set of the shipped corpus (`config/clause12/examples/`, by its index in
//! `lexicon::model::CORPUS`) is left out of training in turn and judged by the rules, then
//! by the model where the rules found nothing. Prints the rules' figures per set, how many
//! short ordinary posts kept out of training and routing held-out complaints (ordinary
//! posts) the model would flag, and per
//! threshold the abusive posts excluded or flagged and the legitimate ones; then, per
//! threshold, what the model would exclude where the post has a word of the threat or
//! insult lists (`model::EXCLUDE_THRESHOLD`).
//!   cargo run --release -p otklik-core --example clause12_fresh -- 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22
#![allow(missing_docs, clippy::disallowed_methods)]
use otklik_core::lexicon::Lexicon;
use otklik_core::lexicon::model::{self, Model};
use otklik_core::lexicon::normalise::normalise;
use otklik_core::lexicon::rules::Builtin;

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let words = std::fs::read_to_string(root.join("config/exclude-words.txt")).unwrap_or_default();
    let lx = Lexicon::clause12(&words).expect("the shipped lists");
    let sets: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let builtin = Builtin::shipped().expect("the shipped lists");
    // (abusive, excluded by the rules, the model's probability, a listed word in the post)
    let mut out: Vec<(bool, bool, f32, bool)> = Vec::new();
    for &k in &sets {
        let Some(text) = model::CORPUS.get(k) else {
            eprintln!("no set {k}");
            continue;
        };
        let m = Model::train(model::training(Some(k)));
        let (mut ab, mut ab_ruled, mut lg, mut lg_ruled) = (0, 0, 0, 0);
        for (abusive, post) in model::rows(text) {
            let ruled = lx.find(post).is_some();
            if abusive {
                ab += 1;
                ab_ruled += usize::from(ruled);
            } else {
                lg += 1;
                lg_ruled += usize::from(ruled);
            }
            let n = normalise(post);
            let cue = !builtin.cues(&n).is_empty();
            out.push((abusive, ruled, m.judge(&n).probability, cue));
        }
        println!("set {k}: rules alone: abusive {ab_ruled}/{ab}, legitimate {lg_ruled}/{lg}");
    }
    // Ordinary complaints the model never learned from: the routing held-out sets.
    let full = Model::train(model::training(None));
    let mut ordinary: Vec<f32> = Vec::new();
    let mut ordinary_cued: Vec<f32> = Vec::new();
    for f in [
        "heldout.tsv",
        "heldout2.tsv",
        "heldout3.tsv",
        "heldout4.tsv",
    ] {
        let path = root.join("crates/otklik-core/tests/data/routing").join(f);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            if let Some(post) = l.split('\t').nth(3) {
                let n = normalise(post);
                let p = full.judge(&n).probability;
                ordinary.push(p);
                if !builtin.cues(&n).is_empty() {
                    ordinary_cued.push(p);
                }
            }
        }
    }
    let short = std::fs::read_to_string(
        root.join("crates/otklik-core/tests/data/clause12/short-heldout.tsv"),
    )
    .unwrap_or_default();
    let sp: Vec<f32> = model::rows(&short)
        .map(|(_, t)| full.judge(&normalise(t)).probability)
        .collect();
    for t in [0.7f32, 0.8, 0.85, 0.9] {
        let flagged = sp.iter().filter(|p| **p >= t).count();
        println!(
            "short posts kept out of training, flagged at {t}: {flagged}/{}",
            sp.len()
        );
    }
    let abusive = out.iter().filter(|r| r.0).count();
    let legit = out.len() - abusive;
    println!(
        "| threshold | abusive excluded or flagged | legitimate excluded or flagged (by the model) | ordinary complaints flagged |"
    );
    println!("|---:|---:|---:|---:|");
    for t in [0.7f32, 0.8, 0.85, 0.9, 0.95, 0.99] {
        let ab = out.iter().filter(|r| r.0 && (r.1 || r.2 >= t)).count();
        let lg = out.iter().filter(|r| !r.0 && (r.1 || r.2 >= t)).count();
        let by_model = out.iter().filter(|r| !r.0 && !r.1 && r.2 >= t).count();
        let o = ordinary.iter().filter(|p| **p >= t).count();
        println!(
            "| {t:.2} | {ab}/{abusive} ({:.1} %) | {lg}/{legit} ({by_model}) | {o}/{} |",
            100.0 * ab as f64 / abusive.max(1) as f64,
            ordinary.len()
        );
    }
    // The model's exclusion: where the rules found nothing, the model is at least this sure
    // and the post has a word of the threat or insult lists.
    println!();
    println!(
        "| exclusion threshold | abusive the rules missed, excluded by the model | legitimate excluded by the model | ordinary complaints |"
    );
    println!("|---:|---:|---:|---:|");
    let missed = out.iter().filter(|r| r.0 && !r.1).count();
    for t in [0.9f32, 0.95, 0.98, 0.99] {
        let by = |abusive: bool| {
            out.iter()
                .filter(|r| r.0 == abusive && !r.1 && r.3 && r.2 >= t)
                .count()
        };
        let o = ordinary_cued.iter().filter(|p| **p >= t).count();
        println!(
            "| {t:.2} | {}/{missed} | {}/{legit} | {o}/{} |",
            by(true),
            by(false),
            ordinary.len()
        );
    }
}
