//! How the clause 12 judgment reads a post: one pass over the text into words, each word
//! undone of the disguises people use to slip obscenity and threats past a word list.
//!
//! - lower case, `ё` read as `е`;
//! - in a word with a Cyrillic letter, Latin look-alikes (`xyй`, `cука`, `пиzдец`), the
//!   Ukrainian `і`, the digits `0`, `1`, `3`, `4`, `6`, `9` (`пи3дец`, `ид10т`) and `@`
//!   (`бл@дь`) read as the Cyrillic letters they stand for;
//! - a letter stretched three or more times is one letter (`хууууй`, `убьюююю`); doubled
//!   letters stay (Russian has many), the caller may try them collapsed too;
//! - masks: `*`, `#`, `@` inside a word, `%`, `$`, `&` or a pictograph between its letters
//!   (`пи%дец`, `нах$р`, `х🙈й`, `оху€ть`), `!` or `?` right after its first one to three
//!   letters, or two or more dots right after its first one to four (`прое..л`), or one
//!   dot before its last one to three (`ниху.я`, `ху.йня`), and before a letter (`п!здец`, `п..дец`),
//!   are hidden letters ([`Token::masked`]), as are two or more dots that cut short the
//!   start of an obscene word (`бл..`); a
//!   `#` or `@` that starts a word (a hashtag, a user name) and a footnote `*` after a long
//!   word are not;
//! - letters spelt out one at a time (`х у й`, `х.у.й`, `е-б-а-т-ь`, `п.и.з.дец`) are
//!   joined into one word, and a short start written before them with the same gap is
//!   read joined with them too (`пох.у.и.с.т.ы`);
//! - a word typed in Latin letters (and digits for letters, `bl9t`) is read as
//!   transliterated Russian (`urody` → `уроды`, `hu*nya` → `ху*ня`); one made only of letters that look like Cyrillic ones is also
//!   read as those letters for the obscenity lists (`cyka` → `сука`, [`Normalised::extra`]);
//! - two words with only a hyphen between them are also read joined, for the obscenity
//!   lists (`пи-здец`, `ху-😡-йня`, [`Normalised::extra`]);
//! - invisible characters (soft hyphen, zero-width space and joiners) are dropped.
//!
//! The text is also cut into sentences (at `.`, `!`, `?`, `;` and line breaks, but not
//! inside quotation marks, nor at the full stop of an abbreviation before a word in lower
//! case: `приду к гл. домой`) and every word knows whether it is quoted, whether a dash
//! stands before it and whether it starts a clause (after a comma, colon, dash or
//! bracket, or at a sentence start), which is all the threat and insult rules need.
//!
//! Linear: every character is looked at a bounded number of times and a word is cut at
//! [`MAX_WORD_CHARS`], so a megabyte of hostile text costs a few passes, never more.

pub use crate::stem::MAX_WORD_CHARS;

use super::translit::{look_alike, transliterate};

/// One word of the post as the rules read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The reading: lower case, disguises undone, a hidden letter written `*`.
    pub text: String,
    /// The word had hidden letters (`*`, `#`, `@`, `..` inside it).
    pub masked: bool,
    /// For a masked word, the reading with every hidden letter written `*` (`бл@дь` →
    /// `бл*дь`, while [`Token::text`] reads the `@` as `а`); empty otherwise.
    pub pattern: String,
    /// The word started with a capital letter in the post (a name, if not the first word).
    pub capital: bool,
    /// Which sentence of the post the word is in, from 0.
    pub sentence: usize,
    /// The word is inside quotation marks (someone else's words).
    pub quoted: bool,
    /// A dash (`—`, `–`, or ` - `) stands between this word and the one before.
    pub after_dash: bool,
    /// The word starts a clause: the first of its sentence, or after a comma, colon, dash
    /// or bracket.
    pub clause_start: bool,
}

/// A post read for clause 12: its words, and the whole text rebuilt from them with the
/// punctuation between them, for the word list's stems and `/regex/` entries.
#[derive(Debug, Clone, Default)]
pub struct Normalised {
    /// The rebuilt text: the words' readings and the characters between them.
    pub text: String,
    /// The words, in order.
    pub tokens: Vec<Token>,
    /// Other readings of spelt-out letters (`и х у й` is read `ихуй`, and `хуй` here),
    /// for the obscenity lists only.
    pub extra: Vec<String>,
    /// Units of work spent (characters looked at, counted once a look): a bound the tests
    /// hold against the input's length.
    pub work: usize,
}

const INVISIBLE: &[char] = &[
    '\u{ad}', '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}',
];

fn is_mask(c: char) -> bool {
    matches!(c, '*' | '#' | '@')
}

/// A sign that hides a letter between letters: `%`, `$`, `&`, or a pictograph (emoji).
fn is_sign(c: char) -> bool {
    matches!(c, '%' | '$' | '&' | '€')
        || ('\u{1F000}'..='\u{1FAFF}').contains(&c)
        || ('\u{2600}'..='\u{27BF}').contains(&c)
}

fn is_cyrillic(c: char) -> bool {
    ('\u{400}'..='\u{4ff}').contains(&c)
}

/// The Cyrillic letter a lower-case Latin letter or digit stands for inside a Cyrillic word.
fn homoglyph(c: char) -> char {
    match c {
        'a' | '@' => 'а',
        'b' => 'в',
        '6' => 'б',
        'c' => 'с',
        'e' => 'е',
        'h' => 'н',
        'k' => 'к',
        'm' => 'м',
        'n' => 'п',
        'o' | '0' => 'о',
        'p' => 'р',
        'r' => 'г',
        't' => 'т',
        'x' => 'х',
        'y' => 'у',
        'z' => 'з',
        'i' | 'і' | 'ї' => 'и',
        'd' | 'g' => 'д',
        'l' => 'л',
        'w' => 'ш',
        'u' => 'и',
        'є' => 'е',
        '3' => 'з',
        '4' => 'ч',
        '1' => 'и',
        '9' => 'я',
        _ => c,
    }
}

/// The starts of obscene words that are cut short with dots (`бл..`, `пизд..`).
fn cut_short(word: &[char]) -> bool {
    let w: String = word.iter().flat_map(|c| c.to_lowercase()).collect();
    matches!(
        w.as_str(),
        "бл" | "бля" | "ху" | "хуй" | "пи" | "пиз" | "пизд" | "еб" | "ёб" | "мля" | "нах"
    )
}

/// A raw piece of the post: a word's characters (masks kept) or what lies between words.
enum Piece {
    Word(Vec<char>),
    Gap(Vec<char>),
}

/// Cut the lower-cased text into words and gaps; `..` after a word's first few letters and
/// before a letter becomes masks.
fn pieces(chars: &[char], work: &mut usize) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut i = 0;
    let mut gap: Vec<char> = Vec::new();
    while i < chars.len() {
        *work += 1;
        let c = chars[i];
        if INVISIBLE.contains(&c) {
            i += 1;
            continue;
        }
        if !(c.is_alphanumeric() || is_mask(c)) {
            gap.push(c);
            i += 1;
            continue;
        }
        if !gap.is_empty() {
            out.push(Piece::Gap(std::mem::take(&mut gap)));
        }
        let mut word = Vec::new();
        while i < chars.len() {
            *work += 1;
            let c = chars[i];
            if INVISIBLE.contains(&c) {
                i += 1;
            } else if c.is_alphanumeric() || is_mask(c) {
                word.push(c);
                i += 1;
            } else if is_sign(c)
                && word
                    .last()
                    .is_some_and(|c| c.is_alphabetic() || is_mask(*c))
                && chars
                    .get(i + 1)
                    .is_some_and(|c| c.is_alphabetic() || is_mask(*c) || is_sign(*c))
            {
                // `пи%дец`, `нах$р`, `х🙈й`: a sign or a picture between letters hides one.
                word.push('*');
                i += 1;
            } else if matches!(c, '!' | '?')
                && (1..=3).contains(&word.len())
                && word.iter().all(|c| c.is_alphabetic())
                && chars.get(i + 1).is_some_and(|n| {
                    n.is_alphabetic() && (n.is_lowercase() || word.iter().all(|c| c.is_uppercase()))
                })
            {
                // `п!здец` (not `Ура!Завтра`): an exclamation or question mark after a short start, before a
                // letter, hides one.
                word.push('*');
                i += 1;
            } else if c == '.'
                && (1..=4).contains(&word.len())
                && word.iter().all(|c| c.is_alphabetic())
            {
                // `п..дец`, `бл..ь`: dots after a short start and before a letter hide letters.
                let mut j = i;
                while j < chars.len() && chars[j] == '.' {
                    *work += 1;
                    j += 1;
                }
                // One dot before one or two last letters also hides one (`ниху.я`,
                // not `ул.Мира` or `т.е.`).
                let tail = chars[j..]
                    .iter()
                    .take(4)
                    .take_while(|c| c.is_alphabetic())
                    .count();
                // Russian on both sides: `gnp.exe` is a file name.
                let one = j - i == 1
                    && word.len() >= 2
                    && (tail <= 2 || (tail == 3 && word.len() <= 3))
                    && tail >= 1
                    && chars[j].is_lowercase()
                    && word.iter().all(|&c| is_cyrillic(c))
                    && chars[j..j + tail].iter().all(|&c| is_cyrillic(c));
                if (j - i >= 2 || one) && chars.get(j).is_some_and(|c| c.is_alphabetic()) {
                    word.extend(std::iter::repeat_n('*', (j - i).min(MAX_WORD_CHARS)));
                    i = j;
                } else if j - i >= 2 && cut_short(&word) {
                    // `бл..`, `ху..`: dots after the start of an obscene word, at its end,
                    // hide the rest of it (not `ну..`, `что..`).
                    word.push('*');
                    i = j;
                    break;
                } else {
                    break;
                }
            } else {
                break;
            }
        }
        out.push(Piece::Word(word));
    }
    if !gap.is_empty() {
        out.push(Piece::Gap(gap));
    }
    out
}

/// A gap that may stand between letters spelt one at a time: one or two characters, no
/// line break, no sentence end.
fn spelling_gap(g: &[char]) -> bool {
    g.len() <= 2
        && g.iter()
            .all(|c| matches!(c, ' ' | '.' | '-' | '_' | ',' | '·' | '\''))
}

fn single_letter(p: &Piece) -> bool {
    matches!(p, Piece::Word(w) if w.len() == 1 && w[0].is_alphabetic())
}

/// Join letters spelt one at a time: three or more single letters with short gaps
/// (`х у й`, `х.у.й`), and after two or more of them, a longer tail joined by a dot or a
/// hyphen (`п.и.з.дец`, `х.у.йня`).
fn join_spelt(pieces: Vec<Piece>, work: &mut usize) -> (Vec<Piece>, Vec<Vec<char>>) {
    // First find the runs to join, as index ranges, on the borrowed pieces.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut extras: Vec<Vec<char>> = Vec::new();
    let mut i = 0;
    while i < pieces.len() {
        *work += 1;
        if !single_letter(&pieces[i]) {
            i += 1;
            continue;
        }
        // Every gap of a run is the same as its first (`х.у.й и` stops at the space).
        let first_gap = match pieces.get(i + 1) {
            Some(Piece::Gap(g)) if spelling_gap(g) => g.clone(),
            _ => {
                i += 1;
                continue;
            }
        };
        let mut j = i;
        let mut letters = 1;
        while j + 2 < pieces.len()
            && matches!(&pieces[j + 1], Piece::Gap(g) if *g == first_gap)
            && single_letter(&pieces[j + 2])
        {
            *work += 1;
            j += 2;
            letters += 1;
        }
        let tail = letters >= 2
            && j + 2 < pieces.len()
            && matches!(&pieces[j + 1], Piece::Gap(g) if g.len() == 1 && matches!(g[0], '.' | '-' | '_'))
            && matches!(&pieces[j + 2], Piece::Word(w) if w.len() >= 2 && w.iter().all(|c| c.is_alphabetic()));
        if letters >= 3 || tail {
            let end = if tail { j + 2 } else { j };
            runs.push((i, end));
            // `и х у й`: a spelt run may start with a real one-letter word; the rest,
            // joined, is read as well (for the obscenity lists).
            let one_letter_word = matches!(&pieces[i], Piece::Word(w)
                if w.len() == 1 && "авикосуяж".contains(w[0].to_lowercase().next().unwrap_or(' ')));
            // `пох.у.и.с.т.ы`: a short start before the run, with the run's own gap, is
            // read joined with it as well.
            if i >= 2
                && matches!(&pieces[i - 1], Piece::Gap(g) if *g == first_gap)
                && let Piece::Word(head) = &pieces[i - 2]
                && (2..=4).contains(&head.len())
                && head.iter().all(|c| c.is_alphabetic())
            {
                let mut joined = head.clone();
                for p in &pieces[i..=end] {
                    if let Piece::Word(w) = p {
                        joined.extend_from_slice(w);
                    }
                }
                extras.push(joined);
            }
            if one_letter_word && letters >= 4 {
                let mut rest = Vec::new();
                for p in &pieces[i + 1..=end] {
                    if let Piece::Word(w) = p {
                        rest.extend_from_slice(w);
                    }
                }
                extras.push(rest);
            }
            i = end + 1;
        } else {
            // Not a run (at most two letters were looked at): its last letter may start
            // one (`а х.у.й`: `а х` is not a run, `х.у.й` is).
            i += 1;
        }
    }
    if runs.is_empty() {
        return (pieces, extras);
    }
    let mut out = Vec::with_capacity(pieces.len());
    let mut runs = runs.into_iter().peekable();
    let mut joined: Option<Vec<char>> = None;
    for (k, p) in pieces.into_iter().enumerate() {
        *work += 1;
        match runs.peek() {
            Some(&(start, end)) if (start..=end).contains(&k) => {
                let w = joined.get_or_insert_with(Vec::new);
                if let Piece::Word(chars) = p {
                    w.extend(chars);
                }
                if k == end {
                    out.push(Piece::Word(joined.take().unwrap_or_default()));
                    runs.next();
                }
            }
            _ => out.push(p),
        }
    }
    (out, extras)
}

/// Read one word: masks, look-alikes, stretched letters. Returns the reading, whether it
/// had hidden letters and whether it started with a capital; `None` when nothing is left.
fn read_word(raw: &[char], work: &mut usize) -> Option<(String, String, bool)> {
    let capital = raw.first().is_some_and(|c| c.is_uppercase());
    // A stretched word is still read whole up to a bound: four times the longest word.
    let lower: Vec<char> = raw
        .iter()
        .take(MAX_WORD_CHARS * 4)
        .flat_map(|c| c.to_lowercase())
        .map(|c| if c == 'ё' { 'е' } else { c })
        .collect();
    *work += raw.len().min(MAX_WORD_CHARS * 4);
    // A `#` or `@` (or `*`) that starts a word is a hashtag, a user name or a bullet.
    let start = lower.iter().position(|&c| !is_mask(c))?;
    let mut w = &lower[start..];
    let letters = w.iter().filter(|c| c.is_alphabetic()).count();
    // Masks that end a long word are a footnote (`бесплатно*`); after a short one
    // (`х**`, `бл*`) they hide its end.
    if letters > 3 {
        let end = w.iter().rposition(|&c| !is_mask(c)).map_or(0, |e| e + 1);
        w = &w[..end];
    }
    let cyrillic = w.iter().any(|&c| is_cyrillic(c));
    let mut read: Vec<char> = w
        .iter()
        .map(|&c| match c {
            '*' | '#' => '*',
            '@' if cyrillic => 'а',
            '@' => '*',
            c if cyrillic => homoglyph(c),
            c => c,
        })
        .collect();
    // A word in Latin letters is Russian typed on a Latin keyboard (`urody`, `hu*nya`).
    let latin: String = read.iter().collect();
    let translit = transliterate(&latin);
    if let Some(t) = &translit {
        read = t.chars().collect();
    }
    // A Latin `b` in a Cyrillic word stands for `в` (`B` looks like it) or for `б`
    // (`Bлядство`): read as `в`, and hidden for the obscenity check, which tries both.
    // So is a `3`, read as `з` (`пи3дец`) but written for `е` too (`оху3ли`).
    let hides = |c: char| is_mask(c) || (cyrillic && (c == 'b' || c == '3'));
    let masked = w.iter().any(|&c| hides(c));
    *work += read.len();
    let text = squeeze(&read, work);
    if text.is_empty() {
        return None;
    }
    let pattern = if masked && translit.is_some() {
        squeeze(&read, work)
    } else if masked {
        let hidden: Vec<char> = w
            .iter()
            .zip(&read)
            .map(|(&c, &r)| if hides(c) { '*' } else { r })
            .collect();
        squeeze(&hidden, work)
    } else {
        String::new()
    };
    Some((text, pattern, capital))
}

/// A letter repeated three or more times is one letter (`хууууй` → `хуй`): stretching
/// is usually by more than two, and a double may be a real one (`ссора`, `длинный`).
/// Hidden letters (`*`) are kept, each standing for a letter. Cut at [`MAX_WORD_CHARS`].
fn squeeze(read: &[char], work: &mut usize) -> String {
    let mut text = String::with_capacity(read.len() * 2);
    let mut kept = 0usize;
    let mut k = 0;
    while k < read.len() && kept < MAX_WORD_CHARS {
        let c = read[k];
        let mut run = 1;
        while k + run < read.len() && read[k + run] == c {
            run += 1;
        }
        *work += run;
        let keep = if c == '*' || run < 3 { run } else { 1 };
        for _ in 0..keep.min(MAX_WORD_CHARS - kept) {
            text.push(c);
            kept += 1;
        }
        k += run;
    }
    text
}

/// Every doubled letter of a reading collapsed (`суука` → `сука`): a second try for the
/// obscenity lists, which do not contain doubled letters.
pub fn collapse_doubles(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = None;
    for c in s.chars() {
        if Some(c) != last || c == '*' {
            out.push(c);
        }
        last = Some(c);
    }
    out
}

fn opens_quote(c: char) -> bool {
    matches!(c, '«' | '„' | '“')
}

fn closes_quote(c: char) -> bool {
    matches!(c, '»' | '”')
}

/// Whether a word is typed in Latin letters (read as transliterated Russian by
/// [`read_word`]); one made only of Cyrillic look-alikes (`cyka`) is also read as those
/// letters, into `extra`, for the obscenity lists.
fn latin_word(w: &[char], extra: &mut Vec<String>) -> bool {
    let latin: String = w
        .iter()
        .take(MAX_WORD_CHARS)
        .flat_map(|c| c.to_lowercase())
        .collect();
    if let Some(reading) = look_alike(&latin) {
        extra.push(reading);
    }
    w.iter().any(char::is_ascii_alphabetic)
        && w.iter().all(|c| c.is_ascii_alphabetic() || is_mask(*c))
}

/// By piece: whether it is the gap after an abbreviation, whose full stop does not end
/// the sentence: after a word of at most four letters, a single `.` and spaces, before a
/// word in lower case (`приду к гл. домой`, `в адм. сидят`).
fn abbreviations(pieces: &[Piece]) -> Vec<bool> {
    (0..pieces.len())
        .map(|i| {
            let short_before = i > 0 && matches!(&pieces[i - 1], Piece::Word(w) if w.len() <= 4);
            let lower_after = matches!(pieces.get(i + 1), Some(Piece::Word(w))
                if w.first().is_some_and(|c| c.is_lowercase()));
            let dot = matches!(&pieces[i], Piece::Gap(g)
                if g.first() == Some(&'.') && g[1..].iter().all(|c| *c == ' '));
            short_before && lower_after && dot
        })
        .collect()
}

/// Read a post for clause 12 (see the module documentation).
pub fn normalise(text: &str) -> Normalised {
    let mut work = 0usize;
    let chars: Vec<char> = text.chars().collect();
    work += chars.len();
    let (pieces, extras) = join_spelt(pieces(&chars, &mut work), &mut work);
    let mut out = Normalised {
        text: String::with_capacity(text.len()),
        tokens: Vec::new(),
        extra: Vec::new(),
        work: 0,
    };
    for e in extras {
        if let Some((reading, _, _)) = read_word(&e, &mut work) {
            out.extra.push(reading);
        }
    }
    let mut sentence = 0usize;
    let mut quoted = false;
    let mut dash = false;
    let mut clause = true;
    let mut words_in_sentence = 0usize;
    // The word before, and whether only a hyphen stands between it and the next
    // (`пи-здец`, `пиз- дец`, `ху-😡-йня`): the two are also read joined, for the lists.
    let mut before: Option<String> = None;
    let mut hyphen = false;
    let mut translit_any = false;
    let abbreviations = abbreviations(&pieces);
    for (pi, p) in pieces.into_iter().enumerate() {
        match p {
            Piece::Gap(g) => {
                let abbreviation = abbreviations[pi];
                work += g.len();
                hyphen = g.len() <= 6
                    && g.contains(&'-')
                    && g.iter().all(|&c| c == '-' || c == ' ' || is_sign(c));
                for (k, &c) in g.iter().enumerate() {
                    if c == '\n' {
                        // A quotation does not run across a paragraph.
                        quoted = false;
                    }
                    if opens_quote(c) {
                        quoted = true;
                    } else if closes_quote(c) {
                        quoted = false;
                    } else if c == '"' {
                        quoted = !quoted;
                    }
                    let ends = matches!(c, '.' | '!' | '?' | ';' | '…' | '\n') && !abbreviation;
                    if ends && !quoted && words_in_sentence > 0 {
                        sentence += 1;
                        words_in_sentence = 0;
                    }
                    if matches!(c, '—' | '–') || (c == '-' && k > 0 && g[k - 1].is_whitespace())
                    {
                        dash = true;
                    }
                    if dash || ends || matches!(c, ',' | ':' | '(' | ')') {
                        clause = true;
                    }
                    out.text
                        .extend(c.to_lowercase().map(|c| if c == 'ё' { 'е' } else { c }));
                }
            }
            Piece::Word(w) => {
                work += w.len();
                translit_any |= latin_word(&w, &mut out.extra);
                if let Some((reading, pattern, capital)) = read_word(&w, &mut work) {
                    if let Some(b) = before.take().filter(|_| hyphen) {
                        out.extra.push(format!("{b}{reading}"));
                    }
                    before = Some(reading.clone());
                    out.text.push_str(&reading);
                    out.tokens.push(Token {
                        text: reading,
                        masked: !pattern.is_empty(),
                        pattern,
                        capital,
                        sentence,
                        quoted,
                        after_dash: dash,
                        clause_start: clause || words_in_sentence == 0,
                    });
                    words_in_sentence += 1;
                } else {
                    out.text.push(' ');
                }
                dash = false;
                clause = false;
            }
        }
    }
    // A word list may hold Latin words (`fuck`): the post as typed is read too, when some
    // word of it was read as transliterated Russian.
    if translit_any {
        work += text.len();
        out.extra.push(text.to_lowercase().replace('ё', "е"));
    }
    out.work = work;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        normalise(s).tokens.into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn disguises_are_undone() {
        assert_eq!(words("Xyйня"), ["хуйня"]);
        assert_eq!(words("пи3дец"), ["пиздец"]);
        assert_eq!(words("хууууй"), ["хуй"]);
        assert_eq!(words("х.у.й и х у й"), ["хуй", "ихуй"]);
        assert_eq!(normalise("и х у й").extra, ["хуй"]);
        assert_eq!(words("п.и.з.дец"), ["пиздец"]);
        assert_eq!(words("х*й"), ["х*й"]);
        assert_eq!(words("п..дец"), ["п**дец"]);
        assert_eq!(words("бл@дь"), ["бладь"]);
        assert_eq!(words("ССора длинная"), ["ссора", "длинная"]);
        assert_eq!(words("#волчиха бесплатно*"), ["волчиха", "бесплатно"]);
        // Latin words are Russian typed on a Latin keyboard; digits stay digits.
        assert_eq!(words("taxi 2024"), ["тахи", "2024"]);
        assert_eq!(words("glava - mudak, hu*nya"), ["глава", "мудак", "ху*ня"]);
        assert_eq!(normalise("cyka").extra, ["сука", "cyka"]);
        assert_eq!(normalise("ПИ-ЗДЕЦ, ху-😡-йня").extra, ["пиздец", "хуйня"]);
        assert_eq!(words("му\u{ad}дак"), ["мудак"]);
        assert_eq!(words("Пиzдец пiздец"), ["пиздец", "пиздец"]);
        assert_eq!(words("пи%дец нах$р п!здец"), ["пи*дец", "нах*р", "п*здец"]);
        assert_eq!(
            words("50% скидка! Ура!Завтра"),
            ["50", "скидка", "ура", "завтра"]
        );
    }

    #[test]
    fn the_sixth_and_seventh_rounds_disguises() {
        assert_eq!(words("ниху.я ху.йня"), ["ниху*я", "ху*йня"]);
        assert_eq!(words("Бл.., опять"), ["бл*", "опять"]);
        assert_eq!(words("ну.. опять"), ["ну", "опять"]);
        assert_eq!(words("оху€ть ид10т"), ["оху*ть", "идиот"]);
        assert_eq!(words("bl9t"), ["блят"]);
        assert_eq!(words("а х.у.й там"), ["а", "хуй", "там"]);
        assert!(normalise("пох.у.и.с.т.ы").tokens[0].masked);
        // A file name, a street and an abbreviation stay as they are.
        assert_eq!(words("gnp.exe"), ["гнп", "ехе"]);
        assert_eq!(words("ул.Мира"), ["ул", "мира"]);
        let n = normalise("приду к гл. домой. Всё");
        let s: Vec<usize> = n.tokens.iter().map(|t| t.sentence).collect();
        assert_eq!(s, [0, 0, 0, 0, 1]);
    }

    #[test]
    fn masks_are_flagged() {
        let n = normalise("х*й бл@ть мама");
        let m: Vec<bool> = n.tokens.iter().map(|t| t.masked).collect();
        assert_eq!(m, [true, true, false]);
        assert_eq!(n.tokens[1].pattern, "бл*ть");
        assert_eq!(n.tokens[1].text, "блать");
    }

    #[test]
    fn sentences_quotes_and_dashes() {
        let n = normalise("Глава — вор. Он сказал: «Убью! Точно». Всё");
        let t: Vec<(&str, usize, bool, bool)> = n
            .tokens
            .iter()
            .map(|t| (t.text.as_str(), t.sentence, t.quoted, t.after_dash))
            .collect();
        assert_eq!(
            t,
            [
                ("глава", 0, false, false),
                ("вор", 0, false, true),
                ("он", 1, false, false),
                ("сказал", 1, false, false),
                ("убью", 1, true, false),
                ("точно", 1, true, false),
                ("все", 2, false, false),
            ]
        );
        assert!(n.tokens[0].capital && !n.tokens[1].capital);
    }

    #[test]
    fn clauses_start_after_commas_dashes_and_sentence_ends() {
        let n = normalise("Вандалы оторвали номер, повесьте новый — сами. Ну");
        let c: Vec<bool> = n.tokens.iter().map(|t| t.clause_start).collect();
        assert_eq!(c, [true, false, false, true, false, true, true]);
    }

    #[test]
    fn the_text_keeps_the_punctuation() {
        assert_eq!(normalise("Ну, Xyйня!").text, "ну, хуйня!");
    }
}
