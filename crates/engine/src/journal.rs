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

/// `quality.jsonl`: every graded quality answer, appended and flushed as it is graded (and
/// again when a judge scores it). Created on the first one.
#[derive(Debug)]
pub struct QualityJournal {
    path: std::path::PathBuf,
    file: Option<File>,
}

impl QualityJournal {
    /// A journal that will write to `path`.
    pub fn new(path: &Path) -> QualityJournal {
        QualityJournal {
            path: path.to_path_buf(),
            file: None,
        }
    }
}

impl Observer for QualityJournal {
    fn on_event(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        let Event::TaskGraded(r) = event else {
            return Ok(());
        };
        if self.file.is_none() {
            self.file = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        let mut line = serde_json::to_vec(r).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let f = self.file.as_mut().expect("opened above");
        f.write_all(&line)?;
        f.flush()
    }
}

/// Read `requests.jsonl` back. A torn last line (from a crash) is skipped and counted.
pub fn read(path: &Path) -> std::io::Result<(Vec<RequestRecord>, usize)> {
    read_lines(path)
}

/// Read any journal back (`requests.jsonl`, `quality.jsonl`): one JSON value per line, a torn
/// last line skipped and counted.
pub fn read_lines<T: serde::de::DeserializeOwned>(path: &Path) -> std::io::Result<(Vec<T>, usize)> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Outcome, Phase};
    use std::io::Write;
    use std::time::Duration;

    #[test]
    fn torn_last_line_is_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.jsonl");
        let mut j = Journal::open(&path).unwrap();
        let r = RequestRecord {
            sent_unix_s: 1.0,
            error: Some("slow".into()),
            ..RequestRecord::failed(
                "t",
                Phase::Cold,
                0,
                Outcome::Timeout,
                Duration::from_millis(3),
            )
        };
        j.append(&r).unwrap();
        j.append(&r).unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"target\": \"t\", \"pha").unwrap();
        let (recs, skipped) = read(&path).unwrap();
        assert_eq!((recs.len(), skipped), (2, 1));
        assert_eq!(recs[0], r);
    }
}
