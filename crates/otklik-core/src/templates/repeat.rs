//! The possible-repeat flag in the coordinator's mail about a new case: which earlier case,
//! why, and the one-click `ПОВТОР OTK-17` that links the two (cl. 10).

use super::{Block, Doc, View, keyword, tr};
use crate::reply::keyword::Word;

impl View<'_> {
    /// The flag and its button, when the case was flagged as a possible repeat of an earlier
    /// case by another author; nothing otherwise (or once it is linked).
    pub(super) fn possible_repeat(&self, d: &mut Doc) {
        let lang = self.lang();
        let Some(p) = &self.case.possible_repeat else {
            return;
        };
        if self.case.repeat_of.is_some() {
            return;
        }
        let words = if p.shared.is_empty() {
            String::new()
        } else {
            format!(
                "; {}: {}",
                tr(lang, "общие слова", "shared words"),
                p.shared.join(", ")
            )
        };
        let executor = p
            .executor
            .as_deref()
            .and_then(|id| self.config.executor(id))
            .map(|e| format!("{} ({})", e.name, e.id));
        let link = match executor {
            Some(who) if p.executor == self.case.executor => format!(
                "{} {who} {}",
                tr(
                    lang,
                    "Если это повтор, свяжите дела кнопкой ниже: исполнитель тот же,",
                    "If it is one, link the cases with the button below: the executor is the same,",
                ),
                tr(
                    lang,
                    "получит прежний ответ и просьбу указать, что сделано с тех пор.",
                    "and gets the earlier answer and the request to say what was done since.",
                ),
            ),
            Some(who) => format!(
                "{} {who} {}",
                tr(
                    lang,
                    "Если это повтор, свяжите дела кнопкой ниже: дело перейдёт исполнителю прежнего дела,",
                    "If it is one, link the cases with the button below: the case goes to the earlier case's executor,",
                ),
                tr(lang, "вместе с прежним ответом.", "with the earlier answer."),
            ),
            None => tr(
                lang,
                "Если это повтор, свяжите дела кнопкой ниже: дело будет отмечено как повторное.",
                "If it is one, link the cases with the button below: the case is marked as a repeat.",
            )
            .to_string(),
        };
        d.push(Block::Text(format!(
            "{} {} ({} {} %{words}). {link} {}",
            tr(
                lang,
                "Возможный повтор: другой автор пишет о той же проблеме в том же месте, что и в деле",
                "Possible repeat: another author writes about the same problem at the same place as case",
            ),
            p.of,
            tr(lang, "сходство", "similarity"),
            p.percent,
            tr(
                lang,
                "Иначе ничего не делайте: дело идёт своим ходом.",
                "Otherwise do nothing: the case proceeds as it is.",
            ),
        )));
        let word = keyword(lang, Word::Repeat);
        d.buttons.insert(
            0,
            self.button(
                &format!("{word} {}", p.of),
                &format!(
                    "{} {}",
                    tr(lang, "Связать как повтор", "Link as a repeat of"),
                    p.of
                ),
                tr(
                    lang,
                    "повторное обращение (п. 10): прежнему исполнителю, с прежним ответом",
                    "a repeat (clause 10): to the earlier executor, with the earlier answer",
                ),
            ),
        );
    }
}
