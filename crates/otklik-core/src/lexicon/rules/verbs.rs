//! The harm verbs (`harm-verbs.txt`), written by their principal parts, and the forms in
//! which a writer threatens with them.

use super::list::ListError;

/// The forms of one harm verb the writer threatens in, from its principal parts
/// (infinitive, 1st singular, 2nd singular, imperative; `-` where there is none): the 1st
/// person future, singular and plural (the plural from the 2nd singular, `убьёшь` →
/// `убьём`), and the calls — the infinitive and the imperative, singular and plural.
/// Returns `(threat_forms, call_forms)`, read as the post is (`е` for `ё`).
pub fn verb_forms(parts: &[&str]) -> Result<(Vec<String>, Vec<String>), String> {
    let [inf, first, second, imp] = parts else {
        return Err(format!(
            "«{}»: a verb is four forms: infinitive, 1st singular, 2nd singular, imperative",
            parts.join(" ")
        ));
    };
    let read = |w: &str| Some(w.to_lowercase().replace('ё', "е")).filter(|w| w != "-");
    let mut threat = Vec::new();
    let mut call = Vec::new();
    if let Some(f) = read(first) {
        threat.push(f);
    }
    if let Some(s) = read(second) {
        let Some(stem) = s.strip_suffix("шь") else {
            return Err(format!("«{s}»: the 2nd singular ends in -шь"));
        };
        threat.push(format!("{stem}м"));
    }
    if let Some(i) = read(inf) {
        call.push(i);
    }
    if let Some(i) = read(imp) {
        call.push(format!("{i}те"));
        call.push(i);
    }
    if threat.iter().chain(&call).any(|w| w.chars().count() < 3) {
        return Err(format!("«{}»: a form under three letters", parts.join(" ")));
    }
    Ok((threat, call))
}

/// A harm verb of `harm-verbs.txt`: its section and its derived forms.
pub(super) struct HarmVerb {
    /// From `[kill]`: a threat by itself in the 1st person; else `[harm]`, only when aimed.
    pub(super) kill: bool,
    /// The 1st person future forms.
    pub(super) threat: Vec<String>,
    /// The infinitive and imperative forms.
    pub(super) call: Vec<String>,
}

/// The harm verbs of `harm-verbs.txt`.
pub(super) fn harm_verbs(text: &str) -> Result<Vec<HarmVerb>, ListError> {
    let mut out = Vec::new();
    let mut kill = false;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |message: String| ListError {
            file: "harm-verbs.txt",
            line: i + 1,
            message,
        };
        match line {
            "[kill]" => kill = true,
            "[harm]" => kill = false,
            l if l.starts_with('[') => return Err(err(format!("unknown section {l}"))),
            l => {
                let parts: Vec<&str> = l.split_whitespace().collect();
                let (threat, call) = verb_forms(&parts).map_err(err)?;
                out.push(HarmVerb { kill, threat, call });
            }
        }
    }
    Ok(out)
}
