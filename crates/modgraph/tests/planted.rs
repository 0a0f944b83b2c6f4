//! The cycle check on a scratch copy of the real core crate: clean as it is, and failing on a
//! cycle planted through a `use` statement and through inline paths only (a type, a call inside
//! a macro, a constant) — the kinds cargo-modules did not see.

use std::path::{Path, PathBuf};
use std::process::Command;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A scratch copy of `crates/core/src` with `planted` appended to `stats.rs` (which the report
/// depends on), and its root file.
fn scratch(planted: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/src");
    copy_dir(&src, dir.path());
    let stats = dir.path().join("stats.rs");
    let mut text = std::fs::read_to_string(&stats).unwrap();
    text.push_str(planted);
    std::fs::write(&stats, text).unwrap();
    let root = dir.path().join("lib.rs");
    (dir, root)
}

fn check(root: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_servebench-modgraph"))
        .arg(root)
        .output()
        .unwrap()
}

#[test]
fn the_real_crates_have_no_cycle() {
    let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for root in ["core/src/lib.rs", "engine/src/lib.rs", "cli/src/main.rs"] {
        let out = check(&base.join(root));
        assert!(
            out.status.success(),
            "{root}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (_dir, root) = scratch("");
    assert!(check(&root).status.success());
}

#[test]
fn a_cycle_through_a_use_statement_fails() {
    let (_dir, root) = scratch("\n#[allow(unused_imports)]\nuse crate::report::Report;\n");
    let out = check(&root);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("crate::stats -> crate::report::model"),
        "{err}"
    );
    assert!(err.contains("`crate::report::Report`"), "{err}");
}

#[test]
fn cycles_through_inline_paths_only_fail() {
    for (planted, path) in [
        (
            "\npub fn planted() -> Option<crate::report::Report> { None }\n",
            "crate::report::Report",
        ),
        (
            "\npub fn planted() -> String { format!(\"{}\", super::report::phase_doc::reasoning_line(\"\", &Default::default()).unwrap_or_default()) }\n",
            "super::report::phase_doc::reasoning_line",
        ),
        (
            "\npub const PLANTED: u32 = crate::report::SCHEMA_VERSION;\n",
            "crate::report::SCHEMA_VERSION",
        ),
    ] {
        let (_dir, root) = scratch(planted);
        let text = std::fs::read_to_string(root.with_file_name("stats.rs")).unwrap();
        assert!(
            !text.contains("use crate::report"),
            "planted through a path only"
        );
        let out = check(&root);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{planted}: {err}");
        assert!(err.contains(&format!("`{path}`")), "{planted}: {err}");
    }
}

#[test]
fn a_missing_module_file_is_named() {
    let (dir, root) = scratch("");
    std::fs::remove_file(dir.path().join("text.rs")).unwrap();
    let out = check(&root);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`mod text;` has no file"), "{err}");
}
