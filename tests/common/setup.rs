//! What some tests need outside Rust, set up by the tests themselves on first use, so that
//! `cargo test --release` is the only step on a fresh machine (`.ci/run` runs exactly that):
//!
//! - a Python with `grpcio-tools`, `grpcio-reflection` and `moto[server]`, in a virtual
//!   environment under `target/` (created once, then reused);
//! - an S3-compatible server on loopback (moto's, in that environment), one per test process;
//! - a PostgreSQL server on loopback (Debian's, installed when missing), one per test process;
//! - Debian's Chromium, installed with `apt-get` when it is missing and the tests run as root.
//!
//! A prerequisite that cannot be set up fails the test with what to install; it never skips.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Python packages the tests use: the client tests' (stubs from `proto/`, server reflection)
/// and the S3-compatible server the object storage tests run against.
const PYTHON_PACKAGES: &[&str] = &[
    "grpcio-tools>=1.60,<2",
    "grpcio-reflection>=1.60,<2",
    "moto[server]>=5,<6",
];

/// Runs `command`; its failure is a message naming `what` and its output.
fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|error| format!("{what}: cannot run {:?}: {error}", command.get_program()))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

/// Installs Debian packages when running as root with `apt-get`; else says what to install.
fn apt_install(packages: &[&str], why: &str) -> Result<(), String> {
    if !is_root() || !Path::new("/usr/bin/apt-get").exists() {
        return Err(format!(
            "{why}: install {} (Debian: apt-get install {0})",
            packages.join(" ")
        ));
    }
    run(
        Command::new("apt-get")
            .arg("update")
            .arg("-qq")
            .env("DEBIAN_FRONTEND", "noninteractive"),
        "apt-get update",
    )?;
    run(
        Command::new("apt-get")
            .args(["install", "-y", "-qq"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
        &format!("apt-get install {}", packages.join(" ")),
    )
}

/// The virtual environment's Python, with [`PYTHON_PACKAGES`] installed.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PYTHON
        .get_or_init(|| virtual_environment("python-env", PYTHON_PACKAGES))
        .clone()
        .unwrap_or_else(|error| panic!("the tests need {}: {error}", PYTHON_PACKAGES.join(", ")))
}

/// Python with DuckDB, for the opt-in scale run's comparison (in an environment of its own, so
/// that the default test run never installs it).
pub fn python_with_duckdb() -> PathBuf {
    const PACKAGES: &[&str] = &["duckdb>=1,<3"];
    virtual_environment("python-duckdb-env", PACKAGES).unwrap_or_else(|error| {
        panic!(
            "the scale run's DuckDB comparison needs {}: {error}",
            PACKAGES.join(", ")
        )
    })
}

/// The Python of a virtual environment under `target/` named `name`, with `packages`
/// installed; made (again) when missing or when its packages differ.
fn virtual_environment(name: &str, packages: &[&str]) -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let python = root.join("bin/python3");
    // The marker is written last: an environment cut short is made again.
    let marker = root.join("leakdex-packages");
    if std::fs::read_to_string(&marker).is_ok_and(|listed| listed == packages.join("\n")) {
        return Ok(python);
    }
    let _ = std::fs::remove_dir_all(&root);
    let venv = || {
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&root),
            "python3 -m venv",
        )
    };
    if venv().is_err() {
        // Debian keeps ensurepip in a package of its own.
        apt_install(&["python3-venv"], "python3 -m venv needs ensurepip")?;
        venv()?;
    }
    run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .args(packages),
        "pip install (from the Python package index)",
    )?;
    std::fs::write(&marker, packages.join("\n")).map_err(|error| error.to_string())?;
    Ok(python)
}

/// Debian's Chromium (`LEAKDEX_CHROMIUM` names another binary), installed when missing.
pub fn chromium() -> PathBuf {
    static CHROMIUM: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    CHROMIUM
        .get_or_init(|| {
            if let Some(path) = std::env::var_os("LEAKDEX_CHROMIUM") {
                let path = PathBuf::from(path);
                return match path.exists() {
                    true => Ok(path),
                    false => Err(format!("LEAKDEX_CHROMIUM={} does not exist", path.display())),
                };
            }
            let path = PathBuf::from("/usr/bin/chromium");
            if !path.exists() {
                apt_install(&["chromium"], "the HTML report test renders in headless Chromium")?;
            }
            Ok(path)
        })
        .clone()
        .unwrap_or_else(|error| panic!("{error}"))
}

/// An S3-compatible server on loopback with one empty bucket, for this test process.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    pub bucket: String,
    /// The server's parent reads its standard input; the server stops when it closes, that is
    /// when this process ends, however it ends.
    _server: std::process::Child,
}

impl S3Server {
    /// A client builder for this server (its endpoint, plain HTTP, the test keys).
    pub fn builder(&self) -> object_store::aws::AmazonS3Builder {
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
    }
}

/// Serves S3 with moto until stdin closes; prints `ready` once the bucket exists.
const S3_SERVER: &str = r#"
import sys, boto3
from moto.server import ThreadedMotoServer
port = int(sys.argv[1])
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
             aws_access_key_id="test", aws_secret_access_key="test").create_bucket(Bucket=sys.argv[2])
print("ready", flush=True)
sys.stdin.read()
server.stop()
"#;

/// The process's S3 test server, started on first use.
pub fn s3_server() -> &'static S3Server {
    static SERVER: OnceLock<Result<S3Server, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            use std::io::BufRead;
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .map_err(|error| format!("no free port on loopback: {error}"))?
                .port();
            let bucket = "leakdex-test".to_string();
            let mut server = Command::new(python())
                .args(["-c", S3_SERVER, &port.to_string(), &bucket])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .map_err(|error| format!("cannot start moto: {error}"))?;
            let stdout = server.stdout.take().ok_or("moto has no stdout")?;
            let mut line = String::new();
            std::io::BufReader::new(stdout)
                .read_line(&mut line)
                .map_err(|error| error.to_string())?;
            if line.trim() != "ready" {
                let _ = server.kill();
                return Err(format!("moto did not start on port {port}"));
            }
            Ok(S3Server {
                endpoint: format!("http://127.0.0.1:{port}"),
                bucket,
                _server: server,
            })
        })
        .as_ref()
        .unwrap_or_else(|error| panic!("the object storage tests need an S3-compatible server: {error}"))
}

/// A PostgreSQL server on loopback for this test process, in a folder of its own.
pub struct PgServer {
    /// `postgres://leakdex@127.0.0.1:PORT`, without a database.
    pub base_url: String,
    /// As for [`S3Server`]: the server stops when this process's end closes its parent's stdin.
    _server: std::process::Child,
}

impl PgServer {
    /// A new, empty database on the server; its URL.
    /// Made on a thread of its own, so that async tests may ask too.
    pub fn database(&self, name: &str) -> String {
        let admin = format!("{}/postgres", self.base_url);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.unwrap();
                    tokio::spawn(connection);
                    // One statement a call: neither may run inside a transaction block.
                    for statement in [
                        format!("DROP DATABASE IF EXISTS {name}"),
                        format!("CREATE DATABASE {name}"),
                    ] {
                        client.batch_execute(&statement).await.unwrap();
                    }
                });
            });
        });
        format!("{}/{name}", self.base_url)
    }
}

/// Whether the server at `url` opens a session now (asked from a thread of its own, so that
/// async tests may ask too).
fn opens_sessions(url: &str) -> bool {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                    return false;
                };
                runtime.block_on(async { tokio_postgres::connect(url, tokio_postgres::NoTls).await.is_ok() })
            })
            .join()
            .unwrap_or(false)
    })
}

/// The PostgreSQL binaries' folder (Debian's layout), installing the server when missing.
fn postgres_bin() -> Result<PathBuf, String> {
    let find = || {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("bin"))
            .filter(|bin| bin.join("postgres").exists())
            .collect();
        versions.sort();
        versions.pop()
    };
    if let Some(bin) = find() {
        return Ok(bin);
    }
    apt_install(&["postgresql"], "the catalog tests run against PostgreSQL")?;
    find().ok_or_else(|| "postgresql installed, but no /usr/lib/postgresql/*/bin/postgres".to_string())
}

/// The process's PostgreSQL test server, started on first use: `initdb` into a fresh folder,
/// trust authentication on loopback only, no fsync, and room for the connections of every
/// deployment a test process makes (each keeps two or three until the process ends). As root
/// (CI), the server runs as the `postgres` user, since PostgreSQL refuses to run as root.
pub fn postgres_server() -> &'static PgServer {
    static SERVER: OnceLock<Result<PgServer, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            use std::io::BufRead;
            let bin = postgres_bin()?;
            let folder = tempfile::Builder::new()
                .prefix("leakdex-pg")
                .tempdir()
                .map_err(|error| error.to_string())?
                // Removed by the server's parent once the server has stopped.
                .keep();
            let folder = folder.as_path();
            let as_postgres = is_root();
            let command = |program: &Path| {
                let mut command = if as_postgres {
                    let mut command = Command::new("runuser");
                    command.args(["-u", "postgres", "--"]).arg(program);
                    command
                } else {
                    Command::new(program)
                };
                command.current_dir(folder);
                command
            };
            if as_postgres {
                run(
                    Command::new("chown").arg("postgres:").arg(folder),
                    "chown the PostgreSQL folder",
                )?;
            }
            let data = folder.join("db");
            run(
                command(&bin.join("initdb"))
                    .arg("-D")
                    .arg(&data)
                    .args(["-U", "leakdex", "--auth=trust", "--no-sync"]),
                "initdb",
            )?;
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .map_err(|error| format!("no free port on loopback: {error}"))?
                .port();
            // The parent shell stops the server (fast shutdown) when its stdin closes.
            let script = format!(
                "'{postgres}' -D '{data}' -p {port} -k '{socket}' -c listen_addresses=127.0.0.1 -c fsync=off \
                 -c full_page_writes=off -c max_connections=1000 2>'{socket}/log' & server=$!; echo started; cat >/dev/null; kill -INT $server; wait $server; rm -rf '{socket}'",
                postgres = bin.join("postgres").display(),
                data = data.display(),
                socket = folder.display(),
            );
            let mut server = command(Path::new("/bin/sh"))
                .args(["-c", &script])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .map_err(|error| format!("cannot start postgres: {error}"))?;
            let mut line = String::new();
            let stdout = server.stdout.take().ok_or("postgres has no stdout")?;
            std::io::BufReader::new(stdout)
                .read_line(&mut line)
                .map_err(|error| error.to_string())?;
            // Ready when it opens sessions (it accepts connections before: "the database
            // system is starting up").
            let admin = format!("postgres://leakdex@127.0.0.1:{port}/postgres");
            let ready = (0..200).any(|_| {
                std::thread::sleep(std::time::Duration::from_millis(50));
                opens_sessions(&admin)
            });
            if !ready {
                let log = std::fs::read_to_string(folder.join("log")).unwrap_or_default();
                return Err(format!("postgres did not start on port {port}: {log}"));
            }
            Ok(PgServer {
                base_url: format!("postgres://leakdex@127.0.0.1:{port}"),
                _server: server,
            })
        })
        .as_ref()
        .unwrap_or_else(|error| panic!("the catalog tests need PostgreSQL: {error}"))
}
