//! The loader's modules import downwards only: the runtime (`vm`) knows nothing above it, the
//! artifact layer nothing of the embedding API, and the API nothing of WASI, the interpreter
//! or the spec-script runner, which are built on it.

use std::collections::HashMap;
use std::path::Path;

/// Each layer may use the layers at or below its rank.
const LAYERS: &[(&str, u32)] = &[
    ("vm", 0),
    ("error", 1),
    ("artifact", 2),
    ("api", 3),
    ("wasi", 4),
    ("interp", 5),
    ("wast", 6),
];

fn rank(layer: &str) -> Option<u32> {
    LAYERS.iter().find(|(l, _)| *l == layer).map(|(_, r)| *r)
}

/// Crates whose names the root re-exports.
const OTHER_CRATES: &[&str] = &["runtime_support", "wasmparser"];

/// The layer of each name the crate root re-exports (`pub use api::store::Store;`); `None` for
/// another crate's.
fn root_names(lib_rs: &str) -> HashMap<String, Option<String>> {
    let mut names = HashMap::new();
    for statement in lib_rs.split(';') {
        let Some(at) = statement.find("pub use ") else {
            continue;
        };
        let path: String = statement[at + "pub use ".len()..]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let path = path
            .trim_start_matches("crate::")
            .trim_start_matches("self::");
        let first = path.split("::").next().unwrap_or("").to_string();
        let layer = match rank(&first) {
            Some(_) => Some(first),
            None if OTHER_CRATES.contains(&first.as_str()) => None,
            None => panic!("lib.rs re-exports from `{first}`, which is neither a layer nor known"),
        };
        let items = match (path.find('{'), path.rfind('}')) {
            (Some(a), Some(b)) => path[a + 1..b].to_string(),
            _ => path.rsplit("::").next().unwrap_or("").to_string(),
        };
        for item in items.split(',') {
            let name = item.trim().rsplit(" as ").next().unwrap_or("").trim();
            if !name.is_empty() {
                names.insert(name.to_string(), layer.clone());
            }
        }
    }
    names
}

/// The first name of every path that starts with `crate::`, including each item of a
/// `crate::{a, b::c}` group.
fn crate_paths(source: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Items at the group's top level: split on commas outside nested braces.
            let (mut depth, mut start, mut end) = (0, 0, group.len());
            let mut items = Vec::new();
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        end = j;
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(&group[start..j]);
                        start = j + 1;
                    }
                    _ => {}
                }
            }
            items.push(&group[start..end]);
            out.extend(
                items
                    .iter()
                    .map(|s| ident(s.trim()))
                    .filter(|s| !s.is_empty()),
            );
        } else {
            out.push(ident(rest));
        }
    }
    out
}

/// The first name after every `super::` chain that climbs to the crate root from the module
/// of file `rel` (`vm/mod.rs` is `vm`, `vm/a.rs` is `vm::a`).
fn root_paths_through_super(rel: &str, source: &str) -> Vec<String> {
    let depth = rel.trim_end_matches("/mod.rs").split('/').count();
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(i) = rest.find("super::") {
        let before = rest[..i].chars().last();
        rest = &rest[i..];
        let mut ups = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            rest = r;
            ups += 1;
        }
        // `x::super::` is not a path from this module.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') || ups < depth {
            continue;
        }
        out.push(
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect(),
        );
    }
    out
}

/// Every upward import under `src`: `(file, the layer it names)`, and how many files and
/// paths to the crate root were read.
fn scan(src: &Path) -> (Vec<(String, String)>, usize, usize) {
    let names = root_names(&std::fs::read_to_string(src.join("lib.rs")).unwrap());
    let mut found = Vec::new();
    let (mut file_count, mut path_count) = (0, 0);
    let mut files = vec![src.to_path_buf()];
    while let Some(p) = files.pop() {
        if p.is_dir() {
            files.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if p.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = p.strip_prefix(src).unwrap().to_string_lossy().to_string();
        let layer = rel.split('/').next().unwrap().trim_end_matches(".rs");
        let Some(own) = rank(layer) else {
            assert_eq!(rel, "lib.rs", "a module in no layer: add it to LAYERS");
            continue;
        };
        let source = std::fs::read_to_string(&p).unwrap();
        file_count += 1;
        let mut paths = crate_paths(&source);
        paths.extend(root_paths_through_super(&rel, &source));
        path_count += paths.len();
        for name in paths {
            let target = match rank(&name) {
                Some(_) => name,
                None => match names.get(&name) {
                    Some(Some(l)) => l.clone(),
                    Some(None) => continue,
                    None => panic!("{rel}: `crate::{name}` is neither a layer nor re-exported"),
                },
            };
            if rank(&target).unwrap() > own {
                found.push((rel.clone(), target));
            }
        }
    }
    found.sort();
    found.dedup();
    (found, file_count, path_count)
}

fn upward_imports(src: &Path) -> Vec<(String, String)> {
    scan(src).0
}

#[test]
fn the_loader_imports_only_downwards() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../loader/src");
    let (upward, files, paths) = scan(&src);
    assert_eq!(upward, Vec::<(String, String)>::new());
    // Not vacuous: the loader's files and their paths were read (60 and 278 when written).
    assert!(files >= 50 && paths >= 200, "{files} files, {paths} paths");
}

#[test]
fn an_upward_import_is_found_however_it_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("vm")).unwrap();
    std::fs::create_dir_all(src.join("api")).unwrap();
    std::fs::write(
        src.join("lib.rs"),
        "mod api;\nmod vm;\npub use api::store::{Store, Tag as T};\npub use vm::traps::Trap;\n",
    )
    .unwrap();
    std::fs::write(src.join("api/store.rs"), "use crate::vm::traps::Trap;\n").unwrap();
    std::fs::write(
        src.join("vm/traps.rs"),
        "use crate::vm::x;\nfn f() -> crate::Trap {}\n",
    )
    .unwrap();
    assert!(upward_imports(src).is_empty());
    std::fs::write(src.join("vm/a.rs"), "use crate::{vm::x, Store};\n").unwrap();
    std::fs::write(src.join("vm/b.rs"), "fn f(t: crate::api::store::Tag) {}\n").unwrap();
    std::fs::write(src.join("vm/c.rs"), "use crate::{vm::{x, y}, T};\n").unwrap();
    // Within its layer, `super::` is harmless; climbing to the root and into `api` is not.
    std::fs::create_dir_all(src.join("vm/deep")).unwrap();
    std::fs::write(src.join("vm/deep/d.rs"), "use super::super::x;\n").unwrap();
    std::fs::write(src.join("vm/mod.rs"), "use super::api::store::Store;\n").unwrap();
    std::fs::write(src.join("vm/e.rs"), "use super::super::api::X;\n").unwrap();
    assert_eq!(
        upward_imports(src),
        vec![
            ("vm/a.rs".to_string(), "api".to_string()),
            ("vm/b.rs".to_string(), "api".to_string()),
            ("vm/c.rs".to_string(), "api".to_string()),
            ("vm/e.rs".to_string(), "api".to_string()),
            ("vm/mod.rs".to_string(), "api".to_string()),
        ]
    );
}
