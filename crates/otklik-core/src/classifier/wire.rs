//! The routing model as it is serialised: every feature by its text (per executor, a map
//! of feature to weight; the vocabulary; the regression's rows), the form it had before it
//! was held compactly. A model is converted to it when written and from it when read.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::{Class, KNOWN, Model, Params, linear};

/// One executor's counts as serialised.
#[derive(Default, Serialize, Deserialize)]
pub(super) struct WireClass {
    docs: f64,
    total: f64,
    words: BTreeMap<String, f64>,
}

/// The model as serialised: features by their text.
#[derive(Serialize, Deserialize)]
pub(super) struct Wire {
    #[serde(default)]
    params: Params,
    classes: BTreeMap<String, WireClass>,
    vocab: BTreeMap<String, f64>,
    #[serde(default)]
    linear: linear::Wire,
}

impl From<Model> for Wire {
    fn from(m: Model) -> Wire {
        let name = |id: &u32| m.table.name(*id).to_string();
        Wire {
            params: m.params,
            classes: m
                .classes
                .iter()
                .map(|(id, c)| {
                    let words = c.words.iter().map(|(f, w)| (name(f), *w)).collect();
                    let class = WireClass {
                        docs: c.docs,
                        total: c.total,
                        words,
                    };
                    (id.clone(), class)
                })
                .collect(),
            vocab: (0..m.vocab.len() as u32)
                .filter(|&f| m.vocab[f as usize] > KNOWN)
                .map(|f| (name(&f), m.vocab[f as usize]))
                .collect(),
            linear: m.linear.to_wire(&m.table),
        }
    }
}

impl From<Wire> for Model {
    fn from(w: Wire) -> Model {
        let mut m = Model::with_params(w.params);
        for (f, v) in w.vocab {
            if let Some(id) = m.table.intern(&f) {
                m.vocab.resize(m.table.len(), 0.0);
                m.set_vocab(id, v);
            }
        }
        for (id, c) in w.classes {
            let mut words = HashMap::with_capacity(c.words.len());
            for (f, n) in c.words {
                if let Some(f) = m.table.intern(&f) {
                    words.insert(f, n);
                }
            }
            let class = Class {
                docs: c.docs,
                total: c.total,
                words,
            };
            m.classes.insert(id, class);
        }
        m.linear = linear::Linear::from_wire(w.linear, &mut m.table);
        m.vocab.resize(m.table.len(), 0.0);
        m.shrink_to_fit();
        m
    }
}
