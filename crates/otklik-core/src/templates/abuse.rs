//! The clause 12 model's flag in the coordinator's mail about a new case: the post may be
//! abusive though no rule matched, the words behind it, and the one-click `ИСКЛЮЧИТЬ`.

use super::{Block, Doc, View, keyword, tr};
use crate::reply::keyword::Word;
use crate::workflow::State;

impl View<'_> {
    /// The flag and its button, when the clause 12 model flagged the post; nothing
    /// otherwise (or once the case is excluded).
    pub(super) fn possible_abuse(&self, d: &mut Doc) {
        let lang = self.lang();
        let Some(a) = &self.case.possible_abuse else {
            return;
        };
        if self.case.state == State::Excluded {
            return;
        }
        let words = if a.words.is_empty() {
            String::new()
        } else {
            format!("; {}: {}", tr(lang, "слова", "words"), a.words.join(", "))
        };
        d.push(Block::Text(format!(
            "{} ({} %{words}). {}",
            tr(
                lang,
                "Возможно, п. 12: ни одно правило не сработало, но модель считает сообщение оскорбительным или угрожающим",
                "Possibly clause 12: no rule matched, but the model reads the post as abusive or threatening",
            ),
            a.percent,
            tr(
                lang,
                "Если это так, исключите дело кнопкой ниже; иначе ничего не делайте: дело идёт своим ходом.",
                "If it is, exclude the case with the button below; otherwise do nothing: the case proceeds as it is.",
            ),
        )));
        let word = keyword(lang, Word::Exclude);
        d.buttons.insert(
            0,
            self.button(
                word,
                tr(lang, "Исключить (п. 12)", "Exclude (clause 12)"),
                tr(
                    lang,
                    "не отвечать: нецензурная брань, оскорбления или угрозы (п. 12)",
                    "no answer: obscenity, insults or threats (clause 12)",
                ),
            ),
        );
    }
}
