//! The Python package: its pytest suite (`python/tests/*.py`) against the extension module this build made
//! (`lib_native.so` of this crate, in the same target directory), in a virtual environment
//! with datafusion-python 55, pyarrow, pytest, datasets and transformers (the reference of the tokenizer tests) from
//! the package registry. The environment is
//! `$MLPREP_PYTHON_ENV`, or `~/.cache/mlprep-pyenv`, made on first use; without Python the test fails saying so.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What the tests need, as pip takes it (`python/pyproject.toml` lists the same for users).
const REQUIREMENTS: [&str; 5] =
    ["datafusion>=55,<56", "pyarrow>=16", "pytest>=8", "datasets>=2.19", "transformers>=4.40"];

/// The package's directory, `python/`.
fn package_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The target directory's profile directory this test binary was built into (`target/debug`).
fn profile_directory() -> PathBuf {
    let executable = std::env::current_exe().unwrap();
    // target/debug/deps/python-HASH
    executable.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// The virtual environment's Python, made (and its requirements installed) when missing.
fn python() -> PathBuf {
    let environment = std::env::var_os("MLPREP_PYTHON_ENV").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache/mlprep-pyenv"),
        PathBuf::from,
    );
    let python = environment.join("bin/python");
    let ready = environment.join(".mlprep-requirements");
    if std::fs::read_to_string(&ready).ok().as_deref() != Some(&REQUIREMENTS.join("\n")) {
        let status = Command::new("python3").args(["-m", "venv"]).arg(&environment).status().unwrap_or_else(|error| {
            panic!("cannot run python3 ({error}): the Python package's tests need Python 3.10 or newer")
        });
        assert!(status.success(), "python3 -m venv {} failed", environment.display());
        let status = Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(REQUIREMENTS)
            .status()
            .unwrap();
        assert!(status.success(), "pip install {} into {} failed", REQUIREMENTS.join(" "), environment.display());
        std::fs::write(&ready, REQUIREMENTS.join("\n")).unwrap();
    }
    python
}

/// The package as `pip install ./python` lays it out: `python/mlprep/*` with the extension module beside it.
fn staged_package(directory: &Path) -> PathBuf {
    // Where cargo builds it as this test's dependency (`target/debug/lib_native.so` is only a `cargo build` copy).
    let library = profile_directory().join("deps/lib_native.so");
    assert!(
        library.is_file(),
        "{} is missing: cargo builds it for this test (`cargo test --workspace`)",
        library.display()
    );
    let package = directory.join("mlprep");
    std::fs::create_dir_all(&package).unwrap();
    for entry in std::fs::read_dir(package_root().join("mlprep")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, package.join(path.file_name().unwrap())).unwrap();
        }
    }
    // A link: the debug library is large.
    std::os::unix::fs::symlink(&library, package.join("_native.abi3.so")).unwrap();
    directory.to_path_buf()
}

#[test]
fn the_python_package_passes_its_tests() {
    let directory = tempfile::tempdir().unwrap();
    let site = staged_package(directory.path());
    let status = Command::new(python())
        .args(["-m", "pytest", "-q"])
        // Not the package's directory: `python -m` imports from the working directory first, and the source
        // directory has no extension module.
        .current_dir(directory.path())
        .arg(package_root().join("tests"))
        .env("PYTHONPATH", &site)
        // The CLI of the same target directory, which the tests compare with (`cargo test --workspace` builds it).
        .env("MLPREP_BINARY", profile_directory().join("mlprep"))
        // Hugging Face datasets' cache of loaded files, kept out of the user's.
        .env("HF_DATASETS_CACHE", directory.path().join("hf-cache"))
        .env("HF_HUB_OFFLINE", "1")
        .status()
        .unwrap();
    assert!(status.success(), "pytest python/tests failed (output above)");
}
