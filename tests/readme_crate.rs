//! The README's "Add it to your Lambda", done as a newcomer does it: a
//! scratch crate outside the workspace made of the README's own dependency
//! block and code block, built, and run under the cargo-lambda emulator.
//! The one change is the dependency line itself: until the crate is
//! published, `perfmon-lambda = "0.1"` becomes the path line the README
//! gives for a clone.

use perfmon_testkit as common;

use std::time::{Duration, Instant};

use common::emulator::{Emulator, Function};
use serde_json::{json, Value};

const PUBLISHED_LINE: &str = "perfmon-lambda = \"0.1\"";

/// The fenced block that follows the `<!-- readme-crate: NAME -->` marker.
fn readme_block(readme: &str, name: &str) -> String {
    let marker = format!("<!-- readme-crate: {name} -->");
    let after = readme
        .split_once(&marker)
        .unwrap_or_else(|| panic!("the README marks its {name} block"))
        .1;
    let body = after.trim_start().split_once('\n').expect("a fence line").1;
    body.split_once("\n```")
        .expect("the block's closing fence")
        .0
        .to_owned()
}

/// The scratch crate, built; its executable.
fn build_scratch_crate() -> std::path::PathBuf {
    let root = common::root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let dependencies = readme_block(&readme, "Cargo.toml");
    let main = readme_block(&readme, "src/main.rs");
    assert!(
        dependencies.contains(PUBLISHED_LINE),
        "the README names the published crate:\n{dependencies}"
    );
    let dependencies = dependencies.replace(
        PUBLISHED_LINE,
        &format!(
            "perfmon-lambda = {{ path = {:?} }}",
            root.display().to_string()
        ),
    );
    // The workspace's own dev profile, so that the dependencies already
    // built for the tests are reused rather than built again.
    let manifest = format!(
        "[package]\nname = \"readme-function\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [workspace]\n\n{dependencies}\n\n\
         [profile.dev]\ndebug = \"line-tables-only\"\n[profile.dev.package.\"*\"]\ndebug = false\n"
    );
    let dir = std::env::temp_dir().join(format!("perfmon-readme-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(dir.join("src/main.rs"), main).unwrap();
    // The workspace's lock file: the same versions, nothing fetched.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let output = std::process::Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the README's crate builds:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    target.join("debug/readme-function")
}

#[test]
fn the_readme_function_builds_and_answers_under_the_emulator() {
    let executable = build_scratch_crate();
    let Some(emulator) = Emulator::runtime_api("readme-function") else {
        return;
    };
    // As a newcomer deploys it: nothing set but what Lambda sets for a
    // function that logs JSON (its advanced logging controls).
    let function = Function::start(
        &executable,
        "readme-function",
        &emulator,
        &[("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned())],
    );
    let event = json!({"order": 42});
    let answer = emulator.invoke("_", &event);
    assert_eq!(answer, json!({"echo": event}), "{}", function.output());

    // Its EMF lines: the `echo` operation, under the default Environment.
    let deadline = Instant::now() + Duration::from_secs(30);
    let duration = loop {
        let found = function
            .output()
            .lines()
            .filter_map(|l| l.find("{\"_aws\"").map(|i| l[i..].to_owned()))
            .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
            .find(|l| l.get("HandlerDuration").is_some());
        if let Some(line) = found {
            break line;
        }
        assert!(
            Instant::now() < deadline,
            "a HandlerDuration line in\n{}",
            function.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(duration["Handler"], "echo", "{duration}");
    assert_eq!(duration["Environment"], "dev", "{duration}");

    // The misleading default is named once, at start-up.
    let warnings: Vec<Value> = function
        .output()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["level"] == "WARN" && l["variable"] == "PERFMON_ENVIRONMENT")
        .collect();
    assert_eq!(warnings.len(), 1, "{}", function.output());
    assert_eq!(warnings[0]["default"], "dev");
}
