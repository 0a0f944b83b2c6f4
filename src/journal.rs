//! `requests.jsonl`: every request record, appended and flushed as it finishes and fsynced at
//! phase ends, so a crash or kill loses at most the request in flight.

use crate::events::{Event, Observer};
use crate::record::RequestRecord;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

/// Appends request records to a JSONL file.
#[derive(Debug)]
pub struct Journal {
    file: File,
}

impl Journal {
    /// Open (create or append to) the journal at `path`.
    pub fn open(path: &Path) -> std::io::Result<Journal> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Journal { file })
    }

    /// Append one record as one line and flush it to the OS.
    pub fn append(&mut self, r: &RequestRecord) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(r).map_err(std::io::Error::other)?;
        line.push(b'\n');
        // One write call per line keeps lines whole even if the process dies mid-run.
        self.file.write_all(&line)?;
        self.file.flush()
    }
}

impl Observer for Journal {
    fn on_event(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        match event {
            Event::RequestFinished(r) => self.append(r),
            Event::PhaseFinished { .. } => self.file.sync_data(),
            _ => Ok(()),
        }
    }
}

/// Read a journal back. A torn last line (from a crash) is skipped and counted.
pub fn read(path: &Path) -> std::io::Result<(Vec<RequestRecord>, usize)> {
    let mut out = Vec::new();
    let mut skipped = 0;
    for line in BufReader::new(File::open(path)?).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(&line) {
            Ok(r) => out.push(r),
            Err(_) => skipped += 1,
        }
    }
    Ok((out, skipped))
}
