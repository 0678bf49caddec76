//! What the cases teach routing, and how routing did: the examples confirmed executors give
//! the model ([`signals`]) and the routing report ([`report`]). Apart from [`crate::routing`]
//! because both read the workflow's cases, while the workflow routes.

pub mod report;
pub mod signals;
