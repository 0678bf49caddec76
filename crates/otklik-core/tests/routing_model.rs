//! How well the shipped routing routes realistic posts it never saw: the held-out set
//! (`tests/data/routing/heldout.tsv`, written before the model was tuned and never used to
//! tune it) through the shipped example config (its rules, then the starter model trained
//! on `config/routing-starter.tsv`, then the coordinator), as the service routes on intake.
//! Run with `-- --nocapture` to see the figures. The knobs of the model and the default
//! `routing.auto_threshold` were chosen by cross-validation on the starter corpus alone
//! (`cross_validation_on_the_starter_corpus`).
mod fixtures;

use chrono::{TimeZone, Utc};
use otklik_core::config::{Config, SecretCheck};
use otklik_core::intake::Notification;
use otklik_core::routing::model::{self, Params};
use otklik_core::routing::{self, Example, Labelled, Model, RouteDecision};

fn shipped() -> Config {
    let path = fixtures::root().join("config/otklik.toml");
    let text = String::from_utf8(fixtures::read("config/otklik.toml")).unwrap();
    match fixtures::load_str(&text, &path, SecretCheck::Lenient) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

/// (executor, topic, location, text) rows of a TSV file.
fn rows(path: &str) -> Vec<(String, String, String, String)> {
    let text = String::from_utf8(fixtures::read(path)).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 4, "{l}");
            (c[0].into(), c[1].into(), c[2].into(), c[3].into())
        })
        .collect()
}

fn notification(i: usize, topic: &str, location: &str, text: &str) -> Notification {
    Notification {
        source_id: Some(format!("{}", 7000 + i)),
        topic: (!topic.trim().is_empty()).then(|| topic.to_string()),
        location: Some(location.to_string()),
        category: Some("Средняя".into()),
        source: Some("ВКонтакте".into()),
        link: Some(format!("https://vk.com/wall-2_{i}")),
        author: Some(format!("Житель {i}")),
        detected_at: Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap(),
        text: text.to_string(),
        repeat: false,
        attachments: vec![],
        warnings: vec![],
    }
}

#[derive(Default, Debug)]
struct Figures {
    total: usize,
    right: usize,
    wrong: usize,
    coordinator: usize,
    first_right: usize,
    by_rule: usize,
    by_model: usize,
    wrong_by_rule: usize,
}

impl Figures {
    fn pct(&self, n: usize, of: usize) -> f64 {
        if of == 0 {
            0.0
        } else {
            100.0 * n as f64 / of as f64
        }
    }

    fn print(&self, what: &str) {
        println!(
            "{what}: {} posts — right {:.1} %, wrong executor {:.1} %, left to the coordinator {:.1} % \
             (first suggestion right in {:.1} % of those); by rule {} ({} wrong), by model {}",
            self.total,
            self.pct(self.right, self.total),
            self.pct(self.wrong, self.total),
            self.pct(self.coordinator, self.total),
            self.pct(self.first_right, self.coordinator),
            self.by_rule,
            self.wrong_by_rule,
            self.by_model,
        );
    }
}

/// Routes every post of a held-out file through the shipped config as the service does on
/// intake, prints the figures and every miss, and returns the figures.
fn measure(config: &Config, path: &str, what: &str) -> Figures {
    let rows = rows(path);
    let mut f = Figures::default();
    let mut wrong = Vec::new();
    let mut left = Vec::new();
    for (i, (expected, topic, location, text)) in rows.iter().enumerate() {
        assert!(config.executor(expected).is_some(), "{expected}");
        let n = notification(i, topic, location, text);
        f.total += 1;
        match routing::route(config, None, &n) {
            RouteDecision::Coordinator { suggestions } => {
                f.coordinator += 1;
                let first = suggestions.first().map(|s| s.executor.as_str());
                if first == Some(expected.as_str()) {
                    f.first_right += 1;
                }
                left.push(format!(
                    "  {expected:<9} ← {:<40} | {topic} | {text}",
                    suggestions
                        .iter()
                        .map(|s| format!("{} {}%", s.executor, s.probability.percent()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            d => {
                match &d {
                    RouteDecision::Rule { .. } => f.by_rule += 1,
                    _ => f.by_model += 1,
                }
                if d.executor() == Some(expected.as_str()) {
                    f.right += 1;
                } else {
                    f.wrong += 1;
                    if matches!(d, RouteDecision::Rule { .. }) {
                        f.wrong_by_rule += 1;
                    }
                    wrong.push(format!("  {expected:<9} → {d:?} | {topic} | {text}"));
                }
            }
        }
    }
    f.print(what);
    println!("wrong:\n{}", wrong.join("\n"));
    println!("left to the coordinator:\n{}", left.join("\n"));
    f
}

/// What a held-out set is held to: at least `total` posts, at most `wrong` % routed to a
/// wrong official, at least `right` % routed right and, where enough posts are left to the
/// coordinator to hold one, at least `first` % of those with the right first suggestion.
struct Floors {
    total: usize,
    wrong: f64,
    right: f64,
    first: Option<f64>,
}

/// Routes a held-out set through the shipped config, prints its figures and holds it to
/// its floors.
fn held_to_floors(path: &str, what: &str, floors: Floors) {
    let f = measure(&shipped(), path, what);
    assert!(f.total >= floors.total, "{f:?}");
    assert!(f.pct(f.wrong, f.total) <= floors.wrong, "{f:?}");
    assert!(f.pct(f.right, f.total) >= floors.right, "{f:?}");
    if let Some(first) = floors.first {
        assert!(f.pct(f.first_right, f.coordinator) >= first, "{f:?}");
    }
}

/// The first held-out set. Its misses were printed and read while the model was tuned in an
/// earlier round, so it is no longer clean: it guards against losing ground, and the second
/// set below is the one that measures.
#[test]
fn the_shipped_routing_on_the_held_out_set() {
    // The goals are right ≥ 95 %, wrong ≤ 2 %, first suggestion right in ≥ 80 % of the
    // posts left. The floors hold what was reached, so that a change that makes routing
    // worse fails here: right 95.5 %, wrong 0.6 %, left 3.8 % (first suggestion right in 4
    // of those 6, too few to hold a floor on). With the corpus grown to 5,103 posts and the
    // threshold at 0.7: 94.9 %, 1.9 %, 3.2 % (4 of 5); with 6,421 posts by nine hands:
    // 94.9 %, 1.3 %, 3.8 % (3 of 6); with 9,054 posts by thirteen hands and the threshold
    // at 0.65: 95.5 %, 0.6 %, 3.8 % (2 of 6). The wrong-executor goal is held as is.
    held_to_floors(
        "crates/otklik-core/tests/data/routing/heldout.tsv",
        "held-out set 1 (seen) through the shipped config",
        Floors {
            total: 150,
            wrong: 2.0,
            right: 95.0,
            first: None,
        },
    );
}

/// The second held-out set, written before the starter corpus was grown and the model
/// changed in this round, and never tuned on.
#[test]
fn the_shipped_routing_on_the_second_held_out_set() {
    // Before the first round (528 starter posts, multinomial naive Bayes): right 73.6 %,
    // wrong 2.8 %, left 23.6 %, first suggestion right in 72.0 % of those. After it (1,417
    // starter posts, complement naive Bayes with pairs of words and «не» marked): 84.4 %,
    // 1.4 %, 14.2 %, 86.7 %. Now (3,783 starter posts by five hands, the topic left to the
    // model, the regression beside naive Bayes, threshold 0.65): 95.8 %, 0.9 %, 3.3 %, and
    // the first suggestion right for all 7 left. Now (5,103 starter posts by seven hands,
    // threshold 0.7, both chosen by cross-validation): 94.3 %, 0.5 %, 5.2 %, 10 of those 11.
    // With 6,421 posts by nine hands: 93.9 %, 0.0 %, 6.1 %, all 13; with 9,054 by thirteen
    // and the threshold at 0.65: 95.8 %, 0.0 %, 4.2 %, all 9. The floors hold that.
    held_to_floors(
        "crates/otklik-core/tests/data/routing/heldout2.tsv",
        "held-out set 2 (clean) through the shipped config",
        Floors {
            total: 200,
            wrong: 1.0,
            right: 95.5,
            first: Some(85.0),
        },
    );
}

/// The third held-out set, written by another hand that never saw the starter corpus or
/// the earlier sets, before the corpus was grown again; never tuned on.
#[test]
fn the_shipped_routing_on_the_third_held_out_set() {
    // Measured before this round's changes: right 76.5 %, wrong 11.9 % (27 of the 31 wrong
    // by a topic rule: a tenth of these posts carry a rubric that points to another
    // official), left 11.5 %. Now (3,783 starter posts by five hands, the topic rules
    // dropped from the example config, the regression beside naive Bayes, threshold
    // 0.65, all chosen by cross-validation on the corpus): right 94.6 %, wrong 1.2 %,
    // left 4.2 %, first suggestion right in 7 of those 11. With 5,103 posts by seven hands
    // and the threshold at 0.7: 95.4 %, 1.2 %, 3.5 %, all 9 of those left; with 6,421 posts
    // by nine hands: 95.8 %, 1.2 %, 3.1 %, 7 of 8; with 9,054 by thirteen hands and the
    // threshold at 0.65: 97.7 %, 0.8 %, 1.5 %, 3 of 4.
    held_to_floors(
        "crates/otklik-core/tests/data/routing/heldout3.tsv",
        "held-out set 3 (clean, another hand) through the shipped config",
        Floors {
            total: 250,
            wrong: 1.5,
            right: 97.5,
            first: Some(60.0),
        },
    );
}

/// The fourth held-out set, written by yet another hand that never saw the starter corpus
/// or the other sets, after every change of this round was made: measured once.
#[test]
fn the_shipped_routing_on_the_fourth_held_out_set() {
    // Measured once, after this round's changes: right 96.6 %, wrong 0.9 %, left 2.6 %,
    // first suggestion right in 5 of those 6 (4 of 6 after the last change: the
    // regression's weights in single precision, and words of quantity and time left out).
    // With 5,103 posts by seven hands and the threshold at 0.7: 96.2 %, 1.3 %, 2.6 %, 4 of
    // those 6; with 6,421 by nine hands: 94.9 %, 0.9 %, 4.3 %, 8 of 10; with 9,054 by
    // thirteen hands and the threshold at 0.65: 96.6 %, 0.9 %, 2.6 %, 4 of 6.
    held_to_floors(
        "crates/otklik-core/tests/data/routing/heldout4.tsv",
        "held-out set 4 (clean, another hand, measured once) through the shipped config",
        Floors {
            total: 230,
            wrong: 1.5,
            right: 96.5,
            first: None,
        },
    );
}

/// The fifth held-out set, written by a hand that had only the executors' descriptions:
/// never the starter corpus, the example config or the other sets. It measures how the
/// routing does on posts written apart from everything it learned from; never tuned on.
#[test]
fn the_shipped_routing_on_the_fifth_held_out_set() {
    // Measured when it was written, before the corpus grew by two more hands: right
    // 87.4 %, wrong 2.4 %, left 10.2 %, first suggestion right in 16 of those 26. After it
    // (5,103 posts by seven hands, threshold 0.7 by cross-validation), measured once:
    // 90.9 %, 2.0 %, 7.1 %, 13 of those 18. With 6,421 posts by nine hands: 92.9 %, 1.6 %,
    // 5.5 %, 10 of 14. With 9,054 posts by thirteen hands and the threshold at 0.65 (by
    // cross-validation again): 95.3 %, 1.6 %, 3.1 %, 7 of 8.
    held_to_floors(
        "crates/otklik-core/tests/data/routing/heldout5.tsv",
        "held-out set 5 (clean, written from the descriptions alone) through the shipped config",
        Floors {
            total: 250,
            wrong: 2.0,
            right: 95.0,
            first: Some(70.0),
        },
    );
}

/// The sixth held-out set, written like the fifth by a hand that had only the executors'
/// descriptions, after the corpus had grown to 5,103 posts; never tuned on.
#[test]
fn the_shipped_routing_on_the_sixth_held_out_set() {
    // Measured when it was written (5,103 starter posts, threshold 0.7): right 86.4 %,
    // wrong 1.6 %, left 12.0 %, first suggestion right in 20 of those 31. After two more
    // hands (6,421 posts, the threshold left at 0.7 by cross-validation), measured once:
    // 88.8 %, 1.6 %, 9.7 %, 18 of those 25. With 9,054 posts by thirteen hands and the
    // threshold at 0.65 (by cross-validation again): 93.4 %, 1.9 %, 4.7 %, 9 of 12.
    held_to_floors(
        "crates/otklik-core/tests/data/routing/heldout6.tsv",
        "held-out set 6 (clean, written from the descriptions alone) through the shipped config",
        Floors {
            total: 250,
            wrong: 2.0,
            right: 93.0,
            first: Some(70.0),
        },
    );
}

/// The seventh held-out set, written like the fifth and sixth from the executors'
/// descriptions alone, after the corpus had grown to 6,421 posts; never tuned on.
#[test]
fn the_shipped_routing_on_the_seventh_held_out_set() {
    // Measured when it was written (6,421 starter posts, threshold 0.7): right 92.5 %,
    // wrong 1.2 %, left 6.3 %, first suggestion right in 12 of those 16. After four more
    // hands (9,054 posts, threshold 0.65 by cross-validation), measured once: 96.5 %,
    // 0.8 %, 2.8 %, 4 of those 7 (too few to hold a floor on).
    held_to_floors(
        "crates/otklik-core/tests/data/routing/heldout7.tsv",
        "held-out set 7 (clean, written from the descriptions alone) through the shipped config",
        Floors {
            total: 250,
            wrong: 1.0,
            right: 96.0,
            first: None,
        },
    );
}

/// The eighth held-out set, written like the fifth to seventh from the executors'
/// descriptions alone (teachers, nurses, pensioners and young mothers over a winter), after
/// the corpus had grown to 9,054 posts; never tuned on.
#[test]
fn the_shipped_routing_on_the_eighth_held_out_set() {
    // Measured when it was written (9,054 starter posts, threshold 0.65): right 94.5 %,
    // wrong 1.6 %, left 3.9 %, first suggestion right in 7 of those 10. With two more hands
    // in the corpus (10,372 posts), measured once: 95.3 %, 1.6 %, 3.1 %, 6 of 8; that corpus
    // was not shipped (see `docs/judgment.md`).
    held_to_floors(
        "crates/otklik-core/tests/data/routing/heldout8.tsv",
        "held-out set 8 (clean, written from the descriptions alone) through the shipped config",
        Floors {
            total: 250,
            wrong: 2.0,
            right: 94.0,
            first: Some(70.0),
        },
    );
}

/// k-fold cross-validation of the bare model (no rules) on the starter corpus: for each
/// threshold, % routed right, % routed wrong, % left, % first suggestion right among those
/// left.
fn cross_validate(
    corpus: &[Labelled],
    params: Params,
    folds: usize,
    thresholds: &[f64],
) -> Vec<(f64, f64, f64, f64, f64)> {
    let mut out = vec![(0.0, 0.0, 0.0, 0.0, 0.0); thresholds.len()];
    let mut left_first = vec![0usize; thresholds.len()];
    let mut left = vec![0usize; thresholds.len()];
    for k in 0..folds {
        let train: Vec<&Labelled> = corpus
            .iter()
            .enumerate()
            .filter(|(i, _)| i % folds != k)
            .map(|(_, l)| l)
            .collect();
        let m = Model::train_with(params, train);
        for (i, l) in corpus.iter().enumerate() {
            if i % folds != k {
                continue;
            }
            let p = m.predict(&l.example, 1);
            let best = &p[0];
            for (t, th) in thresholds.iter().enumerate() {
                if best.probability.get() >= *th {
                    if best.executor == l.executor {
                        out[t].1 += 1.0;
                    } else {
                        out[t].2 += 1.0;
                    }
                } else {
                    left[t] += 1;
                    if best.executor == l.executor {
                        left_first[t] += 1;
                    }
                }
            }
        }
    }
    let n = corpus.len() as f64;
    for (t, th) in thresholds.iter().enumerate() {
        out[t].0 = *th;
        out[t].1 *= 100.0 / n;
        out[t].2 *= 100.0 / n;
        out[t].3 = 100.0 * left[t] as f64 / n;
        out[t].4 = if left[t] == 0 {
            0.0
        } else {
            100.0 * left_first[t] as f64 / left[t] as f64
        };
    }
    out
}

#[test]
fn cross_validation_on_the_starter_corpus() {
    let corpus = model::parse_corpus(model::STARTER_CORPUS).unwrap();
    let thresholds = [0.4, 0.5, 0.6, 0.65, 0.7, 0.8, 0.9];
    let rows = cross_validate(&corpus, Params::default(), 5, &thresholds);
    println!(
        "5-fold cross-validation of the starter model (no rules), {:?}:",
        Params::default()
    );
    for (th, right, wrong, left, first) in &rows {
        println!(
            "  threshold {th:.2}: right {right:.1} %, wrong {wrong:.1} %, left {left:.1} % (first right {first:.1} %)"
        );
    }
    let at_default = rows
        .iter()
        .find(|r| (r.0 - otklik_core::config::DEFAULT_AUTO_THRESHOLD).abs() < 1e-9)
        .copied()
        .unwrap_or_default();
    // The model alone (no rules), on posts it did not learn from, at the default threshold.
    // Measured: right 89.5 %, wrong 1.6 %, first suggestion right in 69.2 % of the posts
    // left (9,054 posts by thirteen hands, threshold 0.65); with 6,421 posts by nine hands
    // at 0.7: 85.0 %, 1.7 %, 74.1 %; with 5,103 posts: 84.0 %, 1.7 %,
    // 71.5 %; with 3,783 posts at 0.65: 85.2 %,
    // 1.9 %, 71 % (naive Bayes and the regression together); with
    // 1,417 posts and naive Bayes alone at 0.8: 60.5 %, 1.8 %, 65.4 %; with the 528 posts
    // and the multinomial model before: right 51.2 %, wrong 1.7 %.
    assert!(at_default.2 <= 2.0, "{at_default:?}");
    assert!(at_default.1 >= 89.0, "{at_default:?}");
    assert!(at_default.4 >= 65.0, "{at_default:?}");
}

#[test]
fn training_on_thousands_of_examples_is_one_pass_and_repeatable() {
    // Ten times the starter corpus. The counts are learned in one pass, and are what
    // learning the same examples one by one gives; the regression beside them is trained
    // in a fixed order, so training twice gives the same model.
    let corpus = model::parse_corpus(model::STARTER_CORPUS).unwrap();
    let many: Vec<Labelled> = (0..10).flat_map(|_| corpus.iter().cloned()).collect();
    assert!(many.len() >= 4000);
    let counts = Params {
        linear: false,
        ..Params::default()
    };
    let m = Model::train_with(counts, &many);
    let mut one_by_one = Model::with_params(counts);
    for l in &many {
        one_by_one.learn(&l.example, &l.executor);
    }
    let e = Example::new("Прочее", "Отменили автобус до райцентра");
    assert_eq!(m.predict(&e, 3), one_by_one.predict(&e, 3));
    assert!((m.examples() - many.len() as f64).abs() < 1e-9);
    let a = Model::train(&corpus);
    let b = Model::train(&corpus);
    assert_eq!(a.predict(&e, 3), b.predict(&e, 3));
    assert_eq!(a.predict(&e, 0)[0].executor, "housing");
}

/// The shipped config with `edit` applied to its text.
fn shipped_with(
    edit: impl Fn(String) -> String,
) -> Result<Config, otklik_core::config::ConfigError> {
    let path = fixtures::root().join("config/otklik.toml");
    let text = edit(String::from_utf8(fixtures::read("config/otklik.toml")).unwrap());
    fixtures::load_str(&text, &path, SecretCheck::Lenient)
}

#[test]
fn rule_words_and_phrases_match_by_stem_and_are_checked() {
    let config = shipped_with(|t| {
        t.replacen(
            "\n[[rules]]\n",
            "\n[[rules]]\nname = \"Газ\"\nwords = [\"газ\"]\nphrases = [\"уличное освещение\"]\nexecutor = \"housing\"\n\n[[rules]]\n",
            1,
        )
    })
    .unwrap();
    let n = notification(1, "Прочее", "с. Волчиха", "Когда нас подключат к газу?");
    assert_eq!(
        routing::route(&config, None, &n),
        RouteDecision::Rule {
            name: "Газ".into(),
            executor: "housing".into()
        }
    );
    let n = notification(2, "", "с. Волчиха", "Нет уличного освещения на Кирова");
    assert!(
        matches!(routing::route(&config, None, &n), RouteDecision::Rule { name, .. } if name == "Газ")
    );
    // «газета» is no form of «газ»; «освещение» alone is no phrase.
    let n = notification(3, "", "с. Волчиха", "Освещение в газете районной");
    assert!(
        !matches!(routing::route(&config, None, &n), RouteDecision::Rule { name, .. } if name == "Газ")
    );

    let e = shipped_with(|t| {
        t.replacen(
            "\n[[rules]]\n",
            "\n[[rules]]\nwords = [\" \", \"уличное освещение\"]\nphrases = [\"\"]\nexecutor = \"housing\"\n\n[[rules]]\n",
            1,
        )
        .replace("auto_threshold = 0.65 ", "auto_threshold = 1.5 ")
    })
    .err()
    .unwrap();
    let keys: Vec<&str> = e.problems.iter().map(|p| p.key.as_str()).collect();
    assert!(keys.contains(&"rules[0].words[0]"), "{e}");
    assert!(keys.contains(&"rules[0].words[1]"), "{e}");
    assert!(keys.contains(&"rules[0].phrases[0]"), "{e}");
    assert!(keys.contains(&"routing.auto_threshold"), "{e}");
    assert!(e.problems.iter().all(|p| p.line > 0), "{e}");
}

#[test]
fn without_the_model_what_no_rule_routes_goes_to_the_coordinator_bare() {
    let config = shipped_with(|t| t.replace("model = true", "model = false")).unwrap();
    let n = notification(
        1,
        "Прочее",
        "с. Волчиха",
        "Третий день нет воды, водопровод прорвало",
    );
    assert_eq!(
        routing::route(&config, None, &n),
        RouteDecision::Coordinator {
            suggestions: vec![]
        }
    );
}

#[test]
fn the_coordinator_gets_the_suggestions_as_buttons_and_the_history_teaches() {
    use otklik_core::learning::signals::{self, Signal};
    use otklik_core::templates::{self, View};
    use otklik_core::workflow::{self, Action, Ctx, Event, NoticeKind, Role};
    let config = shipped();
    // Nothing in it a rule knows, and too little for the model to be sure.
    let n = notification(
        1,
        "Прочее",
        "с. Волчиха",
        "Пенсию задерживают, а спросить не у кого.",
    );
    let class = workflow::classify(&config, &n, None);
    let absences = routing::Absences::new();
    let ctx = Ctx {
        config: &config,
        absences: &absences,
        now: n.detected_at,
    };
    let out = workflow::open(5, n.clone(), class, ctx);
    assert_eq!(out.case.state, workflow::State::Unassigned);
    let notice = out
        .notices
        .iter()
        .find(|x| matches!(x.kind, NoticeKind::NeedsAssignment { .. }))
        .unwrap();
    let NoticeKind::NeedsAssignment { suggestions, .. } = &notice.kind else {
        unreachable!()
    };
    assert!((1..=3).contains(&suggestions.len()), "{suggestions:?}");
    let view = View {
        config: &config,
        case: &out.case,
        now: n.detected_at,
        recipient: &config.people.coordinator.email,
        code: "k7m2q9xa",
        service_addr: "svc@example.ru",
    };
    let r = templates::render(&view, notice);
    for s in suggestions {
        assert!(
            r.text.contains(&format!("НАЗНАЧИТЬ {}", s.executor)),
            "{}",
            r.text
        );
        let html = r.html.clone().unwrap_or_default();
        // The one-click button: a mailto with `НАЗНАЧИТЬ <id>` and the code in the subject.
        let href = otklik_core::templates::mailto(
            "svc@example.ru",
            &format!("[{}] НАЗНАЧИТЬ {} #k7m2q9xa", out.case.id, s.executor),
            "",
        );
        assert!(html.contains(&href.replace('&', "&amp;")), "{href}");
        for w in &s.words {
            assert!(r.text.contains(w.as_str()), "{w}");
        }
    }
    // The coordinator assigns, the executor declines, the next one drafts.
    let coordinator = config.people.coordinator.email.clone();
    let reply = |case: &workflow::Case, from: &str, role: Role, action: Action, text: &str| {
        workflow::apply(
            case,
            Event::Reply {
                from: from.to_string(),
                role,
                action,
                text: text.to_string(),
                attachments: vec![],
            },
            ctx,
        )
        .case
    };
    let case = reply(
        &out.case,
        &coordinator,
        Role::Coordinator,
        Action::Assign("finance".into()),
        "",
    );
    let finance = config.executor("finance").unwrap().email.clone();
    let case = reply(
        &case,
        &finance,
        Role::Executor,
        Action::Decline,
        "не моя компетенция",
    );
    let case = reply(
        &case,
        &coordinator,
        Role::Coordinator,
        Action::Assign("economy".into()),
        "",
    );
    let economy = config.executor("economy").unwrap().email.clone();
    let case = reply(
        &case,
        &economy,
        Role::Executor,
        Action::Draft(otklik_core::workflow::DraftKind::Answer),
        "Отделение почты откроется в понедельник.",
    );
    let got = signals::signals(&config, &case);
    assert_eq!(
        got,
        [
            Signal::Positive("finance".into()),
            Signal::Negative("finance".into()),
            Signal::Positive("economy".into()),
        ],
        "{:#?}",
        case.history
    );
    let mut model = (**config.routing.starter.model()).clone();
    let before = model.predict(&Example::of(&n), 0);
    signals::teach(&mut model, &case, &got);
    let after = model.predict(&Example::of(&n), 0);
    let p = |v: &[otklik_core::routing::Suggestion], id: &str| {
        v.iter()
            .find(|s| s.executor == id)
            .map(|s| s.probability.get())
            .unwrap_or(0.0)
    };
    assert!(p(&after, "economy") > p(&before, "economy"));

    // What the service stores after each event: only what the event taught anew.
    let c1 = reply(
        &out.case,
        &coordinator,
        Role::Coordinator,
        Action::Assign("finance".into()),
        "",
    );
    let c2 = reply(&c1, &finance, Role::Executor, Action::Decline, "");
    let c3 = reply(
        &c2,
        &coordinator,
        Role::Coordinator,
        Action::Assign("economy".into()),
        "",
    );
    let c4 = reply(
        &c3,
        &economy,
        Role::Executor,
        Action::Draft(otklik_core::workflow::DraftKind::Answer),
        "Откроется.",
    );
    let taught = |old: Option<&workflow::Case>, new: &workflow::Case| -> Vec<Signal> {
        signals::learned(&config, old, new, n.detected_at)
            .into_iter()
            .map(|t| t.signal)
            .collect()
    };
    assert!(taught(None, &out.case).is_empty());
    assert_eq!(
        taught(Some(&out.case), &c1),
        [Signal::Positive("finance".into())]
    );
    assert_eq!(taught(Some(&c1), &c2), [Signal::Negative("finance".into())]);
    assert_eq!(taught(Some(&c2), &c3), [Signal::Positive("economy".into())]);
    // The draft confirms what the coordinator's НАЗНАЧИТЬ taught: nothing new.
    assert!(taught(Some(&c3), &c4).is_empty());
    // Replaying the stored examples on the starter model gives the model taught directly.
    let stored: Vec<signals::Taught> = signals::learned(&config, None, &case, n.detected_at);
    let replayed = signals::trained(config.routing.starter.model(), &stored);
    assert_eq!(
        replayed.predict(&Example::of(&n), 3),
        model.predict(&Example::of(&n), 3)
    );

    // The routing report reads the same history.
    let day = workflow::local_date(&config, n.detected_at);
    let r = otklik_core::learning::report::build(&config, std::slice::from_ref(&case), day, day);
    assert_eq!(r.cases, 1);
    assert_eq!(r.coordinator.cases, 1);
    assert_eq!(r.coordinator.assigned, 1);
    assert_eq!(r.coordinator.with_suggestion, 1);
    let first_was_finance = suggestions[0].executor == "finance";
    assert_eq!(
        r.coordinator.first_suggestion,
        usize::from(first_was_finance)
    );
    assert_eq!((r.reassigned, r.declined, r.reassignments), (1, 1, 1));
    // Outside the period: nothing.
    let r = otklik_core::learning::report::build(
        &config,
        &[case],
        day.succ_opt().unwrap(),
        day.succ_opt().unwrap(),
    );
    assert_eq!(r.cases, 0);
}

#[test]
fn the_routing_report_judges_first_choices_and_suggests_rules() {
    use otklik_core::learning::report;
    use otklik_core::workflow::{self, Ctx};
    use otklik_core::workflow::{HistoryEntry, HistoryEvent};
    let config = shipped();
    let coordinator = config.people.coordinator.email.clone();
    let email = |id: &str| config.executor(id).unwrap().email.clone();
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap();
    let entry = |event, by: &str, detail: &str| HistoryEntry {
        at,
        event,
        by: by.to_string(),
        detail: detail.to_string(),
    };
    let n0 = notification(0, "Прочее", "с. Волчиха", "x");
    let base = workflow::open(
        1,
        n0,
        workflow::classify(&config, &notification(0, "", "", "x"), None),
        Ctx {
            config: &config,
            absences: &routing::Absences::new(),
            now: at,
        },
    )
    .case;
    let case = |i: usize, text: &str, history: Vec<HistoryEntry>| {
        let mut c = base.clone();
        c.number = i as u64;
        c.notification = notification(i, "Прочее", "с. Волчиха", text);
        c.history = history;
        c
    };
    let mut cases = Vec::new();
    // Three posts about a «семафор» the model gave to housing: declined, drafted by economy.
    for i in 0..3 {
        cases.push(case(
            i,
            "Семафор на переезде сломан",
            vec![
                entry(
                    HistoryEvent::Assigned,
                    "otklik",
                    "to housing (routing model, 85 %: семафор)",
                ),
                entry(HistoryEvent::Declined, &email("housing"), "не моё"),
                entry(HistoryEvent::Unassigned, "otklik", "declined"),
                entry(HistoryEvent::Assigned, &coordinator, "to economy"),
                entry(HistoryEvent::Draft, &email("economy"), "ответ"),
            ],
        ));
    }
    // A rule right twice, wrong once (the coordinator moved it, finance drafted).
    for (i, drafter) in [(3, "housing"), (4, "housing"), (5, "finance")] {
        let mut h = vec![entry(
            HistoryEvent::Assigned,
            "otklik",
            "to housing (rule «ЖКХ»)",
        )];
        if drafter != "housing" {
            h.push(entry(HistoryEvent::Assigned, &coordinator, "to finance"));
        }
        h.push(entry(HistoryEvent::Draft, &email(drafter), "ответ"));
        cases.push(case(i, "Нет воды", h));
    }
    // Left to the coordinator, who took the first suggestion; another not yet assigned.
    cases.push(case(
        6,
        "Непонятно что",
        vec![
            entry(HistoryEvent::Unassigned, "otklik", "no routing rule matched and the routing model is not sure enough (best guess culture at 40 %)"),
            entry(HistoryEvent::Assigned, &coordinator, "to culture"),
        ],
    ));
    cases.push(case(
        7,
        "Совсем непонятно",
        vec![entry(
            HistoryEvent::Unassigned,
            "otklik",
            "no routing rule matched",
        )],
    ));
    let day = workflow::local_date(&config, at);
    let r = report::build(&config, &cases, day, day);
    assert_eq!(r.cases, 8);
    assert_eq!(
        r.model,
        report::Accuracy {
            routed: 3,
            checked: 3,
            right: 0
        }
    );
    assert_eq!(
        r.rules,
        report::Accuracy {
            routed: 3,
            checked: 3,
            right: 2
        }
    );
    assert_eq!(r.by_rule.len(), 1);
    assert_eq!(r.by_rule[0].rule, "ЖКХ");
    assert_eq!(
        r.coordinator,
        report::Coordinator {
            cases: 2,
            assigned: 1,
            with_suggestion: 1,
            first_suggestion: 1
        }
    );
    assert_eq!((r.reassigned, r.declined, r.reassignments), (4, 3, 4));
    assert!(
        r.risky_words
            .iter()
            .any(|w| w.word == "семафор" && w.reassigned == 3),
        "{:?}",
        r.risky_words
    );
    let rule = r
        .suggested_rules
        .iter()
        .find(|s| s.word == "семафор")
        .expect("a suggested rule");
    assert_eq!((rule.executor.as_str(), rule.times), ("economy", 3));
    assert!(
        rule.toml.contains("words = [\"семафор\"]") && rule.toml.contains("executor = \"economy\""),
        "{}",
        rule.toml
    );
    // The suggestion is a valid rule of the config.
    let with = shipped_with(|t| format!("{t}\n{}", rule.toml));
    assert!(with.is_ok(), "{:?}", with.err().map(|e| e.to_string()));
    // «воды» was reassigned once only: no rule for it.
    assert!(r.suggested_rules.iter().all(|s| s.word != "воды"));
    let text = report::text(&r);
    assert!(
        text.contains("семафор") && text.contains("66.7 %"),
        "{text}"
    );
    let first = report::FirstChoice::from(&r);
    let lines =
        otklik_core::monthly::routing_lines(otklik_core::config::Language::Ru, &first).join("\n");
    assert!(
        lines.contains("66.7 %") && lines.contains("0.0 %"),
        "{lines}"
    );
}

/// The words of a post as the overlap check compares them: lower-cased, ё as е, words of
/// three letters or more.
fn word_set(text: &str) -> std::collections::HashSet<String> {
    text.to_lowercase()
        .replace('ё', "е")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() > 2)
        .map(str::to_string)
        .collect()
}

#[test]
fn no_held_out_post_is_in_the_starter_corpus() {
    // A held-out post that is also (or nearly) in the corpus the model learns from measures
    // memory, not judgment. Near: half or more of the two posts' words shared (Jaccard).
    let corpus = model::parse_corpus(model::STARTER_CORPUS).unwrap();
    let starter: Vec<_> = corpus.iter().map(|l| word_set(&l.example.text)).collect();
    let mut near = Vec::new();
    for path in [
        "crates/otklik-core/tests/data/routing/heldout.tsv",
        "crates/otklik-core/tests/data/routing/heldout2.tsv",
        "crates/otklik-core/tests/data/routing/heldout3.tsv",
        "crates/otklik-core/tests/data/routing/heldout4.tsv",
        "crates/otklik-core/tests/data/routing/heldout5.tsv",
        "crates/otklik-core/tests/data/routing/heldout6.tsv",
        "crates/otklik-core/tests/data/routing/heldout7.tsv",
        "crates/otklik-core/tests/data/routing/heldout8.tsv",
    ] {
        for (_, _, _, text) in rows(path) {
            let h = word_set(&text);
            for (s, l) in starter.iter().zip(&corpus) {
                let shared = s.intersection(&h).count();
                let all = s.union(&h).count().max(1);
                if 2 * shared >= all {
                    near.push(format!("  {text}\n    ~ {}", l.example.text));
                }
            }
        }
    }
    assert!(
        near.is_empty(),
        "held-out posts in the starter corpus:\n{}",
        near.join("\n")
    );
}

#[test]
fn the_starter_corpus_covers_every_executor_broadly() {
    let corpus = model::parse_corpus(model::STARTER_CORPUS).unwrap();
    let config = shipped();
    assert!(corpus.len() >= 1400, "{}", corpus.len());
    for e in &config.executors {
        let n = corpus.iter().filter(|l| l.executor == e.id).count();
        assert!(n >= 90, "{}: {n} posts", e.id);
    }
    assert!(
        corpus
            .iter()
            .all(|l| config.executor(&l.executor).is_some())
    );
}
