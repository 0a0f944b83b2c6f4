//! Requests in flight per class of work: counted around every request a target's client
//! sends (the count is shared by the client's clones), for the capacity search's live view.

use crate::spec::Class;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Requests sent and not yet finished, per class (and one count for requests of no class).
#[derive(Debug, Default)]
pub struct InFlight([AtomicUsize; Class::ALL.len() + 1]);

/// Holds one request's place in [`InFlight`] until dropped (the request finished, failed or
/// was cancelled).
#[derive(Debug)]
pub struct Entered {
    counts: Arc<InFlight>,
    slot: usize,
}

impl InFlight {
    fn slot(class: Option<Class>) -> usize {
        class.map_or(Class::ALL.len(), |c| c as usize)
    }

    /// Requests of `class` in flight now.
    pub fn of(&self, class: Option<Class>) -> usize {
        self.0[Self::slot(class)].load(Ordering::Relaxed)
    }

    /// Count a request of `class` until the returned guard is dropped.
    pub fn enter(self: &Arc<Self>, class: Option<Class>) -> Entered {
        let slot = Self::slot(class);
        self.0[slot].fetch_add(1, Ordering::Relaxed);
        Entered {
            counts: self.clone(),
            slot,
        }
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        self.counts.0[self.slot].fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_counts_until_its_guard_is_dropped() {
        let f = Arc::new(InFlight::default());
        let a = f.enter(Some(Class::Chat));
        let b = f.enter(Some(Class::Chat));
        let c = f.enter(None);
        assert_eq!((f.of(Some(Class::Chat)), f.of(None)), (2, 1));
        assert_eq!(f.of(Some(Class::Autocomplete)), 0);
        drop((a, c));
        assert_eq!((f.of(Some(Class::Chat)), f.of(None)), (1, 0));
        drop(b);
        assert_eq!(f.of(Some(Class::Chat)), 0);
    }
}
