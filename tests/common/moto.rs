//! An S3-compatible server for tests: `moto_server` on a free 127.0.0.1 port, started and stopped (by PID) by
//! the test. Without `moto_server` a test fails saying so (`.ci/run` installs it when the machine lacks it).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// A `moto_server` on a free loopback port, killed when dropped.
pub struct MotoServer {
    child: Child,
    pub port: u16,
}

impl MotoServer {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A server with these environment variables (e.g. `INITIAL_NO_AUTH_ACTION_COUNT=0`: every request's
    /// credentials are checked, and none are known).
    pub fn start_with(environment: &[(&str, &str)]) -> Self {
        let program =
            std::env::var_os("MLPREP_MOTO_SERVER").map_or_else(|| PathBuf::from("moto_server"), PathBuf::from);
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(environment.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start {} ({error}): install it with pip install 'moto[server]', or set \
                     MLPREP_MOTO_SERVER to its path",
                    program.display()
                )
            });
        let mut server = Self { child, port };
        let started = Instant::now();
        while server.request("GET", "/").is_none() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("moto_server exited at start-up ({status})");
            }
            assert!(started.elapsed() < Duration::from_secs(60), "moto_server did not answer on port {port} in 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// The status line of an unsigned HTTP request, or `None` when nothing answers.
    fn request(&self, method: &str, path: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        stream.write_all(request.as_bytes()).ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        response.lines().next().map(str::to_owned)
    }

    pub fn create_bucket(&self, bucket: &str) {
        let status = self.request("PUT", &format!("/{bucket}")).expect("moto_server answers");
        assert!(status.contains(" 200 "), "creating bucket {bucket}: {status}");
    }

    /// `mlprep` pointed at this server, without credentials.
    pub fn command(&self, args: &[&str]) -> Command {
        mlprep_at(self.port, args)
    }

    /// `mlprep` with the environment a user of an S3-compatible store sets.
    pub fn mlprep(&self, args: &[&str]) -> Output {
        self.command(args).env("AWS_ACCESS_KEY_ID", "testing").env("AWS_SECRET_ACCESS_KEY", "testing").output().unwrap()
    }
}

/// A bucket of the server, read and written by the test itself (signed requests, as a user's tools make).
pub struct Bucket {
    store: Arc<dyn ObjectStore>,
    runtime: tokio::runtime::Runtime,
}

impl MotoServer {
    /// The bucket `name`, created.
    pub fn bucket(&self, name: &str) -> Bucket {
        self.create_bucket(name);
        let store = AmazonS3Builder::new()
            .with_bucket_name(name)
            .with_region("us-east-1")
            .with_endpoint(format!("http://127.0.0.1:{}", self.port))
            .with_allow_http(true)
            .with_access_key_id("testing")
            .with_secret_access_key("testing")
            .build()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        Bucket { store: Arc::new(store), runtime }
    }
}

impl Bucket {
    pub fn put(&self, key: &str, bytes: Vec<u8>) {
        self.runtime.block_on(self.store.put(&ObjectPath::from(key), PutPayload::from(bytes))).unwrap();
    }

    pub fn get(&self, key: &str) -> Vec<u8> {
        self.runtime.block_on(async { self.store.get(&ObjectPath::from(key)).await?.bytes().await }).unwrap().to_vec()
    }

    /// Every key in the bucket, in order.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .runtime
            .block_on(self.store.list(None).map_ok(|object| object.location.to_string()).try_collect::<Vec<_>>())
            .unwrap();
        keys.sort();
        keys
    }

    /// The objects under `prefix/`, by name under it, in order.
    pub fn objects(&self, prefix: &str) -> Vec<(String, Vec<u8>)> {
        let start = format!("{prefix}/");
        self.keys()
            .into_iter()
            .filter_map(|key| key.strip_prefix(&start).map(str::to_owned))
            .map(|name| {
                let bytes = self.get(&format!("{start}{name}"));
                (name, bytes)
            })
            .collect()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `mlprep` pointed at an S3 endpoint on a loopback port, without credentials and without the machine's AWS
/// profile or instance metadata.
pub fn mlprep_at(port: u16, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mlprep"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
    command
}
