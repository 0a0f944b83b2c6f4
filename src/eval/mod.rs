//! Coding-quality evaluation: task suites, answers graded by running code in a sandbox and
//! by checking facts, and scores that say what passed.

pub mod sandbox;
