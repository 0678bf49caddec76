//! Words with hidden letters (`х*й`, `п**дец`, `бл#ть`, `е..ть`): does some stem of a list
//! fit, a run of `k` hidden letters standing for 1 to `k + 1` letters? A masked word is
//! itself a sign of a word its writer would not spell, so the stem may start after a short
//! prefix (`на*уй`, `за*бали`). Pure; a word is at most
//! [`MAX_WORD_CHARS`](super::normalise::MAX_WORD_CHARS) long and a stem at most 63, so one
//! check is bounded work.

/// A piece of a masked reading: a letter, or a run of hidden ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seg {
    Letter(char),
    Hidden(usize),
}

fn segments(word: &str) -> Vec<Seg> {
    let mut out: Vec<Seg> = Vec::new();
    for c in word.chars() {
        match (c, out.last_mut()) {
            ('*', Some(Seg::Hidden(k))) => *k += 1,
            ('*', _) => out.push(Seg::Hidden(1)),
            (c, _) => out.push(Seg::Letter(c)),
        }
    }
    out
}

/// Can `stem` be read from `segs` (from the first), the stem used up before the word ends
/// and at least one of its letters visible (a stem is never read from masks alone)?
fn fits(segs: &[Seg], stem: &[char]) -> bool {
    let n = stem.len();
    if n == 0 || n > 62 {
        return false;
    }
    let done = 1u64 << n;
    // Bit `i`: the first `i` letters of the stem are read — in `bare` with no visible
    // letter among them yet, in `seen` with one.
    let mut bare = 1u64;
    let mut seen = 0u64;
    for seg in segs {
        let (mut next_bare, mut next_seen) = (0u64, 0u64);
        for (i, &letter) in stem.iter().enumerate() {
            let (b, s) = (bare & (1 << i) != 0, seen & (1 << i) != 0);
            if !b && !s {
                continue;
            }
            match *seg {
                Seg::Letter(c) => {
                    if letter == c {
                        next_seen |= 1 << (i + 1);
                    }
                }
                Seg::Hidden(k) => {
                    for m in 1..=k + 1 {
                        let bit = 1 << (i + m).min(n);
                        if b {
                            next_bare |= bit;
                        }
                        if s {
                            next_seen |= bit;
                        }
                    }
                }
            }
        }
        if next_seen & done != 0 {
            return true;
        }
        // A stem used up by masks alone is no reading.
        bare = next_bare & !done;
        seen = next_seen;
        if bare == 0 && seen == 0 {
            return false;
        }
    }
    false
}

/// The first of `stems` that fits the masked reading `word` (hidden letters written `*`),
/// at its start or after up to four leading letters; `None` when the word is too short
/// to say (`с*`: under three letters and masks).
pub fn fitting<'a>(word: &str, stems: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let segs = segments(word);
    let total: usize = segs
        .iter()
        .map(|s| match s {
            Seg::Letter(_) => 1,
            Seg::Hidden(k) => *k,
        })
        .sum();
    if total < 3 || !segs.iter().any(|s| matches!(s, Seg::Hidden(_))) {
        return None;
    }
    // Where a stem may start: the word's start, or after a prefix of up to four letters
    // when a visible letter follows within two pieces (`на*уй`), so that a stem is never
    // read from masks alone.
    let starts: Vec<usize> = (0..segs.len().min(5))
        .take_while(|&p| p == 0 || segs[..p].iter().all(|s| matches!(s, Seg::Letter(_))))
        .filter(|&p| {
            p == 0
                || segs[p..]
                    .iter()
                    .take(2)
                    .any(|s| matches!(s, Seg::Letter(_)))
        })
        .collect();
    stems.into_iter().find(|stem| {
        let stem: Vec<char> = stem.chars().collect();
        starts.iter().any(|&p| fits(&segs[p..], &stem))
    })
}

#[cfg(test)]
mod tests {
    use super::fitting;

    const STEMS: &[&str] = &["хуй", "пизд", "еба", "бля", "сук"];

    fn fit(w: &str) -> Option<&'static str> {
        fitting(w, STEMS.iter().copied())
    }

    #[test]
    fn hidden_letters_fit_stems() {
        assert_eq!(fit("х*й"), Some("хуй"));
        assert_eq!(fit("х**"), Some("хуй"));
        assert_eq!(fit("п**дец"), Some("пизд"));
        assert_eq!(fit("п*здец"), Some("пизд"));
        assert_eq!(fit("п***ц"), Some("пизд"));
        assert_eq!(fit("е**ть"), Some("еба"));
        assert_eq!(fit("за*бали"), Some("еба"));
        assert_eq!(fit("на*уй"), Some("хуй"));
        assert_eq!(fit("бл*"), Some("бля"));
        assert_eq!(fit("с*ка"), Some("сук"));
    }

    #[test]
    fn other_masked_words_do_not() {
        assert_eq!(fit("с*"), None);
        assert_eq!(fit("д*мократия"), None);
        assert_eq!(fit("хуй"), None, "not masked: the word lists handle it");
        assert_eq!(fit("5*5"), None);
        assert_eq!(fit("д***"), None, "a stem is not read from masks alone");
    }
}
