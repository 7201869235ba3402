//! Tidy checks that run as tests: conventions every source file follows,
//! and vm-core's layering (declaration modules import no behaviour module).

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    /// vm-core's declaration modules: the state (`state.rs` and
    /// `state/`, `lstate.h`'s role) and the types it holds, with the pure
    /// helpers those use. Each imports only modules of this list, as
    /// `lstate.h` declares its own fields.
    const DECLARATION_MODULES: &[&str] = &[
        "alloc", "arena", "error", "func", "heap", "light", "names", "native", "number", "opcodes",
        "state", "table", "value",
    ];

    /// vm-core's behaviour modules: the code that works on the state (and
    /// the compiler, which needs no state). They may import anything.
    const BEHAVIOUR_MODULES: &[&str] = &[
        "api",
        "auxlib",
        "call",
        "closethread",
        "compiler",
        "convert",
        "debug",
        "dump",
        "finalize",
        "gc",
        "handle",
        "hook",
        "lazy",
        "limit",
        "listing",
        "load",
        "meta",
        "msgh",
        "newstate",
        "raw",
        "resume",
        "tools",
        "transfer",
        "verify",
        "vm",
    ];

    fn workspace_root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root")
    }

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("readable directory") {
            let path = entry.expect("directory entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    rust_files(&path, out);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }

    /// Every Rust file opens with a `//!` comment saying what it is for.
    #[test]
    fn every_rust_file_has_a_module_header() {
        let mut files = Vec::new();
        rust_files(workspace_root(), &mut files);
        assert!(files.len() > 20, "found only {} Rust files", files.len());
        let missing: Vec<String> = files
            .iter()
            .filter(|f| {
                !std::fs::read_to_string(f)
                    .unwrap_or_default()
                    .starts_with("//!")
            })
            .map(|f| f.display().to_string())
            .collect();
        assert!(
            missing.is_empty(),
            "files without a `//!` header:\n{}",
            missing.join("\n")
        );
    }

    /// Every module `vm-core/src/lib.rs` declares is in exactly one of the
    /// two lists, so a new module is classified when it is added.
    #[test]
    fn every_vm_core_module_is_declaration_or_behaviour() {
        let lib = std::fs::read_to_string(workspace_root().join("vm-core/src/lib.rs"))
            .expect("vm-core/src/lib.rs");
        let declared: BTreeSet<&str> = lib
            .lines()
            .filter_map(|l| l.trim_start_matches("pub ").strip_prefix("mod "))
            .filter_map(|l| l.strip_suffix(';'))
            .collect();
        let declaration: BTreeSet<&str> = DECLARATION_MODULES.iter().copied().collect();
        let behaviour: BTreeSet<&str> = BEHAVIOUR_MODULES.iter().copied().collect();
        assert!(declared.len() > 20, "found only {declared:?} in lib.rs");
        let both: Vec<_> = declaration.intersection(&behaviour).collect();
        assert!(both.is_empty(), "modules in both lists: {both:?}");
        let listed: BTreeSet<&str> = declaration.union(&behaviour).copied().collect();
        assert_eq!(
            declared, listed,
            "vm-core's modules and the lists of xtask/src/tidy.rs differ: add a new \
             module to DECLARATION_MODULES or BEHAVIOUR_MODULES (ARCHITECTURE.md, \
             \"Layering\")"
        );
    }

    /// The declaration modules name only declaration modules in their
    /// paths (`use crate::x`, `crate::x::Y` in code; comments, strings and
    /// tests included in the files count as written), so the state never
    /// depends on the code that works on it.
    #[test]
    fn declaration_modules_import_no_behaviour_module() {
        let src = workspace_root().join("vm-core/src");
        let mut violations = Vec::new();
        let mut checked = 0;
        for module in DECLARATION_MODULES {
            let mut files = Vec::new();
            let file = src.join(format!("{module}.rs"));
            if file.is_file() {
                files.push(file);
            }
            let dir = src.join(module);
            if dir.is_dir() {
                rust_files(&dir, &mut files);
            }
            assert!(
                !files.is_empty(),
                "no source for declaration module `{module}`"
            );
            for file in files {
                let text = std::fs::read_to_string(&file).expect("readable source");
                let shown = file.strip_prefix(workspace_root()).unwrap_or(&file);
                for (line, what) in layering_violations(&text) {
                    violations.push(format!(
                        "{}:{line}: declaration module `{module}` {what}",
                        shown.display()
                    ));
                }
                checked += 1;
            }
        }
        assert!(checked >= DECLARATION_MODULES.len());
        assert!(
            violations.is_empty(),
            "declaration modules must import only declaration modules \
             (ARCHITECTURE.md, \"Layering\"):\n{}",
            violations.join("\n")
        );
    }

    /// The paths of one declaration module's source that leave the
    /// declaration layer, as (line, description).
    fn layering_violations(text: &str) -> Vec<(usize, String)> {
        let code = code_only(text);
        let line_of = |at: usize| code[..at].matches('\n').count() + 1;
        let mut found = Vec::new();
        for (at, segment) in crate_paths(&code) {
            if DECLARATION_MODULES.contains(&segment.as_str()) || segment == "self" {
                continue;
            }
            let what = if segment.starts_with(|c: char| c.is_ascii_uppercase()) {
                format!("uses `crate::{segment}`, a root re-export: name its module")
            } else {
                format!("uses `crate::{segment}`, a behaviour module")
            };
            found.push((line_of(at), what));
        }
        for at in keyword_positions(&code, "super") {
            let rest = code[at + "super".len()..].trim_start();
            if let Some(rest) = rest.strip_prefix("::") {
                if rest.trim_start().starts_with("super") && !is_ident_tail(rest, "super") {
                    found.push((
                        line_of(at),
                        "uses `super::super`: write the `crate::` path".to_string(),
                    ));
                }
            }
        }
        found
    }

    /// Whether `rest` starts with `word` followed by more of an
    /// identifier (`superb` is not `super`).
    fn is_ident_tail(rest: &str, word: &str) -> bool {
        rest.trim_start()[word.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
    }

    /// Positions of the keyword `word` as a whole identifier in `code`.
    fn keyword_positions<'a>(code: &'a str, word: &'a str) -> impl Iterator<Item = usize> + 'a {
        code.match_indices(word)
            .map(|(at, _)| at)
            .filter(move |&at| {
                let before = code[..at].chars().next_back();
                let after = code[at + word.len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
            })
    }

    /// The first segment of every `crate::` path in `code` (comments and
    /// literals already blanked), with its position: `crate::gc::X` gives
    /// `gc`, `crate::{a::B, c}` gives `a` and `c`.
    fn crate_paths(code: &str) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for at in keyword_positions(code, "crate") {
            let rest = code[at + "crate".len()..].trim_start();
            let Some(rest) = rest.strip_prefix("::") else {
                continue; // `pub(crate)`, `crate` alone
            };
            let rest = rest.trim_start();
            if let Some(group) = rest.strip_prefix('{') {
                // The first segment of each entry of the group.
                let mut depth = 1;
                let mut entry_start = true;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 1 => break,
                        '}' => depth -= 1,
                        ',' if depth == 1 => entry_start = true,
                        c if entry_start && depth == 1 && !c.is_whitespace() => {
                            entry_start = false;
                            let ident = ident_at(&group[i..]);
                            if !ident.is_empty() {
                                let position = code.len() - group.len() + i;
                                out.push((position, ident.to_string()));
                            }
                        }
                        _ => {}
                    }
                }
            } else {
                let ident = ident_at(rest);
                if !ident.is_empty() {
                    out.push((at, ident.to_string()));
                }
            }
        }
        out
    }

    /// The identifier `s` starts with (empty if none).
    fn ident_at(s: &str) -> &str {
        let end = s
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(s.len());
        &s[..end]
    }

    /// `text` with comments and string and character literals blanked
    /// (newlines kept, so positions and lines stay), leaving the code.
    fn code_only(text: &str) -> String {
        let b = text.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            let end = if b[i..].starts_with(b"//") {
                b[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |n| i + n)
            } else if b[i..].starts_with(b"/*") {
                block_comment_end(b, i)
            } else if let Some(end) = raw_string_end(b, i) {
                end
            } else if b[i] == b'"' {
                string_end(b, i)
            } else if b[i] == b'\'' {
                char_end(b, i)
            } else {
                i
            };
            if end == i {
                out.push(b[i]);
                i += 1;
            } else {
                out.extend(b[i..end].iter().map(|&c| if c == b'\n' { c } else { b' ' }));
                i = end;
            }
        }
        String::from_utf8(out).expect("blanking keeps UTF-8 whole")
    }

    /// End of the (nested) block comment starting at `i`.
    fn block_comment_end(b: &[u8], i: usize) -> usize {
        let (mut depth, mut j) = (0, i);
        while j < b.len() {
            if b[j..].starts_with(b"/*") {
                depth += 1;
                j += 2;
            } else if b[j..].starts_with(b"*/") {
                depth -= 1;
                j += 2;
                if depth == 0 {
                    return j;
                }
            } else {
                j += 1;
            }
        }
        b.len()
    }

    /// End of the raw string (`r"..."`, `br#"..."#`) starting at `i`, if
    /// one does.
    fn raw_string_end(b: &[u8], i: usize) -> Option<usize> {
        if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
            return None;
        }
        let mut j = i;
        if b.get(j) == Some(&b'b') {
            j += 1;
        }
        if b.get(j) != Some(&b'r') {
            return None;
        }
        j += 1;
        let hashes = b[j..].iter().take_while(|&&c| c == b'#').count();
        j += hashes;
        if b.get(j) != Some(&b'"') {
            return None; // `r#ident`, or an identifier
        }
        j += 1;
        let close: Vec<u8> = std::iter::once(b'"')
            .chain(std::iter::repeat_n(b'#', hashes))
            .collect();
        Some(
            b[j..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(b.len(), |n| j + n + close.len()),
        )
    }

    /// End of the string literal whose opening quote is at `i`.
    fn string_end(b: &[u8], i: usize) -> usize {
        let mut j = i + 1;
        while j < b.len() {
            match b[j] {
                b'\\' => j += 2,
                b'"' => return j + 1,
                _ => j += 1,
            }
        }
        b.len()
    }

    /// End of the character literal at `i`, or `i` for a lifetime or a
    /// label (`'a`), which is code.
    fn char_end(b: &[u8], i: usize) -> usize {
        if b.get(i + 1) == Some(&b'\\') {
            return b[i + 3..]
                .iter()
                .position(|&c| c == b'\'')
                .map_or(b.len(), |n| i + 3 + n + 1);
        }
        // One character (of up to four bytes), then the closing quote.
        let len = match b.get(i + 1) {
            Some(&c) if c >= 0xf0 => 4,
            Some(&c) if c >= 0xe0 => 3,
            Some(&c) if c >= 0xc0 => 2,
            Some(_) => 1,
            None => return i,
        };
        if b.get(i + 1 + len) == Some(&b'\'') {
            i + 2 + len
        } else {
            i
        }
    }

    #[test]
    fn crate_paths_are_found_in_code_only() {
        let text = r##"
//! Mentions `crate::gc` in a comment.
use crate::value::Value;
use crate::{
    gc::GcParams,
    heap::{Heap, Upval},
    self,
};
pub(crate) fn f(x: crate::hook::HookState) -> char {
    let _ = "crate::meta"; /* crate::call /* nested */ crate::vm */
    let _ = r#"crate::api "quoted""#;
    let _: &'static str = "\"crate::resume";
    let _ = crate::Vm::new();
    '"'
}
"##;
        let code = code_only(text);
        assert_eq!(code.len(), text.len());
        assert_eq!(code.lines().count(), text.lines().count());
        let segments: Vec<String> = crate_paths(&code).into_iter().map(|(_, s)| s).collect();
        assert_eq!(segments, ["value", "gc", "heap", "self", "hook", "Vm"]);
        let violations = layering_violations(text);
        let lines: Vec<usize> = violations.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [5, 9, 13], "{violations:?}");
        assert!(violations[0].1.contains("`crate::gc`, a behaviour module"));
        assert!(violations[2].1.contains("root re-export"));
    }

    #[test]
    fn super_super_and_lifetimes() {
        let text =
            "fn f<'a>(x: &'a str) -> char { let _ = super::super::gc::X; let _ = super::Y; 'x' }\n\
                    use super ::\n super::hook;\n";
        let lines: Vec<usize> = layering_violations(text).iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [1, 2]);
        assert!(layering_violations("use super::superb::X;\n").is_empty());
    }
}
