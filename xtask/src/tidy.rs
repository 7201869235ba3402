//! Tidy checks that run as tests: conventions every source file follows.

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

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
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root");
        let mut files = Vec::new();
        rust_files(root, &mut files);
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
}
