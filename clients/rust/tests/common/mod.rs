//! Test harness: real executor servers (`python -m executor`) on loopback port 0, started from
//! the repo's .venv the way sandcell/local.py does; they exit with this test process.
#![allow(dead_code)]
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sandcell_client::Client;

pub const TOKEN: &str = "rust-test-token";

pub struct Server {
    pub address: String,
    child: Child,
    dir: PathBuf,
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

fn python() -> PathBuf {
    std::env::var_os("SANDCELL_PYTHON").map(PathBuf::from).unwrap_or_else(|| repo_root().join(".venv/bin/python"))
}

impl Server {
    /// Starts `python -m executor` with `flags` and `env`, and waits until it serves.
    pub fn start(name: &str, flags: &[&str], env: &[(&str, &str)]) -> Server {
        let dir = std::env::temp_dir().join(format!("sandcell-rust-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ready = dir.join("ready");
        let log = std::fs::File::create(dir.join("server.log")).unwrap();
        let parent = std::process::id().to_string();
        let child = Command::new(python())
            .current_dir(repo_root())
            .args(["-m", "executor", "--host", "127.0.0.1", "--port", "0", "--log-json", "false"])
            .arg("--ready-file")
            .arg(&ready)
            .args(["--parent-pid", &parent])
            .args(flags)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {:?} (set SANDCELL_PYTHON, or `make setup`): {e}", python()));
        let mut server = Server { address: String::new(), child, dir };
        let deadline = Instant::now() + Duration::from_secs(90);
        while !ready.exists() {
            if server.child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                panic!("executor did not start; log:\n{}", server.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        server.address = std::fs::read_to_string(&ready).unwrap();
        server
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.address.clone()).await.expect("connect")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM: the server stops its zygote and workers on the way out.
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The server most tests share (statics are never dropped: it exits with this process
/// through --parent-pid). A short kill grace keeps the restore tests quick; `sys` may be
/// asked for as an extra import (the only way session code reaches stderr).
pub fn shared() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::start("shared", &["--kill-grace-ms", "500", "--import-ceiling", "sys"], &[]))
}

/// A server that requires a bearer token and holds at most two sessions.
pub fn guarded() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| Server::start("guarded", &["--max-sessions", "2"], &[("SANDCELL_TOKEN", TOKEN)]))
}
