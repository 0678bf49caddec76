//! Clause 12 as shipped (the built-in rules and `config/exclude-words.txt`) on labelled
//! posts: every row of `data/clause12/dev.tsv` must be judged right; the held-out sets are
//! measured, their figures printed, and held to a floor — `heldout.tsv` (written before the
//! first round of rules; its misses shaped the second, so it is tuned on now) and
//! `heldout2.tsv` (written before the second round, never tuned on row by row); this round,
//! by other hands that never saw the rules, four development sets the rules grew on
//! (`dev2.tsv` to `dev5.tsv`) and four held-out sets (`heldout3.tsv` to `heldout6.tsv`);
//! the next rounds, seven more development sets (`dev6.tsv` to `dev12.tsv`, some hard on
//! purpose: veiled threats, irony, transliteration) and four held-out sets
//! (`heldout7.tsv` to `heldout10.tsv`), with the clause 12 model's flag measured beside
//! the rules; the sixth round, five more development sets (`dev13.tsv` to `dev17.tsv`) and
//! two held-out sets (`heldout11.tsv`, `heldout12.tsv`); the seventh, three more
//! (`dev18.tsv` to `dev20.tsv`) and two (`heldout13.tsv`, `heldout14.tsv`); the eighth,
//! three more (`dev21.tsv` to `dev23.tsv`) and two (`heldout15.tsv`, `heldout16.tsv`); the
//! ninth, two more (`dev24.tsv`, `dev25.tsv`) and two (`heldout17.tsv`, `heldout18.tsv`); the
//! tenth, two more (`dev26.tsv`, `dev27.tsv`) and two (`heldout19.tsv`, `heldout20.tsv`). The
//! development sets live in `config/clause12/examples/` (the model learns from them); the
//! held-out sets here. Also: reading a hostile megabyte is linear.
#![allow(clippy::disallowed_methods)] // the tests read fixture files; the core does not

use otklik_core::lexicon::Lexicon;
use otklik_core::lexicon::normalise::normalise;
use proptest::prelude::*;

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn shipped() -> &'static Lexicon {
    static LEXICON: std::sync::OnceLock<Lexicon> = std::sync::OnceLock::new();
    LEXICON.get_or_init(|| {
        let path = root().join("config/exclude-words.txt");
        let text = std::fs::read_to_string(&path).unwrap();
        Lexicon::clause12(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    })
}

/// `(must_exclude, text)` rows of a labelled file.
fn rows(name: &str) -> Vec<(bool, String)> {
    // The development sets ship with the product (the clause 12 model learns from them);
    // the held-out sets are the tests' own.
    let path = if name.starts_with("dev") {
        root().join("config/clause12/examples").join(name)
    } else {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/clause12")
            .join(name)
    };
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (label, post) = l.split_once('\t').unwrap_or_else(|| panic!("{name}: {l}"));
            let exclude = match label {
                "exclude" => true,
                "answer" => false,
                other => panic!("{name}: label «{other}»"),
            };
            (exclude, post.to_string())
        })
        .collect()
}

struct Score {
    abusive: usize,
    abusive_excluded: usize,
    legit: usize,
    legit_excluded: usize,
    wrong: Vec<String>,
}

fn score(lx: &Lexicon, rows: &[(bool, String)]) -> Score {
    let mut s = Score {
        abusive: 0,
        abusive_excluded: 0,
        legit: 0,
        legit_excluded: 0,
        wrong: Vec::new(),
    };
    for (exclude, post) in rows {
        let why = lx.find(post);
        if *exclude {
            s.abusive += 1;
            if why.is_some() {
                s.abusive_excluded += 1;
            } else {
                s.wrong.push(format!("not excluded: {post}"));
            }
        } else {
            s.legit += 1;
            if let Some(why) = why {
                s.legit_excluded += 1;
                s.wrong.push(format!("excluded ({why}): {post}"));
            }
        }
    }
    s
}

#[test]
fn dev_set_is_judged_right_row_by_row() {
    let rows = rows("dev.tsv");
    assert!(rows.len() >= 80, "{}", rows.len());
    let s = score(shipped(), &rows);
    eprintln!(
        "dev: abusive excluded {}/{}, legitimate excluded {}/{}",
        s.abusive_excluded, s.abusive, s.legit_excluded, s.legit
    );
    assert!(s.wrong.is_empty(), "{:#?}", s.wrong);
}

/// Judge a labelled file, print its figures and every wrong row, and return the score.
fn measure(name: &str, what: &str) -> Score {
    let rows = rows(name);
    let s = score(shipped(), &rows);
    eprintln!(
        "{what}: abusive excluded {}/{} ({:.0} %), legitimate excluded {}/{}",
        s.abusive_excluded,
        s.abusive,
        100.0 * s.abusive_excluded as f64 / s.abusive.max(1) as f64,
        s.legit_excluded,
        s.legit
    );
    for w in &s.wrong {
        eprintln!("  {w}");
    }
    s
}

/// Measure a held-out set of 60 + 60 posts or more and hold it to its floor: no
/// legitimate post excluded, at least `abusive` abusive posts excluded.
fn held_to(name: &str, what: &str, abusive: usize) {
    let s = measure(name, what);
    assert!(
        s.abusive >= 60 && s.legit >= 60,
        "{} / {}",
        s.abusive,
        s.legit
    );
    assert_eq!(
        s.legit_excluded, 0,
        "legitimate posts excluded: {:#?}",
        s.wrong
    );
    assert!(
        s.abusive_excluded >= abusive,
        "abusive posts missed: {:#?}",
        s.wrong
    );
}

#[test]
fn held_out_set_is_measured_and_held_to_a_floor() {
    let s = measure("heldout.tsv", "held-out");
    assert!(
        s.abusive >= 40 && s.legit >= 40,
        "{} / {}",
        s.abusive,
        s.legit
    );
    // Measured before any tuning: 22/40 abusive, 0/40 legitimate excluded; 23/40 after the
    // first round. Its misses then shaped the second round, so it is tuned on now (40/40):
    // the floor only keeps that from sliding back; heldout2.tsv says how the rules do.
    assert_eq!(
        s.legit_excluded, 0,
        "legitimate posts excluded: {:#?}",
        s.wrong
    );
    assert_eq!(
        s.abusive_excluded, s.abusive,
        "abusive posts missed: {:#?}",
        s.wrong
    );
}

/// The second held-out set (`heldout2.tsv`), written before the second round of rule
/// changes: measured, printed and held to a floor.
#[test]
fn second_held_out_set_is_measured_and_held_to_a_floor() {
    let s = measure("heldout2.tsv", "held-out 2");
    assert!(
        s.abusive >= 60 && s.legit >= 60,
        "{} / {}",
        s.abusive,
        s.legit
    );
    // First measured at 14/68 abusive, 1/68 legitimate excluded, before the second round;
    // 65/68 and 0/68 after it (the three misses are veiled threats with no threatening
    // word: "жалко будет, если сгорит"); 67/68 after the third, which reads a fire hinted
    // at an official's property. The floor is what was reached.
    assert_eq!(
        s.legit_excluded, 0,
        "legitimate posts excluded: {:#?}",
        s.wrong
    );
    assert!(
        s.abusive_excluded >= 67,
        "abusive posts missed: {:#?}",
        s.wrong
    );
}

#[test]
fn the_reason_names_the_rule_and_the_words() {
    let lx = shipped();
    let why = lx.find("Спалю вашу администрацию").unwrap();
    assert!(why.starts_with("угроза:") && why.contains("спалю"), "{why}");
    let why = lx.find("Глава — дебил").unwrap();
    assert_eq!(why, "оскорбление: дебил");
    let why = lx.find("Да х*й вы что сделаете").unwrap();
    assert!(why.contains("х*й"), "{why}");
    // A word-list entry is reported as written in the list.
    assert!(lx.find("Хуйня").unwrap().starts_with('/'));
}

#[test]
fn the_second_round_categories_give_their_reasons() {
    let lx = shipped();
    let cases = [
        // A harm verb by its derived forms: 1st person plural, imperative plural.
        ("Замочим вашего прораба", "угроза: замочим"),
        ("Вздёрните этого главу", "угроза: вздерните этого главу"),
        // Bare, as an ultimatum to someone.
        ("Не уберёте свалку — спалим", "угроза: спалим"),
        // A set phrase, aimed or not.
        ("Мэра на вилы!", "угроза: мэра на вилы"),
        ("Скоро пустим красного петуха", "угроза: красного петуха"),
        // A zoomorphic insult said of someone, a derived hard insult.
        ("Крысы из администрации", "оскорбление: крысы"),
        ("Ну вы и дебилоиды", "оскорбление: дебилоиды"),
        // A sign or a Latin letter hiding a letter.
        ("Нах$р", "мат со скрытыми буквами: нах*р"),
    ];
    for (post, why) in cases {
        assert_eq!(lx.find(post).as_deref(), Some(why), "{post}");
    }
    for post in [
        "Сами закопаем, дайте экскаватор — если надо",
        "Свиньи с фермы бродят по трассе",
        "Не пожалеете, если приедете на ярмарку",
        "Вандалы оторвали номер дома, повесьте новый",
    ] {
        assert_eq!(lx.find(post), None, "{post}");
    }
}

#[test]
fn obscenity_is_excluded_even_when_reported() {
    let lx = shipped();
    assert!(lx.find("Сосед сказал мне: «иди на х*й»").is_some());
    assert!(lx.find("Соседу угрожали: «убьём»").is_none());
}

#[test]
fn without_the_built_in_rules_only_the_list_counts() {
    let lx = Lexicon::parse("мудак\n").unwrap();
    assert_eq!(lx.find("Спалю вашу администрацию"), None);
    assert_eq!(lx.find("м*дак"), Some("мудак".into()), "hidden letters");
    assert!(!lx.has_builtin());
    assert!(!Lexicon::clause12("").unwrap().is_empty());
}

/// Bounded work per input character: the reading is linear in the input's length.
const WORK_PER_CHAR: usize = 16;

#[test]
fn a_hostile_megabyte_is_read_in_linear_work() {
    let pieces = [
        "х*й ",
        "х.у.й ",
        "х у й ",
        "п..",
        ".",
        "*",
        "#",
        "@",
        "ууууу",
        "«",
        "»",
        "— ",
        "a",
        "\u{ad}",
        "xyй",
        "3",
        "убью ",
        "тебя ",
        "!",
        "\n",
    ];
    let mut text = String::new();
    let mut k = 0usize;
    while text.len() < 1_000_000 {
        text.push_str(pieces[k % pieces.len()]);
        k = k.wrapping_mul(31).wrapping_add(7) % 1_000_003;
    }
    let chars = text.chars().count();
    let n = normalise(&text);
    assert!(n.work <= WORK_PER_CHAR * chars, "{} for {chars}", n.work);
    // One endless word, one endless spelt run, one endless mask run.
    for text in [
        "ж".repeat(1_000_000),
        "х ".repeat(500_000),
        format!("х{}й", "*".repeat(1_000_000)),
        format!("п{}дец", ".".repeat(1_000_000)),
    ] {
        let chars = text.chars().count();
        let n = normalise(&text);
        assert!(n.work <= WORK_PER_CHAR * chars, "{} for {chars}", n.work);
        assert!(n.tokens.iter().all(|t| t.text.chars().count() <= 40));
    }
    // And the whole judgment on a long post finishes with an answer. The judgment looks at
    // bounded windows around each word and reads clause and sentence context from one
    // pass, so one endless sentence of harm verbs and insults costs linear work too.
    let lx = shipped();
    let long = format!("{}Спалю вашу контору", "Дорога плохая. ".repeat(5_000));
    assert!(lx.find(&long).is_some());
    let one_sentence = "сами спалим козлы если надо закопаем и ".repeat(20_000);
    assert_eq!(lx.find(&one_sentence), None);
    // What each word has before it in its sentence is read in one pass, not by looking
    // back from every word: endless harm verbs, sittings and comparisons with nobody named.
    for text in [
        "спалю ".repeat(20_000),
        "сидят скоты ".repeat(20_000),
        "как свиньи ".repeat(20_000),
        "у нас ".repeat(20_000),
        // `ты у меня` and `чтоб вам` over and over in one sentence, with no verb or curse.
        "ты у меня ".repeat(20_000),
        "чтоб вам ".repeat(20_000),
    ] {
        assert_eq!(lx.find(&text), None, "{}", &text[..40]);
    }
    // Nor from every insult after a dash back to the dash: a verb far back in one endless
    // clause, then endless insults (this took 15 s at 40,000 words of each). A verb shields
    // only the few words after it, so the fifth `коровы` is what the head is called.
    let far_verb = format!(
        "Глава — {}держать {}",
        "дом ".repeat(20_000),
        "коровы ".repeat(20_000)
    );
    assert_eq!(lx.find(&far_verb).as_deref(), Some("оскорбление: коровы"));
    let named_last = format!("{}глава у нас мразь", "у нас ".repeat(20_000));
    assert!(lx.find(&named_last).is_some());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn reading_is_linear_for_any_text(s in "[хуй*#@.\\- «»\"—!?\naxy30ё]{0,3000}") {
        let chars = s.chars().count();
        let n = normalise(&s);
        prop_assert!(n.work <= WORK_PER_CHAR * chars.max(1), "{} for {}", n.work, chars);
        prop_assert!(n.text.chars().count() <= chars + n.tokens.len());
        prop_assert!(n.tokens.iter().all(|t| t.text.chars().count() <= 40));
    }

    #[test]
    fn judging_never_panics(s in "\\PC{0,300}") {
        let _ = shipped().find(&s);
    }
}

/// The third held-out set (`heldout3.tsv`), written by another hand that never saw the
/// rules, the word lists or the earlier sets. Measured before this round at 48/60 abusive
/// and 0/60 legitimate excluded; its misses were printed then, but no rule was written
/// from them (the rules grew on `dev2.tsv` to `dev5.tsv`): 56/60 and 0/60 after; 58/60 after
/// the next rounds (`dev6.tsv` to `dev12.tsv`).
#[test]
fn third_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout3.tsv", "held-out 3", 58);
}

/// The fourth held-out set (`heldout4.tsv`), written by yet another hand alongside the
/// second development set; only its figures were read while the rules grew: 38/60
/// abusive excluded before, 47/60 after the round on `dev2.tsv`, 51/60 after `dev3.tsv`,
/// 52/60 after `dev4.tsv` and `dev5.tsv`, 55/60 after `dev6.tsv` to `dev12.tsv`; no
/// legitimate post excluded at any step but one (`убожество`, said of a thing: the word
/// went to the insults said of someone, and only its reason was read).
#[test]
fn fourth_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout4.tsv", "held-out 4", 55);
}

/// The development sets of this round (`dev2.tsv` to `dev5.tsv`), each written by another
/// hand that never saw the rules: the rules grew on them. Before: 78/120, 79/120, 67/120
/// and 79/120 abusive excluded, 2/120, 0/120, 0/120 and 2/120 legitimate; now every
/// legitimate post is answered, and what is missed (28 of 480) is mostly veiled threats
/// with no harm word, insults by irony or in transliteration.
#[test]
fn this_rounds_dev_sets_are_judged_right_but_for_a_few() {
    let mut missed = Vec::new();
    for s in dev_sets(&["dev2.tsv", "dev3.tsv", "dev4.tsv", "dev5.tsv"]) {
        assert_eq!(s.legit_excluded, 0, "{:#?}", s.wrong);
        missed.extend(s.wrong);
    }
    assert!(missed.len() <= 28, "{missed:#?}");
}

/// A round's development sets together: at least `abusive` abusive posts excluded, at
/// most `legit` legitimate ones.
fn round_holds(names: &[&str], abusive: usize, legit: usize) {
    let scores = dev_sets(names);
    let excluded: usize = scores.iter().map(|s| s.abusive_excluded).sum();
    let legit_excluded: usize = scores.iter().map(|s| s.legit_excluded).sum();
    assert!(excluded >= abusive, "{excluded}");
    assert!(legit_excluded <= legit, "{legit_excluded}");
}

/// Measures development sets of 120 + 120 posts or more, each printed.
fn dev_sets(names: &[&str]) -> Vec<Score> {
    names
        .iter()
        .map(|name| {
            let s = measure(name, name);
            assert!(s.abusive >= 100 && s.legit >= 100, "{name}");
            s
        })
        .collect()
}

/// The fifth held-out set (`heldout5.tsv`), written by a fifth hand after the rules grown on
/// `dev4.tsv`, most of it plain abuse as a real feed has it: 50/60 abusive and 0/60
/// legitimate excluded when first measured, 53/60 after the round on `dev5.tsv`.
#[test]
fn fifth_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout5.tsv", "held-out 5", 53);
}

/// The sixth held-out set (`heldout6.tsv`), written by a seventh hand alongside `dev5.tsv`
/// and measured once, after every rule: 49/60 abusive and 0/60 legitimate excluded; 50/60
/// after the next rounds.
#[test]
fn sixth_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout6.tsv", "held-out 6", 50);
}

/// The sets of the next rounds (`dev6.tsv` to `dev12.tsv`), written by seven more hands
/// that never saw the rules, two of them told to write the hard kinds. Measured before any
/// change from them: `dev6`–`dev8` 41/120, 75/120, 93/120 abusive excluded (3/120, 0, 0
/// legitimate); `dev9`–`dev12` 81/120, 103/120, 89/120, 79/120 (0 legitimate). After Latin
/// words read as transliterated Russian, hyphen-split words joined and the list entries of
/// the round: 41, 99, 99, 109, 113, 102 and 96 of 120 (2/120, then 0 legitimate). Most of
/// what is left in `dev6.tsv` (veiled threats, irony) has no word a rule could hold on to;
/// the model's flag is for those.
#[test]
fn the_next_rounds_dev_sets_are_measured() {
    round_holds(
        &[
            "dev6.tsv",
            "dev7.tsv",
            "dev8.tsv",
            "dev9.tsv",
            "dev10.tsv",
            "dev11.tsv",
            "dev12.tsv",
        ],
        707,
        1,
    );
}

/// The sixth round's development sets (`dev13.tsv` to `dev17.tsv`), by five more hands:
/// older rural writers (run-on, typos, veiled threats), young ones (slang, Latin letters),
/// and three feeds of an ordinary month, a mixed one and a week of outages. `dev13` and
/// `dev14` were measured before any change of the round: 83/120 and 100/120 abusive
/// excluded, 0 legitimate. `dev15`–`dev17` were measured after the changes drawn from
/// `dev7`–`dev14` and before any from them: 107, 98 and 106 of 120 (0, 2, 2 legitimate).
/// After the round: 104, 115, 112, 107 and 114 of 120, 0 legitimate.
#[test]
fn the_sixth_rounds_dev_sets_are_measured() {
    round_holds(
        &[
            "dev13.tsv",
            "dev14.tsv",
            "dev15.tsv",
            "dev16.tsv",
            "dev17.tsv",
        ],
        552,
        0,
    );
}

/// The seventh and eighth held-out sets, written by two more hands alongside `dev6.tsv` to
/// `dev8.tsv`, first measured after Latin words were read as transliterated Russian:
/// 44/60 and 56/60 abusive excluded, 1/60 and 0/60 legitimate. The one legitimate post
/// excluded (a report that someone tried to set a car on fire) was read and fixed: a harm
/// verb after `пытался`, `может` and the like reports or warns. 47/60 and 57/60 after the
/// rules grown on `dev9.tsv` to `dev12.tsv`, 0/60 legitimate.
#[test]
fn seventh_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout7.tsv", "held-out 7", FLOOR7);
}

#[test]
fn eighth_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout8.tsv", "held-out 8", FLOOR8);
}

/// The ninth and tenth held-out sets, written by two more hands alongside `dev9.tsv` to
/// `dev12.tsv` and measured once, after every rule of this round and the model: 54/60
/// and 55/60 abusive excluded, 0/60 legitimate; the model flagged 4 of the 6 and 3 of the
/// 5 abusive posts the rules let through, and no legitimate one.
#[test]
fn ninth_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout9.tsv", "held-out 9", FLOOR9);
}

#[test]
fn tenth_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout10.tsv", "held-out 10", FLOOR10);
}

/// The eleventh and twelfth held-out sets, written by two more hands alongside `dev13.tsv`
/// and `dev14.tsv` (an ordinary month's feed; a mixed feed of old, young and office
/// writers) and measured once, after every change of the sixth round: 54/60 and 56/60
/// abusive excluded, 0/60 legitimate.
#[test]
fn eleventh_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout11.tsv", "held-out 11", FLOOR11);
}

#[test]
fn twelfth_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout12.tsv", "held-out 12", FLOOR12);
}

/// The seventh round's development sets (`dev18.tsv` to `dev20.tsv`, a January feed, a
/// spring feed, comments under the administration's own posts), measured after the sixth
/// round and before any change from them: 99, 111 and 96 of 120 abusive excluded (1, 0, 0
/// legitimate); after the round 109, 116 and 110, 0 legitimate.
#[test]
fn the_seventh_rounds_dev_sets_are_measured() {
    round_holds(&["dev18.tsv", "dev19.tsv", "dev20.tsv"], 335, 0);
}

/// The thirteenth and fourteenth held-out sets, written by two more hands alongside
/// `dev18.tsv` to `dev20.tsv` (a season's feed; comments under the administration's posts
/// and in a town chat) and measured once, after every change of the seventh round: 56/60
/// and 54/60 abusive excluded, 0/60 legitimate (57 and 56 after the eighth round).
#[test]
fn thirteenth_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout13.tsv", "held-out 13", 57);
}

#[test]
fn fourteenth_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout14.tsv", "held-out 14", 56);
}

// Raised by the sixth round: 47 → 50, 57 → 59, 54 → 54, 55 → 56; by the eighth, 54 → 55
// for `heldout11.tsv`; by the ninth, 54 → 55 and 56 → 57 for `heldout9`, `heldout10`.
const FLOOR7: usize = 50;
const FLOOR8: usize = 59;
const FLOOR9: usize = 55;
const FLOOR10: usize = 57;
const FLOOR11: usize = 55;
const FLOOR12: usize = 56;

/// The clause 12 model's flag (`Lexicon::suspect`) on the posts the rules let through, on
/// every held-out set: how many of the abusive ones it flags to the coordinator, and how
/// many legitimate ones it flags too (they are still answered; she decides).
#[test]
fn the_models_flag_is_measured_on_the_held_out_sets() {
    let lx = shipped();
    let (mut missed, mut flagged, mut answered, mut wrongly) = (0, 0, 0, 0);
    for name in HELD_OUT {
        let (mut m, mut f, mut a, mut w) = (0, 0, 0, 0);
        for (exclude, post) in rows(name) {
            if lx.find(&post).is_some() {
                continue;
            }
            let flag = lx.suspect(&post).is_some();
            if exclude {
                m += 1;
                f += usize::from(flag);
            } else {
                a += 1;
                w += usize::from(flag);
            }
        }
        eprintln!(
            "{name}: of the abusive posts the rules let through, {f}/{m} flagged; of the legitimate, {w}/{a} flagged"
        );
        (missed, flagged, answered, wrongly) = (missed + m, flagged + f, answered + a, wrongly + w);
    }
    eprintln!(
        "all held-out sets: abusive let through by the rules {flagged}/{missed} flagged, legitimate {wrongly}/{answered} flagged"
    );
    // Short ordinary posts, kept out of the model's training: a short post is not abusive
    // by its shortness.
    let short = rows("short-heldout.tsv");
    let short_flagged = short
        .iter()
        .filter(|(_, post)| lx.suspect(post).is_some())
        .count();
    eprintln!(
        "short ordinary posts: {short_flagged}/{} flagged",
        short.len()
    );
    assert!(
        short.len() >= 150 && short_flagged == SHORT_FLAGGED,
        "{short_flagged}"
    );
    assert!(
        missed - flagged <= NEITHER && wrongly <= LEGIT_FLAGGED,
        "{missed} {flagged} {wrongly}"
    );
}

/// The held-out sets' names.
const HELD_OUT: [&str; 21] = [
    "heldout.tsv",
    "heldout2.tsv",
    "heldout3.tsv",
    "heldout4.tsv",
    "heldout5.tsv",
    "heldout6.tsv",
    "heldout7.tsv",
    "heldout8.tsv",
    "heldout9.tsv",
    "heldout10.tsv",
    "heldout11.tsv",
    "heldout12.tsv",
    "heldout13.tsv",
    "heldout14.tsv",
    "heldout15.tsv",
    "heldout16.tsv",
    "heldout17.tsv",
    "heldout18.tsv",
    "heldout19.tsv",
    "heldout20.tsv",
    "heldout21.tsv",
];

/// The whole decision (`Lexicon::exclude`: the rules, then the model where it is sure and
/// the post has a word of the threat or insult lists) on every held-out set: no
/// legitimate post excluded, and the model's exclusions on top of the rules' counted.
#[test]
fn the_models_exclusion_is_measured_on_the_held_out_sets() {
    let lx = shipped();
    let (mut abusive, mut by_rules, mut by_model, mut legit) = (0, 0, 0, 0);
    let mut wrong = Vec::new();
    for name in HELD_OUT {
        for (exclude, post) in rows(name) {
            let ruled = lx.find(&post).is_some();
            let why = lx.exclude(&post);
            assert!(!ruled || why == lx.find(&post), "{post}");
            if exclude {
                abusive += 1;
                by_rules += usize::from(ruled);
                by_model += usize::from(!ruled && why.is_some());
            } else {
                legit += 1;
                if let Some(why) = why {
                    wrong.push(format!("{name}: excluded ({why}): {post}"));
                }
            }
        }
    }
    let all = by_rules + by_model;
    eprintln!(
        "all held-out sets: abusive excluded {all}/{abusive} ({:.1} %: {by_rules} by the rules, {by_model} by the model), legitimate excluded {}/{legit}",
        100.0 * all as f64 / abusive.max(1) as f64,
        wrong.len()
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(by_model >= MODEL_EXCLUDED, "{by_model}");
    // Short ordinary posts kept out of training: none excluded.
    for (_, post) in rows("short-heldout.tsv") {
        assert_eq!(lx.exclude(&post), None, "{post}");
    }
}

/// Abusive posts of the held-out sets the rules let through and the model excludes. When
/// the model's exclusion came (its threshold chosen on the development sets before the
/// held-out sets were judged): 9 of the 86, with none of the 1,188 legitimate posts. The
/// same with the routing starter corpus grown to 9,054 posts. After the eleventh round
/// (with `heldout21.tsv`; the model trained on `dev28.tsv`, `dev29.tsv` too, and sure from
/// 0.99 rather than 0.98, as the development sets then put it): 8 of the 101, none of the
/// 1,248 legitimate posts.
const MODEL_EXCLUDED: usize = 8;

/// The model excludes only a post with a word of the threat or insult lists: an insult
/// the rules let through is excluded with the model's reason; a veiled threat with no such
/// word is only flagged; an idiom is answered.
#[test]
fn the_model_excludes_only_with_a_word_of_the_lists() {
    let lx = shipped();
    let insult = "Клоун, прости Господи, а не глава.";
    assert_eq!(lx.find(insult), None, "the rules let it through");
    let why = lx.exclude(insult).expect("the model excludes it");
    assert!(
        why.starts_with("модель ") && why.contains("слова из списков: клоун"),
        "{why}"
    );
    let veiled = "Хорошие у вас внуки, Николай Степанович, мы их часто видим у школы. \
                  Подумайте о них, когда будете подписывать закрытие.";
    assert!(lx.suspect(veiled).is_some(), "flagged");
    assert_eq!(
        lx.exclude(veiled),
        None,
        "no word of the lists: flagged, not excluded"
    );
    assert_eq!(
        lx.exclude("Убили полдня в очереди в МФЦ, а окно одно."),
        None
    );
    assert_eq!(
        Lexicon::parse("мудак").unwrap().exclude(insult),
        None,
        "without the built-in rules, no model"
    );
}

/// Abusive posts of the held-out sets neither excluded nor flagged. When the flag came: 21
/// (31 of the 52 the rules let through flagged), and 4 of 588 legitimate ones flagged (3
/// of them in `heldout2.tsv`, written to look abusive). After the sixth round (with
/// `heldout11.tsv` and `heldout12.tsv`): 18 (31 of 49 flagged), 0 of 708 legitimate. After
/// the seventh (with `heldout13.tsv` and `heldout14.tsv`): 16 (41 of 57 flagged), 0 of 828.
/// After the eighth (with `heldout15.tsv` and `heldout16.tsv`, and the model trained on
/// `dev21.tsv` to `dev23.tsv` too): 18 (54 of 72 flagged). After the ninth (with
/// `heldout17.tsv` and `heldout18.tsv`, the model trained on `dev24.tsv`, `dev25.tsv`
/// too): 20 (61 of 81 flagged). After the tenth (with `heldout19.tsv` and `heldout20.tsv`,
/// the model trained on `dev26.tsv`, `dev27.tsv` too): 24 (62 of 86 flagged; 64 of 86 with
/// the model of the ninth round). With the routing starter corpus grown by 1,320 ordinary
/// complaints (the model learns them as posts to answer): 23 (63 of 86 flagged); by 1,318
/// more: 26 (60 of 86); by 2,633 more (9,054 in all): 28 (58 of 86). After the eleventh
/// (with `heldout21.tsv`, harder than the others: 16 of the 101 the rules let through are
/// its own; the model trained on `dev28.tsv`, `dev29.tsv` too): 34 (67 of 101 flagged).
const NEITHER: usize = 34;

/// Legitimate posts of the held-out sets the model flags (they are still answered; the
/// coordinator is told). 0 of 828 after the seventh round; after the eighth, with the
/// model trained on three more sets and the threshold left where cross-validation on the
/// development sets put it (0.9), 2 of 948 (both in `heldout2.tsv`, written to look
/// abusive); after the ninth, 2 of 1,068 (one in `heldout2.tsv`, one in `heldout8.tsv`);
/// after the tenth, with two more sets in training, 5 of 1,188 (two in `heldout2.tsv`, one
/// each in `heldout4.tsv`, `heldout8.tsv`, `heldout19.tsv`; 3 with the ninth round's model);
/// with the routing starter corpus grown by 1,320 ordinary complaints, 1 of 1,188; by 1,318
/// more, 3; by 2,633 more (9,054 in all), 1.
const LEGIT_FLAGGED: usize = 1;

/// Short ordinary posts kept out of training that the model flags: 0 of 150 after the
/// seventh round, 1 after the eighth (at 0.909, against the threshold of 0.9; the
/// threshold was not moved for it), 0 after the ninth, 1 with the routing starter corpus
/// grown by 1,320 ordinary complaints (which took the held-out legitimate posts flagged
/// from 5 to 1; the threshold was not moved), 0 with 1,318 more, 1 after the eleventh round
/// (one also when the development sets are each left out of training in turn; as after
/// the eighth round, the threshold was not moved for it).
const SHORT_FLAGGED: usize = 1;

/// The seventh round's rules, both ways.
#[test]
fn the_seventh_rounds_rules_hold_both_ways() {
    judged(
        &[
            ("Ху.йня полная ваша горячая линия", "мат"),
            ("Хуuня, а не ремонт, всё отвалилось", ""),
            ("Я вам, уроды, устрою весёлую жизнь", ""),
            (
                "Пусть глава только появится у нас, живым не уедет.",
                "угроза",
            ),
            ("Вы, Наталья Сергеевна, лицемерка и пустышка", "оскорбление"),
            ("Сдохнете вы у меня все в своей администрации", "угроза"),
            (
                "Ножом пропорю колёса у каждой вашей служебной машины",
                "угроза",
            ),
            (
                "Куры тупые в отделе кадров, полгода ставку оформить не могут",
                "оскорбление",
            ),
        ],
        &[
            "Канистры с бензином у кого-то во дворе стоят под окнами, рядом дети играют. Это законно?",
            "Я, дурак, поверил обещаниям про новую дорогу.",
            "Мне жить надоело в квартире без отопления, помогите.",
            "Куры соседские бегают по дороге, водители их давят.",
        ],
    );
}

/// The sixth round's rules, both ways.
#[test]
fn the_sixth_rounds_rules_hold_both_ways() {
    judged(
        &[
            ("мэр наш вор, так и запишите", "оскорбление"),
            (
                "заведующая садиком даун, детей выводит в мороз",
                "оскорбление",
            ),
            ("Главврач ведёт себя как хабалка с рынка", "оскорбление"),
            (
                "Не чиновники, а упыри, сосут кровь из пенсионеров.",
                "оскорбление",
            ),
            (
                "Скоты сидят в администрации, им плевать на людей.",
                "оскорбление",
            ),
            (
                "Упыри, кровь из пенсионеров пьёте своими тарифами.",
                "оскорбление",
            ),
            ("контролёрша в автобусе жаба мерзкая", "оскорбление"),
            ("приду к гл. домой с канистрой бензина", "угроза"),
            ("ружьё есть, приду в администрацию поговорим", "угроза"),
            ("Будьте вы прокляты со своим полигоном", "угроза"),
            ("Я этого участкового в бараний рог скручу", "угроза"),
            ("пусть директор школы оглядывается по вечерам", "угроза"),
            ("Этому прорабу не жить, если мать опять без тепла", "угроза"),
            ("Глава — ид10т, других слов нет.", "оскорбление"),
            ("Бл.., опять счётчик сломался", "мат"),
            ("Обещали ремонт к маю, а х.у.й там", "/"),
            ("bl9t opyat net vody", "/"),
        ],
        &[
            "Как получить соцконтракт на ЛПХ — купить корову? Куда подавать?",
            "Детям молоко нужно — корову держать надо!",
            "Будь проклят тот день, когда я купила эту квартиру: крыша течёт.",
            "на горке у почты шею свернуть можно, хоть бы песком посыпали",
            "В чате писали, что школу заминировали. Почему никто не объяснил?",
            "Мужики грозятся избить водителя бочки, если он не заедет. Вмешайтесь.",
            "Ямы такие, что машину можно похоронить. Закопайте их асфальтом, пожалуйста.",
            "ну.. опять нет воды",
            "Номер машины приложу, прошу провести проверку.",
            "Жду ответа до ул. Мира, д. 5, кв. 12.",
        ],
    );
}

/// Each of `excluded` is excluded for a reason starting so; each of `answered` is answered.
fn judged(excluded: &[(&str, &str)], answered: &[&str]) {
    let lx = shipped();
    for (post, why) in excluded {
        assert!(lx.find(post).is_some_and(|w| w.starts_with(why)), "{post}");
    }
    for post in answered {
        assert_eq!(lx.find(post), None, "{post}");
    }
}

#[test]
fn a_fire_hinted_at_an_officials_property_is_a_threat_and_news_of_a_fire_is_not() {
    judged(
        &[
            (
                "Красивая у директора дача. Бензин нынче недорогой.",
                "угроза",
            ),
            (
                "Машина у вашего зама новая, жалко будет, если загорится ночью",
                "угроза",
            ),
        ],
        &[
            "У главы дача сгорела в прошлом году, говорят, проводка",
            "Директор говорит, что школа может загореться из-за старой проводки",
            "Соседи угрожают, что дом главы сгорит, куда звонить?",
            "Бензин на заправке у трассы подорожал, а зарплаты прежние",
        ],
    );
}

#[test]
fn the_fifth_round_shapes() {
    judged(
        &[
            ("х🙈й дождёшься от вас ответа", "мат со скрытыми буквами"),
            ("ЗАКОПАЮ. Тебя, глава.", "угроза"),
            ("ууурооды в управляющей компании", "оскорбление"),
        ],
        &[
            "Сам себе идиот, что поверил обещаниям",
            "Готов голову себе оторвать, что не записался вовремя",
            "Закопаю. Яму у дома, сам, раз никто не едет",
        ],
    );
}

/// The eighth round's development sets (`dev21.tsv` to `dev23.tsv`: a small town's autumn
/// feed, a remote village's chat typed carelessly, young residents' slang), measured after
/// the seventh round and before any change from them: 111, 88 and 91 of 120 abusive
/// excluded (2, 1, 0 legitimate); after the round 116, 107 and 109, 0 legitimate; after the
/// ninth 117, 107 and 109.
#[test]
fn the_eighth_rounds_dev_sets_are_measured() {
    round_holds(&["dev21.tsv", "dev22.tsv", "dev23.tsv"], 333, 0);
}

/// The fifteenth and sixteenth held-out sets, written by two more hands alongside
/// `dev21.tsv` to `dev23.tsv` (a winter's feed; comments under news about the
/// administration) and measured once, after every change of the eighth round: 54/60 and
/// 47/60 abusive excluded. One legitimate post of `heldout16.tsv` was excluded then
/// («идиотская ситуация, дети остались без присмотра»: an insulting adjective reached
/// across a comma to a person); that general fault was fixed after the measurement, so
/// this set's 0 legitimate is no longer a blind figure.
#[test]
fn fifteenth_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout15.tsv", "held-out 15", 54);
}

#[test]
fn sixteenth_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout16.tsv", "held-out 16", 47);
}

/// The eighth round's rules, both ways.
#[test]
fn the_eighth_rounds_rules_hold_both_ways() {
    judged(
        &[
            ("Вас, депутатов, надо по одному вешать на столбах", "угроза"),
            ("Всех вас, чинуш, перестрелять мало.", "угроза"),
            ("Сам приду и башку вашему слесарю проломлю", "угроза"),
            ("Сожгу.", "угроза"),
            ("Будешь, Петрович, пешком ходить. Сожжём к чертям", "угроза"),
            ("я сказал что взорву эту вашу котельную к чертям", "угроза"),
            (
                "Пусть начальник водоканала молится, чтобы я его не встретил",
                "угроза",
            ),
            ("Подарите главе пулю в лоб на Новый год", "угроза"),
            ("Глава района упырь, сидит в кабинете", "оскорбление"),
            ("Вас, дармоедов, палками гнать надо", "оскорбление"),
            ("Председатель ТСЖ — аферистка и дрянь.", "оскорбление"),
            ("заибали уже с этим ремонтом", ""),
        ],
        &[
            "Так и убьём остаток осени на ожидание подрядчика?",
            "Вы нас убить хотите этими канавами в темноте?",
            "фапу нужна машина, фельдшер на своей ездит и бензин за свой счет, это правильно?",
            "Попросите электриков повесить хоть пару светильников на столбы.",
            "Сами закопаем яму у дома, раз никто не едет.",
            "Собаку сбили на дороге, сами её закопаем.",
            "Это идиотская ситуация, дети остались без присмотра.",
            "Молимся, чтобы дорогу сделали до зимы.",
            "Я сказал, что напишу в прокуратуру.",
            "Денег на бензин у фельдшера нет, машина стоит.",
        ],
    );
}

/// The ninth round's development sets (`dev24.tsv`, `dev25.tsv`: comments under an
/// administration's news and on a city page, officials named by surname and post),
/// measured after the eighth round and before any change from them: 93 and 96 of 120
/// abusive excluded (0, 0 legitimate); after the round 105 and 102, 0 legitimate.
#[test]
fn the_ninth_rounds_dev_sets_are_measured() {
    round_holds(&["dev24.tsv", "dev25.tsv"], 207, 0);
}

/// The seventeenth and eighteenth held-out sets, written by two more hands alongside
/// `dev24.tsv` and `dev25.tsv` (comments under an administration's news; a summer feed)
/// and measured once, after every change of the ninth round: 53/60 and 56/60 abusive
/// excluded, 0/60 legitimate. That measurement also found two legitimate posts of earlier
/// held-out sets excluded by two of the round's new guesses (`бездарная работа
/// подрядчика`, an insulting adjective that more often speaks of work; `Готова задушить в
/// объятиях`, a word at a sentence's start taken for a surname); both were narrowed, so
/// `heldout5` and `heldout7` are no longer blind.
#[test]
fn seventeenth_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout17.tsv", "held-out 17", 53);
}

#[test]
fn eighteenth_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout18.tsv", "held-out 18", 56);
}

/// The ninth round's rules, both ways.
#[test]
fn the_ninth_rounds_rules_hold_both_ways() {
    judged(
        &[
            (
                "Кравцову пристрелить мало за то, что она сделала.",
                "угроза",
            ),
            (
                "Ляпину бы ноги переломать, чтобы сам по ямам попрыгал.",
                "угроза",
            ),
            ("Вывезем этого директора МУПа в лес и оставим там", "угроза"),
            ("Кононенко, вали из района, пока цел.", "угроза"),
            ("Кравцова, молись, чтобы мы тебя не встретили.", "угроза"),
            ("Колесникова, с твоей ж*пой только в болоте сидеть", "мат"),
            ("Директор МУПа Тимохин — тупое бревно.", "оскорбление"),
            (
                "Бездарная и лживая Хохлова опять вещает про заботу.",
                "оскорбление",
            ),
            ("Малахов, ты ссыкло.", "оскорбление"),
            ("Наш глава как таракан: прячется.", "оскорбление"),
        ],
        &[
            "Готова задушить в объятиях того, кто починил светофор!",
            "Корову зарезать придётся, кормов нет.",
            "Бездарная работа подрядчика на Молодёжной.",
            "Машину сами вытащим из кювета.",
            "Петрову позвонить надо, он знает.",
            "Тараканы в общежитии бегают, травить пора.",
        ],
    );
}

/// The tenth round's development sets (`dev26.tsv`: pensioners of a rural settlement,
/// old-fashioned curses and slow veiled threats; `dev27.tsv`: drivers, hunters and
/// tradesmen on a district forum, threats with tools and cars), measured after the ninth
/// round and before any change from them: 99 and 106 of 120 abusive excluded (1 and 0
/// legitimate); after the round 117 and 115, 0 legitimate.
#[test]
fn the_tenth_rounds_dev_sets_are_measured() {
    round_holds(&["dev26.tsv", "dev27.tsv"], 232, 0);
}

/// The nineteenth and twentieth held-out sets, written by two more hands alongside
/// `dev26.tsv` and `dev27.tsv` (replies under an administration's own posts; a school's
/// parents' chat), measured once after every change of the tenth round: 58/60 and 55/60
/// abusive excluded, 0/60 legitimate. The ninth round's rules gave the same 58 and 55: the
/// tenth round did not reach these two writers.
#[test]
fn nineteenth_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout19.tsv", "held-out 19", 58);
}

#[test]
fn twentieth_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout20.tsv", "held-out 20", 55);
}

/// The tenth round's rules, both ways: curses after `чтоб`, `ты у меня` with a verb said to
/// the one spoken to, a `3` written for `е`, a weapon before the verb, and an insulting
/// adjective kept to the noun right after it.
#[test]
fn the_tenth_rounds_rules_hold_both_ways() {
    judged(
        &[
            ("Чтоб вас, бюрократов, всех холера взяла!", "проклятие"),
            (
                "Чтобы тебе, председатель, на этой дороге самому сгнить.",
                "проклятие",
            ),
            ("Ты у меня, Семёнов, до пенсии не доработаешь.", "угроза"),
            ("Погодите, вы у меня ещё попляшете за эти счета.", "угроза"),
            ("Совсем оху3ли с тарифами.", "мат"),
            (
                "Кувалдой вам ворота снесу, если опять перекроете проезд.",
                "угроза",
            ),
            ("Завхоз наш — жмот и подлец.", "оскорбление"),
            ("Проклинаю вас за этот мост.", "угроза"),
        ],
        &[
            "Сделайте навес, чтобы вам не околеть на остановке.",
            "Чтобы вы знали: автобус опять не пришёл.",
            "Соседка кричала, чтоб вы сдохли, я только пересказываю.",
            "Вы у меня спрашиваете номер квитанции? Он в письме.",
            "Ты у меня один остался, сынок, помоги с дровами.",
            "Бессовестная работа управляющей компании, крыша течёт.",
            "Снесу документы в МФЦ завтра с утра.",
            "Дом 3 на Лесной без света.",
        ],
    );
}

/// The eleventh round's development sets (`dev28.tsv`: comments under an administration's
/// VK and Telegram posts; `dev29.tsv`: long bitter posts by residents who have written many
/// times; both asked for a third of insults by irony and half of the threats veiled),
/// measured after the tenth round and before any change from them: 83 and 76 of 120
/// abusive excluded by the rules (0 and 1 legitimate); after the round 91 and 94, none.
#[test]
fn the_eleventh_rounds_dev_sets_are_measured() {
    round_holds(&["dev28.tsv", "dev29.tsv"], 185, 0);
}

/// The twenty-first held-out set, written alongside `dev28.tsv` and `dev29.tsv` by another
/// hand (traders, shop owners and drivers) from the same brief, harder than the earlier
/// sets: measured once before the eleventh round, 40/60 abusive excluded by the rules (43
/// with the model), 0/60 legitimate; once after it, 44/60 by the rules (46 with the model),
/// 0/60.
#[test]
fn twenty_first_held_out_set_is_measured_and_held_to_a_floor() {
    held_to("heldout21.tsv", "held-out 21", 44);
}

/// The eleventh round's rules, both ways: words said only of people wherever they stand,
/// set phrases of insult, veiled threats by formula, farm animals in a sentence about
/// farming, the writer as no target of a threat, and a report in the present tense.
#[test]
fn the_eleventh_rounds_rules_hold_both_ways() {
    judged(
        &[
            ("Тупица какой-то у нас за дороги отвечает.", "оскорбление"),
            ("Пустомеля, одно слово.", "оскорбление"),
            ("Зам наш тупой как пробка.", "оскорбление"),
            ("Дура набитая эта ваша секретарша.", "оскорбление"),
            ("Ты ещё получишь по зубам, депутат.", "угроза"),
            ("Я ему лично голову откручу.", "угроза"),
            ("Закопаю этого проверяющего.", "угроза"),
            (
                "Сынок у вас в городе учится? Жалко будет, если что.",
                "угроза",
            ),
            ("В следующий раз разговор будет короткий.", "угроза"),
            ("Глава у нас баран, дороги нет.", "оскорбление"),
        ],
        &[
            "Выставка скота — а частникам с одной коровой можно участвовать?",
            "Прошу выдать выписку о поголовье скота в ЛПХ для страхования.",
            "Хоть ты корову сливками корми, жирность у молоковоза не та.",
            "Хватит вешать нам лапшу на уши про ремонт.",
            "Хватит вешать лапшу на уши жителям.",
            "Завуч называет учеников тупицами при всех.",
            "У автобуса нашего, видимо, интеллект табуретки: двери закрываются на людях.",
            "Разговор с главой был короткий, ответа нет.",
        ],
    );
}

/// Ordinary complaints the rules excluded, in the shapes the routing starter corpus had
/// them (11 of its 9,054 posts before the eleventh round, none after), each answered, and
/// the threats beside them still excluded: whom money comes from is no target, a
/// possessive is no apposition, a place or a hand is not what is harmed, a worry about who
/// will put a fire out is no promise of fire, and hearsay is reported.
#[test]
fn ordinary_complaints_are_answered_and_threats_beside_them_excluded() {
    judged(
        &[
            ("С главы шкуру спущу.", "угроза"),
            (
                "Разберёмся с вашим замом по-своему, пусть готовится, закопаем.",
                "угроза",
            ),
            ("Ты, бабка, дура.", "оскорбление"),
            ("Чиновников всех на фонари.", "угроза"),
        ],
        &[
            "Соседка слышала, что с каждого двора по тысяче соберут на фонари.",
            "По тысяче с каждого двора на фонари — это законно?",
            "Бабка его бегала по всему селу, искала, где телефон ловит.",
            "Табличку повесьте хоть от руки, людям не найти приёмную.",
            "Хотим повесить на доме табличку с историей усадьбы.",
            "Пожарная машина стоит у председателя без аккумулятора. Если ночью загорится, кто поедет?",
        ],
    );
}

/// No post of the routing starter corpus, every one an ordinary complaint, is excluded by
/// the rules (11 of the 9,054 were before the eleventh round).
#[test]
fn no_post_of_the_routing_starter_corpus_is_excluded_by_the_rules() {
    use otklik_core::routing::model;
    let lx = shipped();
    let corpus = model::parse_corpus(model::STARTER_CORPUS).expect("the shipped corpus");
    assert!(corpus.len() > 9000, "{}", corpus.len());
    let wrong: Vec<String> = corpus
        .iter()
        .map(|l| l.example.text.as_str())
        .filter_map(|text| lx.find(text).map(|why| format!("{why}: {text}")))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}
