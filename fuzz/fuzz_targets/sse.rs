//! The OpenAI SSE path as the stream driver runs it: bytes in arbitrary reads through the
//! line splitter into the event decoder. Nothing may panic or grow without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_engine::backend::StreamEvent;
use servebench_engine::backend::lines::LineSplitter;
use servebench_engine::backend::openai::decode_sse_line;

fuzz_target!(|data: &[u8]| {
    // The first byte chooses where the body is split into two reads.
    let Some((&cut, body)) = data.split_first() else {
        return;
    };
    let cut = (cut as usize).min(body.len());
    let mut lines = LineSplitter::default();
    let mut events: Vec<StreamEvent> = Vec::new();
    for part in [&body[..cut], &body[cut..]] {
        if lines
            .push(part, |l| decode_sse_line(l, &mut events).is_ok())
            .is_err()
        {
            return;
        }
    }
    if let Ok(Some(rest)) = lines.finish() {
        let _ = decode_sse_line(&rest, &mut events);
    }
    for e in &events {
        if let StreamEvent::Content(c) = e {
            assert!(!c.is_empty(), "content events carry text");
        }
    }
});
