//! A real `redis-server` for the tests, started as a child process on 127.0.0.1.
//!
//! The binary is `redis-server` from `PATH` (the Debian package `redis-server`), or the path
//! in `DMM_TEST_REDIS_SERVER`. A missing binary fails the test with that advice: the Redis
//! backend is never silently left untested. The server keeps nothing on disk and is killed
//! when the last test using it drops it.

use parking_lot::Mutex;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// A running `redis-server` child; killed on drop.
pub struct RedisServer {
    child: Child,
    port: u16,
    password: Option<String>,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// The server every test shares (each in its own namespace), started on first use and
    /// stopped once no test holds it.
    pub fn shared() -> Arc<RedisServer> {
        static SHARED: Mutex<Weak<RedisServer>> = Mutex::new(Weak::new());
        let mut shared = SHARED.lock();
        if let Some(server) = shared.upgrade() {
            return server;
        }
        let server = Arc::new(RedisServer::start(None));
        *shared = Arc::downgrade(&server);
        server
    }

    /// A server of its own, requiring `password` when given.
    pub fn start(password: Option<&str>) -> RedisServer {
        RedisServer::launch(password, None)
    }

    /// A server on `port` (to stand in for one that went away).
    pub fn start_on(port: u16) -> RedisServer {
        RedisServer::launch(None, Some(port))
    }

    fn launch(password: Option<&str>, fixed_port: Option<u16>) -> RedisServer {
        let binary = binary();
        match Command::new(&binary).arg("--version").output() {
            Ok(output) if output.status.success() => {}
            Ok(output) => panic!(
                "{} --version failed ({}); the Redis tests need a working redis-server",
                binary.display(),
                output.status
            ),
            Err(error) => panic!(
                "cannot run {} ({error}): the Redis tests need a real Redis server. Install \
                 the Debian package `redis-server` (apt-get install redis-server), or set \
                 DMM_TEST_REDIS_SERVER to the path of a redis-server binary",
                binary.display()
            ),
        }
        let mut failures = Vec::new();
        // A port found free can be taken before the server binds it: try a few.
        for _ in 0..5 {
            let port = fixed_port.unwrap_or_else(free_port);
            let dir = tempfile::tempdir().expect("a directory for redis-server");
            let mut command = Command::new(&binary);
            command
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(dir.path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            if let Some(password) = password {
                command.args(["--requirepass", password]);
            }
            let mut child = command.spawn().expect("start redis-server");
            match wait_until_ready(&mut child, port, password) {
                Ok(()) => {
                    return RedisServer {
                        child,
                        port,
                        password: password.map(str::to_owned),
                        _dir: dir,
                    };
                }
                Err(reason) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    failures.push(format!("port {port}: {reason}"));
                }
            }
        }
        panic!("redis-server did not start: {}", failures.join("; "));
    }

    /// `redis://127.0.0.1:PORT`, with the password when the server has one.
    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs one command whose reply is a line (`+OK`, `:1`, `-ERR ...`) or a bulk string,
    /// as a client of its own: for tests that act as another instance would. Returns the
    /// line, or the bulk string's text (`(nil)` for none).
    pub fn command(&self, args: &[&str]) -> String {
        let mut request = String::new();
        if let Some(password) = &self.password {
            request.push_str(&resp(&["AUTH", password]));
        }
        request.push_str(&resp(args));
        let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).expect("connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        stream.write_all(request.as_bytes()).expect("sends");
        let mut text = String::new();
        let mut buffer = [0u8; 256];
        loop {
            let mut lines: Vec<&str> = text.split("\r\n").collect();
            lines.pop(); // what follows the last CRLF: an unfinished line
            if self.password.is_some() && !lines.is_empty() {
                lines.remove(0); // AUTH's +OK
            }
            match lines.first() {
                Some(&"$-1") => return "(nil)".to_owned(),
                Some(head) if head.starts_with('$') && lines.len() >= 2 => {
                    return lines[1].to_owned();
                }
                Some(head) if !head.starts_with('$') => return (*head).to_owned(),
                _ => {}
            }
            let read = stream.read(&mut buffer).expect("reply");
            assert!(read > 0, "redis closed the connection");
            text.push_str(&String::from_utf8_lossy(&buffer[..read]));
        }
    }
}

/// `args` as a RESP array of bulk strings.
fn resp(args: &[&str]) -> String {
    let mut out = format!("*{}\r\n", args.len());
    for arg in args {
        out.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    out
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A namespace no other test (or run) uses: `t{pid}-{n}-{name}`.
pub fn namespace(name: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "t{}-{}-{name}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn binary() -> PathBuf {
    std::env::var_os("DMM_TEST_REDIS_SERVER")
        .filter(|path| !path.is_empty())
        .map_or_else(|| PathBuf::from("redis-server"), PathBuf::from)
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Waits (at most 10 s) until the server answers PING.
fn wait_until_ready(child: &mut Child, port: u16, password: Option<&str>) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let ping = match password {
        Some(password) => format!("AUTH {password}\r\nPING\r\n"),
        None => "PING\r\n".to_owned(),
    };
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited with {status}"));
        }
        if answers(port, &ping) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err("no PONG within 10 s".to_owned());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn answers(port: u16, ping: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(
        &(Ipv4Addr::LOCALHOST, port).into(),
        Duration::from_millis(200),
    ) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(ping.as_bytes()).is_err() {
        return false;
    }
    let mut reply = Vec::new();
    let mut buffer = [0u8; 64];
    while !reply.ends_with(b"+PONG\r\n") {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return false,
            Ok(read) => reply.extend_from_slice(&buffer[..read]),
        }
        if reply.len() > 1024 {
            return false;
        }
    }
    true
}
