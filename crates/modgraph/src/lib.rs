//! The module graph of a crate as its source references it, for `make lint`'s cycle check.
//!
//! cargo-modules (what the check used before) draws an edge only for a `use` statement, so a
//! cycle through an inline path — `super::autocomplete::AutocompleteReport` in a field's type,
//! `super::sessions_doc::section(…)` in a call, `super::ladder::TRUNCATED_BELOW` in a constant —
//! passed it. Here every module file is parsed with `syn`, and an edge is drawn for:
//! - every `use` (its names and aliases, globs included), and
//! - every path of two or more segments anywhere else in the module's items — types, calls,
//!   constants, patterns, attributes, and macro arguments, which are scanned as tokens.
//!
//! A path is resolved by Rust's rules for the names this can see: `crate`, `self`, `super`, the
//! module's child modules, its `use` names and glob imports, and the items it defines;
//! re-exports are followed to the module that defines the item, so `use super::Report` in a
//! child of `report` points at `report::model` when `report` only re-exports it. A path that
//! leaves the crate (std, another crate) draws no edge. `#[cfg(test)]` items are skipped: test
//! modules use their parent by design.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// A module of the crate, by index into [`Graph::modules`].
pub type ModId = usize;

/// Why a crate could not be read.
#[derive(Debug)]
pub enum Error {
    /// A module file could not be read.
    Read(PathBuf, std::io::Error),
    /// A module file is not valid Rust.
    Parse(PathBuf, syn::Error),
    /// `mod name;` with neither `name.rs` nor `name/mod.rs` beside it.
    Missing(PathBuf, String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Read(p, e) => write!(f, "cannot read {}: {e}", p.display()),
            Error::Parse(p, e) => {
                let at = e.span().start();
                write!(f, "{}:{}: {e}", p.display(), at.line)
            }
            Error::Missing(p, m) => write!(
                f,
                "{}: `mod {m};` has no file: write {m}.rs or {m}/mod.rs",
                p.display()
            ),
        }
    }
}

impl std::error::Error for Error {}

/// One module: where it is, what it names, and the paths it references.
#[derive(Debug, Default)]
pub struct Module {
    /// `crate::a::b` as `["a", "b"]` (the root is empty).
    pub path: Vec<String>,
    /// The file it is written in.
    pub file: PathBuf,
    parent: Option<ModId>,
    children: BTreeMap<String, ModId>,
    /// `use` names: the name in this module → the path as written.
    imports: BTreeMap<String, Vec<String>>,
    /// `use x::*` sources, as written.
    globs: Vec<Vec<String>>,
    /// Items this module defines (types, functions, constants, macros, …).
    items: BTreeSet<String>,
    /// Paths as written, with their line.
    refs: Vec<(Vec<String>, usize)>,
}

impl Module {
    /// `crate::a::b`, for messages.
    pub fn name(&self) -> String {
        std::iter::once("crate")
            .chain(self.path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("::")
    }
}

/// A reference that makes an edge: where it is and what it says.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Via {
    /// The file and line of the reference.
    pub file: PathBuf,
    /// Its line.
    pub line: usize,
    /// The path as written (`super::ladder::TRUNCATED_BELOW`).
    pub path: String,
}

/// A crate's modules and the edges between them.
#[derive(Debug, Default)]
pub struct Graph {
    /// Every module, the root first.
    pub modules: Vec<Module>,
    /// `from → to` with the first reference that draws it.
    pub edges: BTreeMap<(ModId, ModId), Via>,
}

/// Read the crate whose root file (`lib.rs`, `main.rs`) is `root`.
pub fn read(root: &Path) -> Result<Graph, Error> {
    let mut g = Graph::default();
    let dir = root.parent().unwrap_or(Path::new(".")).to_path_buf();
    load(&mut g, root, dir, Vec::new(), None)?;
    for m in 0..g.modules.len() {
        let refs = std::mem::take(&mut g.modules[m].refs);
        for (segs, line) in &refs {
            if let Some(t) = g.resolve(m, segs, 0)
                && t != m
            {
                g.edges.entry((m, t)).or_insert_with(|| Via {
                    file: g.modules[m].file.clone(),
                    line: *line,
                    path: segs.join("::"),
                });
            }
        }
        g.modules[m].refs = refs;
    }
    Ok(g)
}

fn load(
    g: &mut Graph,
    file: &Path,
    dir: PathBuf,
    path: Vec<String>,
    parent: Option<ModId>,
) -> Result<ModId, Error> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::Read(file.to_path_buf(), e))?;
    let ast = syn::parse_file(&text).map_err(|e| Error::Parse(file.to_path_buf(), e))?;
    add_module(g, file, dir, path, parent, &ast.items)
}

fn add_module(
    g: &mut Graph,
    file: &Path,
    dir: PathBuf,
    path: Vec<String>,
    parent: Option<ModId>,
    items: &[syn::Item],
) -> Result<ModId, Error> {
    let id = g.modules.len();
    g.modules.push(Module {
        path: path.clone(),
        file: file.to_path_buf(),
        parent,
        ..Module::default()
    });
    for item in items {
        if cfg_test(item_attrs(item)) {
            continue;
        }
        match item {
            syn::Item::Mod(m) => {
                let name = m.ident.to_string();
                let mut child_path = path.clone();
                child_path.push(name.clone());
                let child = match &m.content {
                    Some((_, inner)) => {
                        add_module(g, file, dir.join(&name), child_path, Some(id), inner)?
                    }
                    None => {
                        let flat = dir.join(format!("{name}.rs"));
                        let nested = dir.join(&name).join("mod.rs");
                        let f = if flat.exists() {
                            flat
                        } else if nested.exists() {
                            nested
                        } else {
                            return Err(Error::Missing(file.to_path_buf(), name));
                        };
                        load(g, &f, dir.join(&name), child_path, Some(id))?
                    }
                };
                g.modules[id].children.insert(name, child);
            }
            syn::Item::Use(u) => {
                let (mut imports, mut globs) = (Vec::new(), Vec::new());
                flatten_use(&u.tree, Vec::new(), &mut imports, &mut globs);
                let line = u.use_token.span.start().line;
                let m = &mut g.modules[id];
                for (name, p) in imports {
                    m.refs.push((p.clone(), line));
                    if name != "_" {
                        m.imports.insert(name, p);
                    }
                }
                for p in globs {
                    m.refs.push((p.clone(), line));
                    m.globs.push(p);
                }
            }
            other => {
                if let Some(name) = item_name(other) {
                    g.modules[id].items.insert(name);
                }
                let tokens = quote_item(other);
                scan(tokens, &mut g.modules[id].refs);
            }
        }
    }
    Ok(id)
}

impl Graph {
    /// The module that defines what `segs` (written in module `m`) names; `None` outside the
    /// crate.
    fn resolve(&self, m: ModId, segs: &[String], depth: u32) -> Option<ModId> {
        if depth > 32 || segs.is_empty() {
            return None;
        }
        let (mut at, mut rest) = (m, segs);
        match segs[0].as_str() {
            "crate" => (at, rest) = (0, &segs[1..]),
            "self" => rest = &segs[1..],
            "super" => {
                while let Some(s) = rest.first()
                    && s == "super"
                {
                    at = self.modules[at].parent?;
                    rest = &rest[1..];
                }
            }
            "Self" => return None,
            // A name in scope; one this module does not know is outside the crate (std, a
            // dependency, a generic parameter).
            _ => return self.lookup(m, segs, depth).flatten(),
        }
        self.walk(at, rest, depth)
    }

    /// Follow `segs` down from module `at`; a name `at` does not know is something defined in
    /// it that this does not track (an enum variant, an associated item).
    fn walk(&self, at: ModId, segs: &[String], depth: u32) -> Option<ModId> {
        match segs.first().map(String::as_str) {
            None => Some(at),
            Some("self") => self.walk(at, &segs[1..], depth),
            Some(_) => self.lookup(at, segs, depth).unwrap_or(Some(at)),
        }
    }

    /// What `segs[0]` means in module `at`: `None` when `at` does not know the name,
    /// `Some(None)` when it names something outside the crate, `Some(Some(m))` for module `m`.
    fn lookup(&self, at: ModId, segs: &[String], depth: u32) -> Option<Option<ModId>> {
        let module = &self.modules[at];
        let (first, rest) = (&segs[0], &segs[1..]);
        if let Some(&child) = module.children.get(first) {
            return Some(self.walk(child, rest, depth));
        }
        if let Some(target) = module.imports.get(first) {
            let mut full = target.clone();
            full.extend(rest.iter().cloned());
            return Some(self.resolve(at, &full, depth + 1));
        }
        if module.items.contains(first) {
            return Some(Some(at));
        }
        for glob in &module.globs {
            if let Some(src) = self.resolve(at, glob, depth + 1)
                && src != at
                && self.names(src, first)
            {
                return self.lookup(src, segs, depth + 1);
            }
        }
        None
    }

    /// Whether module `m` has `name` as a child, an import or an item of its own.
    fn names(&self, m: ModId, name: &str) -> bool {
        let module = &self.modules[m];
        module.children.contains_key(name)
            || module.imports.contains_key(name)
            || module.items.contains(name)
    }

    /// Every cycle (strongly connected component of two or more modules), each as its modules
    /// in a loop order with the reference that draws each edge of the loop.
    pub fn cycles(&self) -> Vec<Vec<(ModId, Via)>> {
        let n = self.modules.len();
        let mut out = Vec::new();
        for scc in tarjan(n, &self.edges) {
            if scc.len() < 2 {
                continue;
            }
            let members: BTreeSet<ModId> = scc.iter().copied().collect();
            // A shortest loop through the component's first module (breadth-first).
            let start = *members.iter().next().unwrap_or(&0);
            let mut prev: BTreeMap<ModId, ModId> = BTreeMap::new();
            let mut queue = std::collections::VecDeque::from([start]);
            let mut closing = None;
            'bfs: while let Some(u) = queue.pop_front() {
                for (&(a, b), _) in self.edges.range((u, 0)..=(u, usize::MAX)) {
                    debug_assert_eq!(a, u);
                    if !members.contains(&b) {
                        continue;
                    }
                    if b == start {
                        closing = Some(u);
                        break 'bfs;
                    }
                    if let std::collections::btree_map::Entry::Vacant(e) = prev.entry(b) {
                        e.insert(u);
                        queue.push_back(b);
                    }
                }
            }
            let Some(mut u) = closing else { continue };
            let mut loop_ = vec![u];
            while u != start {
                u = prev[&u];
                loop_.push(u);
            }
            loop_.reverse();
            let cycle = loop_
                .iter()
                .enumerate()
                .map(|(i, &a)| {
                    let b = loop_[(i + 1) % loop_.len()];
                    (a, self.edges[&(a, b)].clone())
                })
                .collect();
            out.push(cycle);
        }
        out
    }

    /// A cycle in words: each edge of the loop with the reference that draws it, then every
    /// module caught in the same tangle.
    pub fn describe(&self, cycle: &[(ModId, Via)]) -> String {
        let mut s = String::new();
        for (i, (m, via)) in cycle.iter().enumerate() {
            let next = cycle[(i + 1) % cycle.len()].0;
            s.push_str(&format!(
                "\n  {} -> {}  ({}:{} `{}`)",
                self.modules[*m].name(),
                self.modules[next].name(),
                via.file.display(),
                via.line,
                via.path
            ));
        }
        let tangle = self.tangle(cycle[0].0);
        if tangle.len() > cycle.len() {
            s.push_str(&format!(
                "\n  the loop is part of a tangle of {} modules that reach each other; its references:",
                tangle.len()
            ));
            for ((a, b), via) in &self.edges {
                if tangle.contains(a) && tangle.contains(b) {
                    s.push_str(&format!(
                        "\n    {} -> {}  ({}:{} `{}`)",
                        self.modules[*a].name(),
                        self.modules[*b].name(),
                        via.file.display(),
                        via.line,
                        via.path
                    ));
                }
            }
        }
        s
    }

    /// The modules in `m`'s strongly connected component.
    pub fn tangle(&self, m: ModId) -> Vec<ModId> {
        let mut scc = tarjan(self.modules.len(), &self.edges)
            .into_iter()
            .find(|c| c.contains(&m))
            .unwrap_or_default();
        scc.sort_unstable();
        scc
    }
}

/// Strongly connected components (Tarjan), iteratively.
fn tarjan(n: usize, edges: &BTreeMap<(ModId, ModId), Via>) -> Vec<Vec<ModId>> {
    let mut adj = vec![Vec::new(); n];
    for &(a, b) in edges.keys() {
        adj[a].push(b);
    }
    let (mut index, mut low, mut on) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut stack, mut out, mut next) = (Vec::new(), Vec::new(), 0);
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut call = vec![(root, 0usize)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on[root] = true;
        while let Some(&mut (v, ref mut i)) = call.last_mut() {
            if let Some(&w) = adj[v].get(*i) {
                *i += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on[w] = true;
                    call.push((w, 0));
                } else if on[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(u, _)) = call.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                let mut scc = Vec::new();
                while let Some(w) = stack.pop() {
                    on[w] = false;
                    scc.push(w);
                    if w == v {
                        break;
                    }
                }
                out.push(scc);
            }
        }
    }
    out
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    use syn::Item::*;
    match item {
        Const(i) => &i.attrs,
        Enum(i) => &i.attrs,
        ExternCrate(i) => &i.attrs,
        Fn(i) => &i.attrs,
        ForeignMod(i) => &i.attrs,
        Impl(i) => &i.attrs,
        Macro(i) => &i.attrs,
        Mod(i) => &i.attrs,
        Static(i) => &i.attrs,
        Struct(i) => &i.attrs,
        Trait(i) => &i.attrs,
        TraitAlias(i) => &i.attrs,
        Type(i) => &i.attrs,
        Union(i) => &i.attrs,
        Use(i) => &i.attrs,
        _ => &[],
    }
}

/// `#[cfg(test)]` (alone: `cfg(any(test, …))` is kept).
fn cfg_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
    })
}

fn item_name(item: &syn::Item) -> Option<String> {
    use syn::Item::*;
    let ident = match item {
        Const(i) => &i.ident,
        Enum(i) => &i.ident,
        Fn(i) => &i.sig.ident,
        Macro(i) => i.ident.as_ref()?,
        Static(i) => &i.ident,
        Struct(i) => &i.ident,
        Trait(i) => &i.ident,
        TraitAlias(i) => &i.ident,
        Type(i) => &i.ident,
        Union(i) => &i.ident,
        _ => return None,
    };
    Some(ident.to_string())
}

/// The item printed back to tokens (syn's `printing`), the one way to scan every path in it,
/// macro arguments included, without a visitor per syntax node.
fn quote_item(item: &syn::Item) -> TokenStream {
    quote::ToTokens::to_token_stream(item)
}

/// `use` trees as (name in scope, path) pairs and glob sources.
fn flatten_use(
    tree: &syn::UseTree,
    prefix: Vec<String>,
    imports: &mut Vec<(String, Vec<String>)>,
    globs: &mut Vec<Vec<String>>,
) {
    match tree {
        syn::UseTree::Path(p) => {
            let mut prefix = prefix;
            prefix.push(p.ident.to_string());
            flatten_use(&p.tree, prefix, imports, globs);
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            let mut path = prefix;
            // `use a::b::{self}` names `b`.
            let name = if name == "self" {
                path.last().cloned().unwrap_or_default()
            } else {
                path.push(name.clone());
                name
            };
            imports.push((name, path));
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix;
            if r.ident != "self" {
                path.push(r.ident.to_string());
            }
            imports.push((r.rename.to_string(), path));
        }
        syn::UseTree::Glob(_) => globs.push(prefix),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                flatten_use(t, prefix.clone(), imports, globs);
            }
        }
    }
}

/// Every path of two or more segments in `tokens` (`a::b`, `super::c::D`), with its line. A
/// path written with a leading `::` is outside the crate and skipped.
fn scan(tokens: TokenStream, out: &mut Vec<(Vec<String>, usize)>) {
    let flat: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < flat.len() {
        if let TokenTree::Group(g) = &flat[i] {
            if g.delimiter() != Delimiter::None || !g.stream().is_empty() {
                scan(g.stream(), out);
            }
            i += 1;
            continue;
        }
        let leading = i >= 2 && is_colon2(&flat, i - 2);
        if let TokenTree::Ident(first) = &flat[i]
            && !leading
        {
            let line = first.span().start().line;
            let mut segs = vec![first.to_string()];
            let mut j = i + 1;
            while is_colon2(&flat, j) {
                match flat.get(j + 2) {
                    Some(TokenTree::Ident(next)) => {
                        segs.push(next.to_string());
                        j += 3;
                    }
                    _ => break,
                }
            }
            if segs.len() >= 2 {
                out.push((segs, line));
                i = j;
                continue;
            }
        }
        i += 1;
    }
}

fn is_colon2(t: &[TokenTree], i: usize) -> bool {
    matches!(
        (t.get(i), t.get(i + 1)),
        (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
            if a.as_char() == ':' && b.as_char() == ':' && a.spacing() == proc_macro2::Spacing::Joint
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(src: &str) -> Vec<String> {
        let mut out = Vec::new();
        scan(src.parse().unwrap(), &mut out);
        out.into_iter().map(|(p, _)| p.join("::")).collect()
    }

    #[test]
    fn paths_are_found_in_types_calls_constants_and_macro_arguments() {
        assert_eq!(
            paths(
                "struct S { a: Option<super::x::A> } fn f() { super::y::g(); format!(\"{}\", super::z::C); }"
            ),
            ["super::x::A", "super::y::g", "super::z::C"]
        );
        // `::std::x` leaves the crate; a turbofish ends the path.
        assert_eq!(paths("::std::mem::take(a); Vec::<u8>::new()"), ["Vec"; 0]);
    }
}
