//! Load generation: profiles ([`profile`]) and the one driver that runs any of them
//! ([`driver`]) — sequential, closed-loop concurrency, or an open-loop arrival schedule — and
//! the schedule of simulated developers typing in an editor ([`typing`]) through a corpus of
//! source files ([`corpus`]), multi-turn chat and agent sessions ([`sessions`]), the long-context ladder ([`ladder`]) and trace replay ([`trace`]).

pub mod corpus;
pub mod driver;
pub mod ladder;
pub mod profile;
pub mod sessions;
pub mod synthetic;
pub mod trace;
pub mod typing;
