//! A real `moto` server on 127.0.0.1 for AWS protocol tests.
//!
//! Found at `$PERFMON_MOTO`, else `.venv/bin/moto_server` (which `.ci/run`
//! installs). Missing locally, the test is skipped with a loud message; with
//! `CI` set, a missing moto fails the test.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

fn venv() -> PathBuf {
    crate::root().join(".venv/bin")
}

impl Moto {
    pub fn start() -> Option<Moto> {
        let bin = std::env::var("PERFMON_MOTO")
            .map(PathBuf::from)
            .unwrap_or_else(|_| venv().join("moto_server"));
        if !bin.exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "moto_server is not installed; .ci/run must install it"
            );
            eprintln!("SKIPPED: moto_server not installed (run scripts/test.sh, or pip install 'moto[server]' into .venv)");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(moto)
    }

    /// The server's endpoint URL.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Runs `tests/support/moto_cognito.py` against this server.
    pub fn cognito(&self) -> serde_json::Value {
        self.script("moto_cognito.py", "")
    }

    /// Runs `tests/support/moto_xray.py` with `documents` against this server.
    pub fn xray(&self, documents: &serde_json::Value) -> serde_json::Value {
        self.script("moto_xray.py", &documents.to_string())
    }

    /// The traces moto's X-Ray API holds for `trace_ids` (X-Ray format).
    pub fn xray_traces(&self, trace_ids: &[String]) -> serde_json::Value {
        let script = crate::root().join("tests/support/moto_xray_get.py");
        let out = Command::new(venv().join("python"))
            .arg(script)
            .arg(&self.endpoint)
            .args(trace_ids)
            .output()
            .expect("the venv's python runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn script(&self, name: &str, stdin: &str) -> serde_json::Value {
        use std::io::Write;
        let script = crate::root().join("tests/support").join(name);
        let mut child = Command::new(venv().join("python"))
            .arg(script)
            .arg(&self.endpoint)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the venv's python runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
