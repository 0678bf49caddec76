//! What the routing model costs in memory: the service holds the starter model its config
//! trained and, beside it, the model it routes with (the starter model and every confirmed
//! example on top), for as long as it runs.
//!
//! `cargo run --release -p otklik-core --example model_memory` prints the heap (bytes asked
//! of the allocator and not given back, counted by a wrapper around the system allocator)
//! held by the parsed starter corpus, by the model trained on all of it, by one trained on
//! the posts of two executors only (the big-store bench's config has two), and by a copy;
//! then what clause 12's built-in rules, model and shipped word list hold (the daemon holds
//! all three too).
#![allow(unsafe_code)] // the counting allocator (`support/counting.rs`): GlobalAlloc is an unsafe trait

use otklik_core::classifier::{Labelled, Model, STARTER_CORPUS, parse_corpus};

#[path = "support/counting.rs"]
mod counting;
use counting::live;

fn mb(bytes: usize) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

/// The heap `make` leaves held by what it returns.
fn held<T>(make: impl FnOnce() -> T) -> (T, usize) {
    let before = live();
    let t = make();
    (t, live().saturating_sub(before))
}

fn main() {
    let (corpus, parsed) = held(|| parse_corpus(STARTER_CORPUS).unwrap_or_default());
    println!(
        "starter corpus: {} posts, parsed {}",
        corpus.len(),
        mb(parsed)
    );
    let (all, bytes) = held(|| Model::train(&corpus));
    println!("model, every executor: {all:?}: {}", mb(bytes));
    let (_copy, bytes) = held(|| all.clone());
    println!("a copy of it: {}", mb(bytes));
    let two: Vec<Labelled> = corpus
        .iter()
        .filter(|l| l.executor == "housing" || l.executor == "economy")
        .cloned()
        .collect();
    let (small, bytes) = held(|| Model::train(&two));
    println!("model, housing and economy: {small:?}: {}", mb(bytes));
    let (_, bytes) = held(|| otklik_core::lexicon::rules::Builtin::shipped().is_ok());
    println!("clause 12 built-in rules: {}", mb(bytes));
    let (_, bytes) = held(otklik_core::lexicon::model::Model::shipped);
    println!("clause 12 model: {}", mb(bytes));
    let words = include_str!("../../../config/exclude-words.txt");
    let (lexicon, bytes) = held(|| otklik_core::lexicon::Lexicon::clause12(words));
    let n = lexicon.map(|l| l.len()).unwrap_or(0);
    println!(
        "clause 12 word list (config/exclude-words.txt, {n} entries): {}",
        mb(bytes)
    );
}
