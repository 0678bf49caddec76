//! Shared support for the integration tests (`mod support;` in a test file).
#![allow(dead_code)]

pub mod mailstack;
pub mod service;
