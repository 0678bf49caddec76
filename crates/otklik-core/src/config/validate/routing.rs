//! The `[[rules]]` that route a notification to an executor.

use std::collections::HashSet;

use toml::Spanned;

use super::ctx::{Ctx, join, regex_message};
use crate::config::Rule;
use crate::config::raw::RawRule;

pub(super) fn rules(
    cx: &mut Ctx<'_>,
    raw: &[(usize, Spanned<RawRule>)],
    known: &HashSet<String>,
) -> Vec<Rule> {
    let mut out = Vec::new();
    for (i, rule) in raw {
        let p = format!("rules[{i}]");
        let r = rule.get_ref();
        let name = match &r.name {
            Some(n) => n.get_ref().trim().to_string(),
            None => format!("rule {}", i + 1),
        };
        let topic = cx.patterns(&r.topic, &join(&p, "topic"), false);
        let location = cx.patterns(&r.location, &join(&p, "location"), false);
        let category = cx.patterns(&r.category, &join(&p, "category"), false);
        let mut text = Vec::new();
        for (j, t) in r.text.iter().flat_map(|l| l.get_ref().iter().enumerate()) {
            match regex::Regex::new(t.get_ref()) {
                Ok(re) => text.push(re),
                Err(e) => cx.at(
                    t.span(),
                    &format!("{p}.text[{j}]"),
                    format!("invalid regular expression: {}", regex_message(&e)),
                ),
            }
        }
        let executor = cx
            .require(&r.executor, &rule.span(), &join(&p, "executor"))
            .and_then(|v| {
                let id = v.get_ref().trim();
                if known.contains(id) {
                    Some(id.to_string())
                } else {
                    cx.at(
                        v.span(),
                        &join(&p, "executor"),
                        format!("no executor has id {id:?}"),
                    );
                    None
                }
            });
        if let Some(executor) = executor {
            out.push(Rule {
                name,
                topic,
                location,
                category,
                text,
                executor,
            });
        }
    }
    out
}
