//! A real PostgreSQL server for tests and benches (features `postgres` and
//! `test-support`): Debian's binaries (`/usr/lib/postgresql/<version>/bin`), `initdb`
//! into a fresh temporary directory, started on a free loopback port, stopped and
//! removed when dropped, or when the test process ends however it ends.
//!
//! PostgreSQL refuses to run as root, and CI runs as root: then the server runs as the
//! `nobody` user (through util-linux's `setpriv`), in a directory it owns.
//!
//! A server that cannot start is a test **failure** with its log, never a skip:
//! `scripts/ensure-tools.sh` installs the `postgresql` package.
//!
//! # How it is stopped
//!
//! A small shell supervisor, running as the server's user, owns the server process and
//! reads commands on its standard input, a pipe from the test process. When that pipe
//! closes (the [`PostgresServer`] was dropped, or the test process exited or was
//! killed) it stops the server and removes the directory: no server outlives its test.

use std::{
    io::{BufRead, BufReader, Write},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, ChildStdin, ChildStdout, Command, Stdio},
    sync::atomic::{AtomicU32, Ordering},
    time::{Duration, Instant},
};

/// How long a starting server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Ports tried when another process takes the free port first.
const ATTEMPTS: usize = 5;

/// Runs the server on command: `start <port>`, `stop` (fast shutdown), `crash` (immediate
/// shutdown: no checkpoint, WAL recovery at the next start, as after a crash), `kill`
/// (SIGKILL). At the end of its input it stops the server and removes the directory.
const SUPERVISOR: &str = r#"
root=$1; shift
pid=
halt() {
  if [ -n "$pid" ]; then kill -"$1" "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=; fi
}
while :; do
  if ! read -r command port; then command=exit; fi
  case $command in
    start) "$@" -p "$port" </dev/null >>"$root/server.log" 2>&1 & pid=$!; echo started ;;
    stop) halt INT; echo stopped ;;
    crash) halt QUIT; echo stopped ;;
    kill) halt KILL; echo stopped ;;
    *) halt INT; rm -rf "$root"; exit 0 ;;
  esac
done
"#;

/// A running PostgreSQL server in a temporary directory, stopped and removed on drop.
///
/// ```no_run
/// use webhook_inbox::testing::PostgresServer;
///
/// let server = PostgresServer::start();
/// let url = server.url("postgres"); // the database initdb creates
/// # let _ = url;
/// ```
pub struct PostgresServer {
    supervisor: Child,
    commands: ChildStdin,
    replies: BufReader<ChildStdout>,
    port: u16,
    root: PathBuf,
    bin: PathBuf,
    user: Option<(u32, u32)>,
}

impl std::fmt::Debug for PostgresServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresServer")
            .field("port", &self.port)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl PostgresServer {
    /// Creates a cluster and starts its server, or panics saying why.
    pub fn start() -> Self {
        let bin = bin_dir();
        let user = server_user();
        let root = fresh_root(user);
        let data = root.join("data");
        let initdb = run_as(user, &bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .args(["--no-instructions", "--locale=C"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|err| panic!("could not run initdb: {err}"));
        if !initdb.status.success() {
            let _ = std::fs::remove_dir_all(&root);
            panic!(
                "initdb failed ({}):\n{}{}",
                initdb.status,
                String::from_utf8_lossy(&initdb.stdout),
                String::from_utf8_lossy(&initdb.stderr)
            );
        }
        let mut server = Self::supervise(&bin, user, &root);
        for _ in 0..ATTEMPTS {
            server.port = free_port();
            if server.start_server() {
                return server;
            }
            let log = server.log();
            server.command("stop");
            if !log.contains("could not bind") && !log.contains("already in use") {
                break;
            }
        }
        panic!(
            "the PostgreSQL server did not start; its log:\n{}",
            server.log()
        );
    }

    fn supervise(bin: &Path, user: Option<(u32, u32)>, root: &Path) -> Self {
        let mut supervisor = run_as(user, Path::new("sh"))
            .arg("-c")
            .arg(SUPERVISOR)
            .arg("supervisor")
            .arg(root)
            .arg(bin.join("postgres"))
            .arg("-D")
            .arg(root.join("data"))
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_directories="])
            .args(["-c", "max_connections=200"])
            .args(["-c", "shared_buffers=32MB"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("could not start the PostgreSQL supervisor: {err}"));
        let commands = supervisor.stdin.take().expect("piped stdin");
        let replies = BufReader::new(supervisor.stdout.take().expect("piped stdout"));
        Self {
            supervisor,
            commands,
            replies,
            port: 0,
            root: root.to_owned(),
            bin: bin.to_owned(),
            user,
        }
    }

    /// Sends a command; true once the supervisor answered it.
    fn command(&mut self, command: &str) -> bool {
        if writeln!(self.commands, "{command}").is_err() || self.commands.flush().is_err() {
            return false;
        }
        let mut reply = String::new();
        matches!(self.replies.read_line(&mut reply), Ok(n) if n > 0)
    }

    /// Starts the server on `self.port`; true once it accepts connections.
    fn start_server(&mut self) -> bool {
        let log_start = self.log().len();
        if !self.command(&format!("start {}", self.port)) {
            return false;
        }
        self.wait_ready(log_start)
    }

    fn wait_ready(&mut self, log_start: usize) -> bool {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.supervisor.try_wait(), Ok(Some(_))) {
                return false;
            }
            let log = self.log();
            let new = log.get(log_start..).unwrap_or_default();
            if new.contains("could not bind") || new.contains("database system is shut down") {
                return false;
            }
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .args(["-U", "postgres", "-d", "postgres", "-t", "1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            if matches!(ready, Ok(status) if status.success()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A URL for `database` as the superuser `postgres` (trust authentication on
    /// loopback).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates a database and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        let output = Command::new(self.bin.join("psql"))
            .arg(self.url("postgres"))
            .args(["-v", "ON_ERROR_STOP=1", "-q", "-c"])
            .arg(format!("CREATE DATABASE \"{name}\""))
            .output()
            .unwrap_or_else(|err| panic!("could not run psql: {err}"));
        assert!(
            output.status.success(),
            "CREATE DATABASE {name} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        self.url(name)
    }

    /// Stops the server with an immediate shutdown (what a crash leaves: no checkpoint,
    /// WAL recovery at the next start) and starts it again on the same port and data.
    /// Committed transactions must survive it.
    pub fn crash_and_restart(&mut self) {
        self.crash();
        self.restart();
    }

    /// Stops the server at once (immediate shutdown, as a crash), leaving it down until
    /// [`restart`](Self::restart).
    pub fn crash(&mut self) {
        assert!(self.command("crash"), "the supervisor is gone");
    }

    /// Starts the server again after [`crash`](Self::crash), waiting until it accepts
    /// connections.
    pub fn restart(&mut self) {
        assert!(
            self.start_server(),
            "the PostgreSQL server did not restart; its log:\n{}",
            self.log()
        );
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("server.log"))
            .unwrap_or_else(|err| format!("(no log: {err})"))
    }

    /// The user the server runs as (`None`: this process's).
    pub fn user(&self) -> Option<(u32, u32)> {
        self.user
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        // The end of its input stops the server and removes the directory.
        let _ = self.commands.write_all(b"exit\n");
        let _ = self.commands.flush();
        let _ = self.supervisor.wait();
    }
}

/// The newest installed PostgreSQL's binaries (or `WEBHOOK_INBOX_PG_BIN`).
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WEBHOOK_INBOX_PG_BIN") {
        return PathBuf::from(dir);
    }
    let versions = std::fs::read_dir("/usr/lib/postgresql").unwrap_or_else(|err| {
        panic!(
            "PostgreSQL is not installed (/usr/lib/postgresql: {err}): the PostgreSQL backend's \
             tests need a real server; install it with `bash scripts/ensure-tools.sh` (or \
             `apt-get install postgresql`)"
        )
    });
    versions
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
        .unwrap_or_else(|| {
            panic!(
                "no initdb under /usr/lib/postgresql/*/bin: install PostgreSQL with `bash \
                 scripts/ensure-tools.sh`"
            )
        })
}

/// `nobody`'s uid and gid when this process is root (PostgreSQL refuses root).
fn server_user() -> Option<(u32, u32)> {
    let uid = id(&["-u"]);
    if uid != 0 {
        return None;
    }
    Some((id(&["-u", "nobody"]), id(&["-g", "nobody"])))
}

fn id(args: &[&str]) -> u32 {
    let output = Command::new("id")
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("could not run id: {err}"));
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("`id {}` gave no number", args.join(" ")))
}

/// A command run as `user` (through `setpriv`), or as this process's user.
fn run_as(user: Option<(u32, u32)>, program: &Path) -> Command {
    match user {
        None => Command::new(program),
        Some((uid, gid)) => {
            let mut command = Command::new("setpriv");
            command
                .arg(format!("--reuid={uid}"))
                .arg(format!("--regid={gid}"))
                .arg("--clear-groups")
                .arg("--")
                .arg(program);
            // initdb and postgres read no root-owned home or files.
            command.env("HOME", "/tmp");
            command
        }
    }
}

/// A new directory owned by the server's user.
fn fresh_root(user: Option<(u32, u32)>) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let root = std::env::temp_dir().join(format!(
        "webhook-inbox-pg-{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        fastrand::u32(..)
    ));
    std::fs::create_dir(&root)
        .unwrap_or_else(|err| panic!("could not create {}: {err}", root.display()));
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&root, Some(uid), Some(gid))
            .unwrap_or_else(|err| panic!("could not give {} to uid {uid}: {err}", root.display()));
    }
    root
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("a local address").port()
}
