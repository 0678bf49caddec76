//! What a new case is offered beside it: earlier answers to posts alike ([`crate::archive`])
//! and an earlier case it may repeat ([`crate::repeat`]). A leaf: the case record
//! ([`crate::workflow`]) holds these, and the modules that find them read cases, so the
//! types live here where both can use them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// An earlier answer offered with a case: the entry and how similar its post is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Similar {
    /// The entry's id (imported id or case id).
    pub id: String,
    /// Similarity of the earlier post to the new one, 0 to 1 (see [`crate::archive::Index::query`]).
    pub score: f64,
    /// The earlier post's topic.
    pub topic: String,
    /// The earlier post's location.
    pub location: String,
    /// The earlier post's text.
    pub text: String,
    /// The answer approved for it.
    pub answer: String,
    /// When the earlier post was made, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
}

// Cases derive `Eq`; a score is never NaN (it is a ratio of finite positive sums).
impl Eq for Similar {}

/// The earlier case a new one may repeat, as flagged to the coordinator. What linking needs
/// of the earlier case (its executor, its approved answer) is kept as it was when the new
/// case was opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PossibleRepeat {
    /// The earlier case's id (`OTK-17`).
    pub of: String,
    /// The earlier case's number.
    pub number: u64,
    /// The similarity of the two texts, in percent.
    pub percent: u8,
    /// The words both posts share (at most a few, as the new post writes them), to show why.
    #[serde(default)]
    pub shared: Vec<String>,
    /// The earlier case's executor when the new case was opened.
    #[serde(default)]
    pub executor: Option<String>,
    /// The answer approved on the earlier case when the new case was opened.
    #[serde(default)]
    pub earlier_answer: Option<String>,
}
