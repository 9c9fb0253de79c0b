//! Headless Chromium (Debian's `chromium`, installed by `scripts/test.sh`):
//! a page's DOM after load, the console messages it printed, and
//! screenshots. `PERFMON_CHROMIUM` names another binary.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The browser, or `None` (the caller skips) outside CI when it is not
/// installed. In CI a missing browser fails the test.
pub fn chromium() -> Option<PathBuf> {
    let binary = std::env::var_os("PERFMON_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("chromium"));
    let found = Command::new(&binary)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(binary);
    }
    assert!(
        !crate::collector::in_ci(),
        "chromium is not installed (scripts/test.sh installs it)"
    );
    eprintln!("SKIPPED: chromium not installed (apt-get install chromium)");
    None
}

/// Runs headless Chromium on `page` with `args`; its output, once it
/// succeeded.
fn run(browser: &Path, page: &Path, args: &[String]) -> std::process::Output {
    let output = Command::new(browser)
        // Root in a container has no user namespace for the sandbox.
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .args(args)
        .arg(format!(
            "file://{}",
            page.canonicalize().expect("the page exists").display()
        ))
        .output()
        .expect("chromium runs");
    assert!(
        output.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// What a page did when loaded.
#[derive(Debug)]
pub struct Loaded {
    /// The DOM after load, serialized.
    pub dom: String,
    /// Console messages (`console.*` calls, script errors).
    pub console: Vec<String>,
}

/// Loads `page` and returns its DOM and console.
pub fn load(browser: &Path, page: &Path) -> Loaded {
    let args = ["--enable-logging=stderr", "--v=0", "--dump-dom"].map(String::from);
    let output = run(browser, page, &args);
    Loaded {
        dom: String::from_utf8_lossy(&output.stdout).into_owned(),
        console: String::from_utf8_lossy(&output.stderr)
            .lines()
            .filter(|l| l.contains(":CONSOLE"))
            .map(str::to_owned)
            .collect(),
    }
}

/// Writes a PNG screenshot of `page` at `width`×`height` to `png`.
pub fn screenshot(browser: &Path, page: &Path, png: &Path, (width, height): (u32, u32)) {
    let args = [
        format!("--window-size={width},{height}"),
        format!("--screenshot={}", png.display()),
    ];
    run(browser, page, &args);
}
