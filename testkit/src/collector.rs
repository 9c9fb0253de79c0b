//! The collector in Docker (`scripts/collector.sh`, DESIGN §5), with the
//! faults a real one suffers: stopped, killed, restarted, paused.
//!
//! Needs Docker, which the script installs and starts when `apt-get` is
//! there. Missing locally, the test is skipped with a loud message; in CI
//! (`CI` set) it must run.

use std::net::TcpListener;
use std::process::{Command, Output};

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// The collector container, removed on drop.
pub struct Collector {
    pub name: String,
    pub grpc: u16,
    pub http: u16,
    env: Vec<(String, String)>,
}

impl Collector {
    /// A collector on free ports, not yet started; `None` (skip) when no
    /// Docker engine can be had outside CI. `settings` are extra
    /// `PERFMON_COLLECTOR_*` variables.
    pub fn new(tag: &str, settings: &[(&str, &str)]) -> Option<Collector> {
        let docker_usable = Command::new("sh")
            .args(["-c", "command -v dockerd || command -v apt-get"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !docker_usable && !in_ci() {
            eprintln!("SKIPPED: no Docker and no apt-get to install it");
            return None;
        }
        let (grpc, http) = (free_port(), free_port());
        let name = format!("perfmon-collector-{tag}-{}", std::process::id());
        let mut env = vec![
            ("PERFMON_COLLECTOR_NAME".to_owned(), name.clone()),
            ("PERFMON_COLLECTOR_GRPC_PORT".to_owned(), grpc.to_string()),
            ("PERFMON_COLLECTOR_HTTP_PORT".to_owned(), http.to_string()),
        ];
        env.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let collector = Collector {
            name,
            grpc,
            http,
            env,
        };
        let out = collector.script("engine");
        if !out.status.success() {
            let why = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(!in_ci(), "Docker must run in CI: {why}");
            eprintln!("SKIPPED: no Docker engine: {why}");
            return None;
        }
        Some(collector)
    }

    /// A started collector, or `None` (skip) as for [`Collector::new`].
    pub fn start(tag: &str, settings: &[(&str, &str)]) -> Option<Collector> {
        let collector = Collector::new(tag, settings)?;
        collector.up();
        Some(collector)
    }

    /// Its OTLP/HTTP endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }

    /// Builds (if needed) and runs the container, ready to receive.
    pub fn up(&self) {
        let out = self.script("start");
        assert!(
            out.status.success(),
            "the collector starts: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// SIGKILL: the collector dies with whatever it held.
    pub fn kill(&self) {
        self.docker(&["kill", &self.name]);
    }

    /// Starts the killed container again and waits until it listens.
    pub fn restart(&self) {
        self.docker(&["start", &self.name]);
        self.wait_listening();
    }

    /// Freezes the collector: the kernel still accepts connections on its
    /// ports, nothing ever answers.
    pub fn pause(&self) {
        self.docker(&["pause", &self.name]);
    }

    pub fn unpause(&self) {
        self.docker(&["unpause", &self.name]);
    }

    /// Everything the collector printed: what it received.
    pub fn logs(&self) -> String {
        let out = Command::new("docker")
            .args(["logs", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    }

    fn wait_listening(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.http)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the collector did not listen again"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    fn docker(&self, args: &[&str]) {
        let out = Command::new("docker").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "docker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn script(&self, command: &str) -> Output {
        Command::new("bash")
            .arg(crate::root().join("scripts/collector.sh"))
            .arg(command)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.script("stop");
    }
}
