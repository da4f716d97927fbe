//! The security review, kept as tests so it stays true: what the webview may do (capabilities),
//! what it may load (CSP, the UI's own files), and how SQL and external programs are called.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("src-tauri/ lives in the repo root")
        .to_path_buf()
}

fn json(path: &str) -> Value {
    let text = std::fs::read_to_string(repo().join(path)).expect("readable");
    serde_json::from_str(&text).expect("valid JSON")
}

/// The command names build.rs declares (each needs an explicit grant).
fn declared_commands() -> Vec<String> {
    let build = std::fs::read_to_string(repo().join("src-tauri/build.rs")).expect("build.rs");
    let list = build
        .split_once("const COMMANDS: &[&str] = &[")
        .and_then(|(_, rest)| rest.split_once("];"))
        .expect("COMMANDS list")
        .0;
    list.split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn the_webview_is_granted_the_apps_commands_and_event_listening_only() {
    let capability = json("src-tauri/capabilities/default.json");
    assert_eq!(capability["windows"], serde_json::json!(["main"]));
    assert!(
        capability.get("remote").is_none(),
        "no remote origin may call commands"
    );
    let mut granted: Vec<String> = capability["permissions"]
        .as_array()
        .expect("permissions")
        .iter()
        .map(|p| p.as_str().expect("plain permission names").to_string())
        .collect();
    let mut expected: Vec<String> = declared_commands()
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .chain([
            "core:event:allow-listen".into(),
            "core:event:allow-unlisten".into(),
        ])
        .collect();
    granted.sort();
    expected.sort();
    assert_eq!(granted, expected);
    assert_eq!(declared_commands().len(), 24);

    let conf = json("src-tauri/tauri.conf.json");
    assert_eq!(
        conf["app"]["security"]["capabilities"],
        serde_json::json!(["default"])
    );
    for risky in [
        "assetProtocol",
        "dangerousDisableAssetCspModification",
        "devCsp",
    ] {
        assert!(
            conf["app"]["security"].get(risky).is_none(),
            "{risky} is set"
        );
    }
    assert_eq!(
        conf["build"]["frontendDist"], "../ui",
        "the UI is the local folder"
    );
    assert!(conf["build"].get("devUrl").is_none(), "no dev server URL");
}

#[test]
fn the_csp_allows_only_the_apps_own_content() {
    let conf = json("src-tauri/tauri.conf.json");
    let csp = conf["app"]["security"]["csp"]
        .as_str()
        .expect("a CSP string");
    let allowed_sources = [
        "'self'",
        "'none'",
        "thumb:",
        "preview:",
        "http://thumb.localhost",
        "http://preview.localhost",
        "ipc:",
        "http://ipc.localhost",
    ];
    let mut directives = std::collections::HashMap::new();
    for directive in csp.split(';').map(str::trim).filter(|d| !d.is_empty()) {
        let mut parts = directive.split_whitespace();
        let name = parts.next().expect("directive name");
        let sources: Vec<&str> = parts.collect();
        for s in &sources {
            assert!(allowed_sources.contains(s), "{name} allows {s}");
        }
        directives.insert(name, sources);
    }
    assert_eq!(directives["default-src"], ["'self'"]);
    assert_eq!(
        directives["script-src"],
        ["'self'"],
        "no inline or eval'd script"
    );
    assert_eq!(directives["style-src"], ["'self'"]);
    for name in ["object-src", "base-uri", "form-action"] {
        assert_eq!(directives[name], ["'none'"], "{name}");
    }
}

#[test]
fn the_ui_loads_nothing_remote_and_evaluates_no_strings() {
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("ui")).expect("ui/") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("text");
        for banned in [
            "http://",
            "https://",
            "//cdn",
            "<iframe",
            "eval(",
            "new Function",
            "<script>",
        ] {
            assert!(
                !text.contains(banned),
                "{} contains {banned:?}",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(checked >= 4, "ui/ has its html, css and scripts");
}

/// Every Rust source file of the product (not tests), in every folder below the sources.
fn product_sources() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).expect("source dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source");
                out.push((path, text));
            }
        }
    }
    let mut out = Vec::new();
    for dir in ["core/src", "src", "src-tauri/src"] {
        walk(&repo().join(dir), &mut out);
    }
    out.sort();
    out
}

#[test]
fn sql_is_never_built_from_strings_and_no_shell_runs() {
    let sql_words = [
        "SELECT ", "INSERT ", "UPDATE ", "DELETE ", "CREATE ", "DROP ", "PRAGMA ",
    ];
    let sources = product_sources();
    // The rooms' folders included (ingest/decode/, model/import/, …): all of it.
    assert!(sources.len() > 45, "{} files", sources.len());
    for deep in [
        "ingest/decode/heif.rs",
        "model/import/graph.rs",
        "store/catalog.rs",
    ] {
        assert!(
            sources.iter().any(|(p, _)| p.ends_with(deep)),
            "{deep} is read"
        );
    }
    for (path, text) in &sources {
        // Any format! whose template holds SQL would splice values into a statement.
        for (at, _) in text.match_indices("format!(") {
            let template = &text[at..text.len().min(at + 200)];
            let template = template.split(')').next().unwrap_or(template);
            for word in sql_words {
                assert!(
                    !template.contains(word),
                    "{}: SQL built with format!: {template}",
                    path.display()
                );
            }
        }
        for call in [
            "execute(&format",
            "query_row(&format",
            "prepare(&format",
            "execute_batch(&format",
        ] {
            assert!(!text.contains(call), "{}: {call}", path.display());
        }
        // External programs get paths as single arguments, never through a shell.
        for shell in [
            "Command::new(\"sh\")",
            "Command::new(\"bash\")",
            "Command::new(\"/bin/sh\")",
            "Command::new(\"cmd\")",
            ".arg(\"-c\")",
        ] {
            assert!(!text.contains(shell), "{}: {shell}", path.display());
        }
    }
}

#[test]
fn unsafe_code_is_confined_to_the_allocator_settings_and_the_probe_constructor() {
    // The workspace denies `unsafe`; core/src/memory.rs allows it for two glibc calls, and
    // core/src/ingest/probe.rs for the constructor that answers a suspect file's child process.
    let mut with_unsafe: Vec<String> = product_sources()
        .into_iter()
        .filter(|(_, text)| {
            text.contains("unsafe {")
                || text.contains("unsafe fn")
                || text.contains("(unsafe)")
                || text.contains("allow(unsafe_code)")
        })
        .map(|(path, _)| {
            path.file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    with_unsafe.sort();
    assert_eq!(with_unsafe, ["memory.rs", "probe.rs"]);
}
