//! How the clause 12 model's flag threshold was chosen, on posts the model did not learn
//! from: each set of the shipped corpus (`config/clause12/examples/`, by its index in
//! `lexicon::model::CORPUS`) is left out of training in turn and judged by the rules, then
//! by the model where the rules found nothing. Prints the rules' figures per set, how many
//! short ordinary posts kept out of training and routing held-out complaints (ordinary
//! posts) the model would flag, and per
//! threshold the abusive posts excluded or flagged and the legitimate ones.
//!   cargo run --release -p otklik-core --example clause12_fresh -- 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22
#![allow(missing_docs, clippy::disallowed_methods)]
use otklik_core::lexicon::Lexicon;
use otklik_core::lexicon::model::{self, Model};
use otklik_core::lexicon::normalise::normalise;

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let words = std::fs::read_to_string(root.join("config/exclude-words.txt")).unwrap_or_default();
    let lx = Lexicon::clause12(&words).expect("the shipped lists");
    let sets: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    // (abusive, excluded by the rules, the model's probability)
    let mut out: Vec<(bool, bool, f32)> = Vec::new();
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
            out.push((abusive, ruled, m.judge(&normalise(post)).probability));
        }
        println!("set {k}: rules alone: abusive {ab_ruled}/{ab}, legitimate {lg_ruled}/{lg}");
    }
    // Ordinary complaints the model never learned from: the routing held-out sets.
    let full = Model::train(model::training(None));
    let mut ordinary: Vec<f32> = Vec::new();
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
                ordinary.push(full.judge(&normalise(post)).probability);
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
}
