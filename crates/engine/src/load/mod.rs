//! Load generation: profiles ([`profile`]) and the one driver that runs any of them
//! ([`driver`]) — sequential, closed-loop concurrency, or an open-loop arrival schedule.

pub mod driver;
pub mod profile;
pub mod synthetic;
