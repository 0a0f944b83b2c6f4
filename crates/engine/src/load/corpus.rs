//! The source files simulated developers type through (`--corpus DIR`): every UTF-8 text file
//! under a directory, in path order. Nothing is copied into the project; by default the corpus
//! is the top level of the Python standard library the machine already has.

use std::path::{Path, PathBuf};

/// Files larger than this are skipped (generated code, data).
pub const MAX_FILE_BYTES: u64 = 512 * 1024;

/// Characters a corpus's characters-per-token rate is measured on (sessions, the context
/// ladder): short enough to fit any default context (Ollama's 2,048 tokens), so a server that
/// truncates cannot cut the measurement itself.
pub const SIZING_CHARS: usize = 4_000;

/// At most this many files are read.
pub const MAX_FILES: usize = 2_000;

/// A loaded corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct Corpus {
    /// The directory read.
    pub dir: PathBuf,
    /// `(path relative to dir, text)`, in path order.
    pub files: Vec<(String, String)>,
}

impl Corpus {
    /// The texts, in order.
    pub fn texts(&self) -> Vec<String> {
        self.files.iter().map(|(_, t)| t.clone()).collect()
    }

    /// The first [`SIZING_CHARS`] characters of the corpus: what characters per token are
    /// measured on.
    pub fn sample(&self) -> String {
        self.files
            .iter()
            .flat_map(|(_, t)| t.chars())
            .take(SIZING_CHARS)
            .collect()
    }

    /// Characters in all files.
    pub fn chars(&self) -> u64 {
        self.files
            .iter()
            .map(|(_, t)| t.chars().count() as u64)
            .sum()
    }
}

/// Why a corpus cannot be used; every message names the path and the fix.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// The directory cannot be read.
    #[error(
        "--corpus {path}: cannot read it ({source}): pass a readable directory of source files"
    )]
    Unreadable {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a directory.
    #[error("--corpus {0}: not a directory: pass a directory of source files")]
    NotADirectory(String),
    /// No text file with code in it.
    #[error("--corpus {0}: no text file with code in it: pass a directory of source files")]
    Empty(String),
    /// No default corpus on this machine.
    #[error(
        "no corpus given and no Python standard library found to type through ({0}): pass --corpus DIR"
    )]
    NoDefault(String),
}

/// Read every UTF-8 text file under `dir` (recursively, hidden entries skipped, files over
/// [`MAX_FILE_BYTES`] and non-UTF-8 files skipped, at most [`MAX_FILES`]). A file or directory
/// that cannot be read is an error naming it; a directory without a usable file is one too.
pub fn load(dir: &Path) -> Result<Corpus, CorpusError> {
    let shown = dir.display().to_string();
    let meta = std::fs::metadata(dir).map_err(|source| CorpusError::Unreadable {
        path: shown.clone(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(CorpusError::NotADirectory(shown));
    }
    let mut paths = Vec::new();
    walk(dir, &mut paths)?;
    paths.sort();
    let mut files = Vec::new();
    for p in paths {
        if files.len() >= MAX_FILES {
            break;
        }
        let bytes = std::fs::read(&p).map_err(|source| CorpusError::Unreadable {
            path: p.display().to_string(),
            source,
        })?;
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        if text.contains('\0') || !text.lines().any(|l| !l.trim().is_empty()) {
            continue;
        }
        let rel = p.strip_prefix(dir).unwrap_or(&p).display().to_string();
        files.push((rel, text));
    }
    if files.is_empty() {
        return Err(CorpusError::Empty(shown));
    }
    Ok(Corpus {
        dir: dir.to_path_buf(),
        files,
    })
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CorpusError> {
    let unreadable = |source| CorpusError::Unreadable {
        path: dir.display().to_string(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(unreadable)? {
        let entry = entry.map_err(unreadable)?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let meta = std::fs::metadata(&path).map_err(|source| CorpusError::Unreadable {
            path: path.display().to_string(),
            source,
        })?;
        if meta.is_dir() {
            walk(&path, out)?;
        } else if meta.is_file() && meta.len() <= MAX_FILE_BYTES {
            out.push(path);
        }
    }
    Ok(())
}

/// The default corpus: the top-level `.py` files of the Python standard library (asked of
/// `python3`), so nothing is shipped and nothing copied.
pub fn default_corpus() -> Result<Corpus, CorpusError> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .map_err(|e| CorpusError::NoDefault(format!("python3: {e}")))?;
    if !out.status.success() {
        return Err(CorpusError::NoDefault("python3 could not say where".into()));
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let entries = std::fs::read_dir(&dir)
        .map_err(|e| CorpusError::NoDefault(format!("{}: {e}", dir.display())))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() <= MAX_FILE_BYTES))
        .collect();
    paths.sort();
    let files: Vec<(String, String)> = paths
        .iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(p).ok()?;
            Some((p.file_name()?.to_string_lossy().into_owned(), text))
        })
        .collect();
    if files.is_empty() {
        return Err(CorpusError::NoDefault(format!(
            "{} has no .py file",
            dir.display()
        )));
    }
    Ok(Corpus { dir, files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_files_are_read_in_order_and_binary_or_blank_ones_skipped() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("pkg")).unwrap();
        std::fs::write(d.path().join("pkg/b.rs"), "fn main() {}\n").unwrap();
        std::fs::write(d.path().join("a.py"), "x = 1\n").unwrap();
        std::fs::write(d.path().join("blank.txt"), "\n\n").unwrap();
        std::fs::write(d.path().join("bin.dat"), [0xff, 0xfe, 0x00]).unwrap();
        std::fs::write(d.path().join(".hidden.py"), "y = 2\n").unwrap();
        let c = load(d.path()).unwrap();
        let names: Vec<&str> = c.files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a.py", "pkg/b.rs"]);
        assert_eq!(c.chars(), 6 + 13);
    }

    #[test]
    fn an_empty_or_missing_directory_is_an_error_naming_it() {
        let d = tempfile::tempdir().unwrap();
        let e = load(d.path()).unwrap_err().to_string();
        assert!(
            e.contains(&d.path().display().to_string()) && e.contains("--corpus"),
            "{e}"
        );
        let missing = d.path().join("nope");
        let e = load(&missing).unwrap_err().to_string();
        assert!(e.contains("nope") && e.contains("cannot read"), "{e}");
        let file = d.path().join("f.py");
        std::fs::write(&file, "x = 1\n").unwrap();
        assert!(
            load(&file)
                .unwrap_err()
                .to_string()
                .contains("not a directory")
        );
    }
}
