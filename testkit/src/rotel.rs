//! A real OTLP collector for tests: the `rotel` agent from PyPI, started on
//! free loopback ports and printing what it receives.
//!
//! Found at `$PERFMON_ROTEL`, else in `.venv` (which `.ci/run` installs).
//! Missing locally, the test is skipped with a loud message; with `CI` set,
//! a missing collector fails the test.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Rotel {
    child: Child,
    log: PathBuf,
    pub grpc: String,
    pub http: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn binary() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("PERFMON_ROTEL") {
        return Some(PathBuf::from(path));
    }
    let venv = crate::root().join(".venv/lib");
    std::fs::read_dir(venv)
        .ok()?
        .flatten()
        .map(|python| python.path().join("site-packages/rotel/rotel-agent"))
        .find(|p| p.exists())
}

impl Rotel {
    /// Starts the collector, or returns `None` (skip) when it is not
    /// installed outside CI.
    pub fn start() -> Option<Rotel> {
        let Some(bin) = binary() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "rotel-agent is not installed; .ci/run must install it"
            );
            eprintln!("SKIPPED: rotel-agent not installed (run .ci/run, or pip install rotel==0.0.1a15 into .venv)");
            return None;
        };
        let (grpc, http) = (free_port(), free_port());
        let log = std::env::temp_dir().join(format!("perfmon-rotel-{grpc}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin)
            .args([
                "start",
                "--otlp-grpc-endpoint",
                &format!("127.0.0.1:{grpc}"),
                "--otlp-http-endpoint",
                &format!("127.0.0.1:{http}"),
                "--exporter",
                "blackhole",
                "--debug-log",
                "traces",
                "--debug-log",
                "metrics",
                "--debug-log",
                "logs",
                "--debug-log-verbosity",
                "detailed",
            ])
            .env("NO_COLOR", "1")
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .stdin(Stdio::null())
            .spawn()
            .expect("rotel-agent starts");
        let rotel = Rotel {
            child,
            log,
            grpc: format!("http://127.0.0.1:{grpc}"),
            http: format!("http://127.0.0.1:{http}"),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", http)).is_err()
            || std::net::TcpStream::connect(("127.0.0.1", grpc)).is_err()
        {
            assert!(
                Instant::now() < deadline,
                "rotel did not listen: {}",
                rotel.output()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(rotel)
    }

    /// Everything the collector printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the output contains every one of `needles`.
    pub fn wait_for(&self, needles: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = self.output();
            if needles.iter().all(|n| out.contains(n)) {
                return out;
            }
            if Instant::now() > deadline {
                let missing: Vec<_> = needles.iter().filter(|n| !out.contains(**n)).collect();
                panic!("collector never showed {missing:?}; it printed:\n{out}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
