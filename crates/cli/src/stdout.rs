//! Writing to standard output: a closed pipe (`| head`) is not an error, anything else (a full
//! disk, an I/O error) is, and names standard output.

use std::io::{ErrorKind, Write};

/// Write `text` to standard output and flush it.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => {
            Err(anyhow::anyhow!("cannot write to standard output: {e}"))
        }
        _ => Ok(()),
    }
}
