//! The house holds: the core's modules import one another in no circle, and the CLI and the app
//! use the façade (`Library`, its value types and `setup`), never the rooms behind it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common::repo;

/// Every `.rs` file under `dir`, recursively.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("reads the folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// A source file's module path (`ingest::decode::jpeg`; the crate root is empty).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code of a file without its comments (a path in a doc comment is not an import).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Paths of the form `start::a::b` in `code` (identifiers only).
fn paths_after(code: &str, start: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(start) {
        let before_ok = at == 0 || {
            let c = rest.as_bytes()[at - 1];
            !(c.is_ascii_alphanumeric() || c == b'_' || c == b':')
        };
        rest = &rest[at + start.len()..];
        if !before_ok {
            continue;
        }
        let mut segments = Vec::new();
        for s in rest.split("::") {
            let ident: String = s
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if ident.is_empty() {
                break;
            }
            let whole = ident.len() == s.len();
            segments.push(ident);
            if !whole {
                break; // `name(…`, `name;`: the path ends here
            }
        }
        out.push(segments);
    }
    out
}

#[test]
fn the_core_s_modules_import_one_another_in_no_circle() {
    let src = repo().join("core/src");
    let files = sources(&src);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&src, f)).collect();
    // The longest module a path names.
    let resolve = |path: &[String]| -> Option<Vec<String>> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|m| modules.contains(m))
    };
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for file in &files {
        let from = module_of(&src, file);
        let text = code(&std::fs::read_to_string(file).expect("reads"));
        let mut targets = Vec::new();
        for path in paths_after(&text, "crate::") {
            targets.extend(resolve(&path));
        }
        for path in paths_after(&text, "super::") {
            let mut base = from.clone();
            base.pop();
            base.extend(path);
            targets.extend(resolve(&base));
        }
        for target in targets {
            // A module may use what the modules above it hold (a room's shared types); a
            // circle is between modules side by side.
            if target != from && !from.starts_with(&target) {
                edges.entry(from.clone()).or_default().insert(target);
            }
        }
    }
    // Depth-first search for a back edge; the circle found is printed.
    fn visit(
        node: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        state.insert(node.clone(), 1);
        stack.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next) {
                Some(1) => {
                    let at = stack.iter().position(|n| n == next).expect("on the stack");
                    let mut circle = stack[at..].to_vec();
                    circle.push(next.clone());
                    return Some(circle);
                }
                Some(_) => {}
                None => {
                    if let Some(circle) = visit(next, edges, state, stack) {
                        return Some(circle);
                    }
                }
            }
        }
        stack.pop();
        state.insert(node.clone(), 2);
        None
    }
    assert!(edges.len() > 20, "the graph was read: {edges:?}");
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if !state.contains_key(node) {
            let circle = visit(node, &edges, &mut state, &mut Vec::new());
            let names: Option<Vec<String>> =
                circle.map(|c| c.iter().map(|m| m.join("::")).collect());
            assert_eq!(names, None, "an import circle");
        }
    }
}

#[test]
fn the_cli_and_the_app_use_only_the_facade() {
    let rooms = ["ingest", "store", "model", "query", "library", "memory"];
    let mut checked = 0;
    for dir in ["src", "src-tauri/src", "src-tauri/tests"] {
        for file in sources(&repo().join(dir)) {
            let text = code(&std::fs::read_to_string(&file).expect("reads"));
            for path in paths_after(&text, "clipstream_core::") {
                let first = path.first().map(String::as_str).unwrap_or("");
                assert!(
                    !rooms.contains(&first),
                    "{} reaches past the façade: clipstream_core::{}",
                    file.display(),
                    path.join("::")
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 10, "{checked} paths checked");
}
