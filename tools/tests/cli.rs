//! The `perfmon` command: help and version, clear errors for unknown flags,
//! `catalog check` naming every broken field with its value, and the
//! generators writing dashboards and the collector configuration for any
//! catalog.
#![cfg(feature = "cli")]

use perfmon_testkit as common;

use std::process::{Command, Output};

fn perfmon(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_perfmon"))
        .args(args)
        .output()
        .unwrap()
}

fn output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("perfmon-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn help_and_version_on_every_command() {
    for args in [
        &["--help"][..],
        &["catalog", "--help"],
        &["catalog", "check", "--help"],
        &["dashboards", "generate", "--help"],
        &["collector", "generate", "--help"],
    ] {
        let out = perfmon(args);
        assert!(out.status.success(), "{args:?}: {}", output(&out));
        assert!(
            output(&out).contains("Usage:"),
            "{args:?}: {}",
            output(&out)
        );
    }
    let out = perfmon(&["--version"]);
    assert!(out.status.success());
    assert!(output(&out).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn an_unknown_flag_is_a_clear_error_with_a_usage_hint() {
    let out = perfmon(&["catalog", "check", "--frobnicate", "x.json"]);
    assert!(!out.status.success());
    let text = output(&out);
    assert!(
        text.contains("--frobnicate") && text.contains("Usage:"),
        "{text}"
    );
}

#[test]
fn catalog_check_names_every_broken_field_and_its_value() {
    let dir = scratch("check");
    let mut doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("tests/fixtures/orders.catalog.json"))
            .unwrap(),
    )
    .unwrap();
    doc["version"] = 0.into();
    doc["metrics"][0]["dimensions"][0]["values"] =
        serde_json::json!(["card", "card", "paypal", "voucher"]);
    doc["teams"][0]["operations"][0] = "nowhere".into();
    let path = dir.join("broken.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    let out = perfmon(&["catalog", "check", path.to_str().unwrap()]);
    assert!(!out.status.success());
    let text = output(&out);
    for expected in [
        "3 problem(s)",
        "`version` = 0",
        "`metrics[0].dimensions[0].values[1]` = \"card\": duplicate value",
        "`teams[0].operations[0]` = \"nowhere\"",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }

    let good = common::root().join("tests/fixtures/orders.catalog.json");
    let out = perfmon(&["catalog", "check", good.to_str().unwrap()]);
    assert!(out.status.success(), "{}", output(&out));
    assert!(
        output(&out).contains("valid (version 3, namespace Orders"),
        "{}",
        output(&out)
    );
}

#[test]
fn generators_write_and_check_for_any_catalog() {
    let dir = scratch("generate");
    let catalog = common::root().join("tests/fixtures/orders.catalog.json");
    let catalog = catalog.to_str().unwrap();
    let out = perfmon(&[
        "dashboards",
        "generate",
        "--catalog",
        catalog,
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", output(&out));
    assert!(dir.join("orders.dashboard.json").exists());
    assert!(dir.join("team-payments.dashboard.json").exists());
    let out = perfmon(&[
        "dashboards",
        "check",
        "--catalog",
        catalog,
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", output(&out));
    std::fs::write(dir.join("alarms.json"), "{}").unwrap();
    let out = perfmon(&[
        "dashboards",
        "check",
        "--catalog",
        catalog,
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(output(&out).contains("alarms.json"), "{}", output(&out));

    let out = perfmon(&["collector", "generate", "--catalog", catalog]);
    assert!(out.status.success(), "{}", output(&out));
    let yaml: yaml_serde::Value = yaml_serde::from_slice(&out.stdout).unwrap();
    assert_eq!(yaml["exporters"]["awsemf"]["namespace"], "Orders");
}
