//! `cargo lambda watch`, the Lambda emulator, on a free port, invoked over
//! HTTP and killed with its process group on drop.
//!
//! - [`Emulator::watch`] builds and runs a package's binary itself; its log
//!   holds what the function printed.
//! - [`Emulator::runtime_api`] serves only the Runtime API, and the test
//!   runs the function's executable against it ([`Function`]), as Lambda
//!   does. The emulator learns function names from a Cargo manifest, and in
//!   a workspace with several binaries it refuses every other name, an
//!   example's included; so it is pointed at a one-binary manifest that
//!   only names the function.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::collector::{free_port, in_ci};

/// A running emulator.
pub struct Emulator {
    child: Child,
    port: u16,
    log: PathBuf,
}

fn cargo_lambda() -> Option<PathBuf> {
    let tool = crate::root().join(".venv/bin/cargo-lambda");
    if tool.exists() {
        return Some(tool);
    }
    assert!(
        !in_ci(),
        "cargo-lambda is not installed; .ci/run must install it"
    );
    eprintln!("SKIPPED: cargo-lambda not installed in .venv");
    None
}

impl Emulator {
    /// Starts `cargo lambda watch ARGS` in `package` with `env` for the
    /// function; `None` (a loud skip) when cargo-lambda is not installed
    /// outside CI.
    pub fn watch(package: &Path, args: &[&str], env: &[(&str, String)]) -> Option<Emulator> {
        let vars: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(vars.iter().flat_map(|v| ["--env-var", v.as_str()]));
        Self::start(package, &all)
    }

    /// Starts only the Runtime API, for one function called `function`.
    pub fn runtime_api(function: &str) -> Option<Emulator> {
        let dir = std::env::temp_dir().join(format!(
            "perfmon-emulator-{function}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            format!("[package]\nname = \"{function}\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[[bin]]\nname = \"{function}\"\npath = \"main.rs\"\n\n[workspace]\n"),
        )
        .unwrap();
        std::fs::write(dir.join("main.rs"), "fn main() {}\n").unwrap();
        Self::start(&dir, &["--only-lambda-apis"])
    }

    fn start(dir: &Path, args: &[&str]) -> Option<Emulator> {
        let tool = cargo_lambda()?;
        let port = free_port();
        let path = format!(
            "{}:{}",
            tool.parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let log = std::env::temp_dir().join(format!("perfmon-watch-{port}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(tool)
            .args([
                "lambda",
                "watch",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
            ])
            .args(args)
            .current_dir(dir)
            .env("PATH", path)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .process_group(0)
            .spawn()
            .expect("cargo lambda watch starts");
        let emulator = Emulator { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(120);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the emulator did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(emulator)
    }

    /// `AWS_LAMBDA_RUNTIME_API` for a function run against this emulator.
    pub fn runtime_api_url(&self) -> String {
        format!("http://127.0.0.1:{}/.rt", self.port)
    }

    /// Invokes `function` with `event` and returns its answer. The first
    /// call compiles the function, so it may take minutes.
    pub fn invoke(&self, function: &str, event: &serde_json::Value) -> serde_json::Value {
        let path = format!("/2015-03-31/functions/{function}/invocations");
        let (head, payload) = self.request("POST", &path, &[], &event.to_string());
        serde_json::from_str(&payload).unwrap_or_else(|e| panic!("{e}: {head}\n{payload}"))
    }

    /// Sends `method PATH` with `headers` to `function`'s function URL, as
    /// a caller on the internet would (the emulator turns it into the
    /// function URL event), and returns the status and the body.
    pub fn function_url(
        &self,
        function: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
    ) -> (u16, String) {
        let (head, body) = self.request(
            method,
            &format!("/lambda-url/{function}{path}"),
            headers,
            "",
        );
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("a status line: {head}"));
        (status, body)
    }

    /// One HTTP/1.1 exchange with the emulator: the response's head and body.
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (String, String) {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(900)))
            .unwrap();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .expect("the emulator answers");
        let (head, payload) = response.split_once("\r\n\r\n").expect("an HTTP response");
        let payload = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(payload)
        } else {
            payload.to_owned()
        };
        (head.to_owned(), payload)
    }

    /// Everything the emulator and the function printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The body of a chunked HTTP/1.1 response.
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// The executable of perfmon's example `name`, built as `scripts/test.sh`
/// builds the examples (every feature, so that the library is built once
/// for the examples and the tests).
pub fn example(name: &str) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "-p",
            "perfmon-lambda",
            "--all-features",
            "--example",
            name,
        ])
        .current_dir(crate::root())
        .status()
        .unwrap();
    assert!(status.success(), "the example {name} builds");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::root().join("target"));
    target.join("debug/examples").join(name)
}

/// A function's executable running against an emulator's Runtime API,
/// its standard output in a file; killed on drop.
pub struct Function {
    child: Child,
    stdout: PathBuf,
}

impl Function {
    /// Runs `executable` as Lambda runs a function called `name`.
    pub fn start(
        executable: &Path,
        name: &str,
        emulator: &Emulator,
        env: &[(&str, String)],
    ) -> Function {
        Self::start_on(executable, name, &emulator.runtime_api_url(), env)
    }

    /// Runs `executable` as Lambda runs a function called `name`, against
    /// the Runtime API at `runtime_api` (`AWS_LAMBDA_RUNTIME_API`).
    pub fn start_on(
        executable: &Path,
        name: &str,
        runtime_api: &str,
        env: &[(&str, String)],
    ) -> Function {
        let tag: String = runtime_api
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let stdout =
            std::env::temp_dir().join(format!("perfmon-function-{}-{tag}.log", std::process::id()));
        let file = std::fs::File::create(&stdout).unwrap();
        let child = Command::new(executable)
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", executable.display()));
        Function { child, stdout }
    }

    /// What the function printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// The process id, to signal it.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The exit code once the process has exited, within `timeout`;
    /// `None` if it is still running or was killed by a signal.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // SAFETY: signals the process group this helper created.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGTERM) };
        let _ = self.child.wait();
    }
}
