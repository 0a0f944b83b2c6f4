//! What a decoded stream said: its answer chunks, its usage and its cached-token count, read
//! from the [`StreamEvent`]s a dialect's line decoder produced.

use servebench_engine::backend::StreamEvent;

/// The answer's text chunks, in order.
pub fn content(ev: &[StreamEvent]) -> Vec<String> {
    ev.iter()
        .filter_map(|e| match e {
            StreamEvent::Content(t) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// The last usage: `(prompt tokens, completion tokens)`.
pub fn usage(ev: &[StreamEvent]) -> (Option<u64>, Option<u64>) {
    ev.iter()
        .rev()
        .find_map(|e| match e {
            StreamEvent::Usage { input, output } => Some((*input, *output)),
            _ => None,
        })
        .unwrap()
}

/// The last cached-token count the stream stated.
pub fn cached(ev: &[StreamEvent]) -> Option<u64> {
    ev.iter().rev().find_map(|e| match e {
        StreamEvent::Cached(n) => Some(*n),
        _ => None,
    })
}
