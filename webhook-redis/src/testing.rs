//! A real `redis-server` for tests and benches (feature `test-support`): started on a
//! free loopback port in a temporary directory, with persistence off, and killed when
//! dropped. hookwise's own tests use it; so can a receiver's integration tests.
//!
//! A missing or failing `redis-server` is a test failure with a clear message, never a
//! skip: `scripts/ensure-tools.sh` installs it.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// How long a starting server may take to answer PING.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Ports tried when another process takes the free port first.
const ATTEMPTS: usize = 5;

/// A running `redis-server`, killed on drop.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a server, or panics saying why.
    pub fn start() -> Self {
        Self::launch(None)
    }

    /// Starts a new, empty server on the port of this one (which must be killed): what
    /// a client sees when Redis restarts.
    pub fn restart(&mut self) {
        self.kill();
        let mut again = Self::launch(Some(self.port));
        self.child = again.child.take();
    }

    fn launch(fixed_port: Option<u16>) -> Self {
        match Command::new("redis-server").arg("--version").output() {
            Ok(output) if output.status.success() => {}
            Ok(output) => panic!(
                "`redis-server --version` failed ({}): reinstall it with \
                 `bash scripts/ensure-tools.sh`",
                output.status
            ),
            Err(error) => panic!(
                "redis-server is not available ({error}): the Redis store tests need a real \
                 server; install it with `bash scripts/ensure-tools.sh` (or `apt-get install \
                 redis-server`)"
            ),
        }
        let dir = tempfile::tempdir().expect("a temporary directory for redis-server");
        let mut last_log = String::new();
        for _ in 0..ATTEMPTS {
            let port = fixed_port.unwrap_or_else(free_port);
            let log = dir.path().join(format!("redis-{port}.log"));
            let mut child = Command::new("redis-server")
                .args(["--port", &port.to_string()])
                .args(["--bind", "127.0.0.1"])
                .args(["--save", ""])
                .args(["--appendonly", "no"])
                .arg("--dir")
                .arg(dir.path())
                .arg("--logfile")
                .arg(&log)
                .args(["--daemonize", "no"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|error| panic!("could not start redis-server: {error}"));
            if wait_ready(&mut child, port) {
                return Self {
                    child: Some(child),
                    port,
                    dir,
                };
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = read_log(&log);
            if !last_log.contains("Address already in use") {
                break;
            }
        }
        panic!("redis-server did not start; its log:\n{last_log}");
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server now (to test an outage).
    #[allow(dead_code)] // not every test binary kills its server
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The server's working directory.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port that was free a moment ago (the OS picks it for a throwaway listener).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("a local address").port()
}

/// Waits until the server answers PING, or returns false if it exits or takes too long.
fn wait_ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return false;
        }
        if ping(port) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

fn read_log(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| format!("(no log: {error})"))
}
