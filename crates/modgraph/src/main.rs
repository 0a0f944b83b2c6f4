//! `modgraph ROOT.rs…`: fail when a crate's modules reference each other in a cycle (see the
//! library's doc for what counts as a reference). Exit 0: no cycle; 1: a cycle, each printed
//! with the file, line and path of every edge in it; 2: a file could not be read.

fn main() {
    let roots: Vec<String> = std::env::args().skip(1).collect();
    if roots.is_empty() {
        eprintln!("modgraph: name each crate's root file: modgraph crates/core/src/lib.rs …");
        std::process::exit(2);
    }
    let mut status = 0;
    for root in &roots {
        let graph = match servebench_modgraph::read(std::path::Path::new(root)) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("modgraph: {e}");
                std::process::exit(2);
            }
        };
        let cycles = graph.cycles();
        if cycles.is_empty() {
            println!(
                "{root}: {} modules, {} module references, no cycle",
                graph.modules.len(),
                graph.edges.len()
            );
        } else {
            status = 1;
            for c in &cycles {
                eprintln!("module cycle in {root}:{}", graph.describe(c));
            }
        }
    }
    std::process::exit(status);
}
