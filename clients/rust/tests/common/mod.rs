//! Test harness: real executor servers (`python -m executor`) on loopback port 0, started from
//! the repo's .venv the way sandcell/local.py does; they exit with this test process. Their
//! scratch files (ready file, log, test PKI) live in the target dir (CARGO_TARGET_TMPDIR), not /tmp.
#![allow(dead_code)]
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sandcell_client::Client;

pub const TOKEN: &str = "rust-test-token-alice";

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
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sandcell-rust-{name}-{}", std::process::id()));
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

pub const OTHER_TOKEN: &str = "rust-test-token-bob";

/// A server whose tenants come from a tokens file: "alice" (TOKEN) and "bob" (OTHER_TOKEN,
/// at most one session); the server holds at most two sessions in all.
pub fn guarded() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let dir = scratch("tokens");
        let file = dir.join("tokens");
        std::fs::write(&file, format!("alice {TOKEN}\nbob {OTHER_TOKEN} sessions=1\n")).unwrap();
        Server::start("guarded", &["--max-sessions", "2", "--tokens-file", file.to_str().unwrap()], &[])
    })
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sandcell-rust-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// PEM files from the Python tests' throw-away CA (tests/certs.py): a CA, a server
/// certificate for 127.0.0.1/localhost, client certificates "carol" and "dave", and a
/// client certificate "carol" from another CA.
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    pub fn read(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(file)).unwrap()
    }

    pub fn path(&self, file: &str) -> String {
        self.dir.join(file).to_str().unwrap().to_owned()
    }
}

pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = scratch("pki");
        let script = "import sys; from pathlib import Path; from tests.certs import CertificateAuthority as CA\n\
                      d = Path(sys.argv[1]); ca, rogue = CA(d, 'ca'), CA(d, 'rogue')\n\
                      ca.issue('executor', server=True, stem='server'); ca.issue('carol', stem='carol')\n\
                      ca.issue('dave', stem='dave'); rogue.issue('carol', stem='mallory')";
        let status = Command::new(python()).current_dir(repo_root()).args(["-c", script]).arg(&dir).status().unwrap();
        assert!(status.success(), "tests/certs.py could not make the test CA");
        Pki { dir }
    })
}

/// A TLS server; with `client_ca`, clients must present a certificate it signed (mTLS).
pub fn tls_server(mtls: bool) -> &'static Server {
    static TLS: OnceLock<Server> = OnceLock::new();
    static MTLS: OnceLock<Server> = OnceLock::new();
    let pki = pki();
    let (cert, key, ca) = (pki.path("server.crt"), pki.path("server.key"), pki.path("ca.pem"));
    if mtls {
        MTLS.get_or_init(|| Server::start("mtls", &["--tls-cert", &cert, "--tls-key", &key, "--tls-client-ca", &ca], &[]))
    } else {
        TLS.get_or_init(|| Server::start("tls", &["--tls-cert", &cert, "--tls-key", &key], &[("SANDCELL_TOKEN", TOKEN)]))
    }
}
