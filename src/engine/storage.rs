//! Where files live: the local file system, and S3 or an S3-compatible store for `s3://bucket/...` URLs.
//!
//! A bucket's store is made when a query first names it, from the `AWS_*` environment variables (`AWS_REGION`,
//! and `AWS_ENDPOINT_URL` with `AWS_ALLOW_HTTP=true` for a store such as MinIO or moto), and kept for the
//! registry's life. Credentials: `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` when set, otherwise the AWS
//! SDK's default chain (profiles in `~/.aws`, SSO, web identity, container and instance roles). Never SQL text,
//! never session settings.
//!
//! On a cluster, where the store is travels with each query: a client puts its `AWS_ENDPOINT_URL`,
//! `AWS_ALLOW_HTTP` and `AWS_REGION` into the session settings `s3.endpoint`, `s3.allow_http` and `s3.region`
//! ([`S3Settings`]), and the scheduler and executors make their stores with those over their own environment.
//! Each process finds its own credentials.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_config::BehaviorVersion;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use datafusion::common::{DataFusionError, Result};
use datafusion::config::{ConfigEntry, ConfigExtension, ExtensionOptions};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use datafusion::prelude::SessionConfig;
use object_store::aws::{AmazonS3Builder, AwsCredential};
use object_store::{CredentialProvider, ObjectStore};
use tokio::sync::OnceCell;
use url::Url;

/// Where the S3 store of `s3://` URLs is, as session settings (`s3.endpoint`, `s3.allow_http`, `s3.region`):
/// sent with every query, so that a cluster's scheduler and executors reach the store the client does.
/// Credentials are not settings: each process finds its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct S3Settings {
    /// The store's URL, for an S3-compatible store (the client's `AWS_ENDPOINT_URL`).
    pub endpoint: Option<String>,
    /// Whether the endpoint may be plain HTTP (the client's `AWS_ALLOW_HTTP`).
    pub allow_http: Option<bool>,
    /// The region (the client's `AWS_REGION`).
    pub region: Option<String>,
}

impl ConfigExtension for S3Settings {
    const PREFIX: &'static str = "s3";
}

impl ExtensionOptions for S3Settings {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn cloned(&self) -> Box<dyn ExtensionOptions> {
        Box::new(self.clone())
    }

    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let value = Some(value.to_owned()).filter(|value| !value.is_empty());
        match key {
            "endpoint" => self.endpoint = value,
            "region" => self.region = value,
            "allow_http" => {
                self.allow_http = value
                    .map(|value| value.parse::<bool>())
                    .transpose()
                    .map_err(|error| DataFusionError::Configuration(format!("s3.allow_http: {error}")))?;
            }
            _ => {
                return Err(DataFusionError::Configuration(format!(
                    "s3.{key} is not a setting: mlprep reads s3.endpoint, s3.allow_http and s3.region; credentials \
                     come from each process's environment or AWS profile, never from settings"
                )));
            }
        }
        Ok(())
    }

    fn entries(&self) -> Vec<ConfigEntry> {
        let entry = |key: &str, value: Option<String>, description: &'static str| ConfigEntry {
            key: format!("{}.{key}", Self::PREFIX),
            value,
            description,
        };
        vec![
            entry("endpoint", self.endpoint.clone(), "The S3 store's URL, for an S3-compatible store"),
            entry("allow_http", self.allow_http.map(|allow| allow.to_string()), "Whether the endpoint may be HTTP"),
            entry("region", self.region.clone(), "The S3 region"),
        ]
    }
}

impl S3Settings {
    /// This process's store settings, from its environment.
    pub fn from_env() -> Self {
        let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        Self {
            endpoint: variable("AWS_ENDPOINT_URL"),
            allow_http: variable("AWS_ALLOW_HTTP").map(|value| value.eq_ignore_ascii_case("true")),
            region: variable("AWS_REGION"),
        }
    }

    /// The settings a session carries (none: only the process's environment counts).
    pub fn of(config: &SessionConfig) -> Self {
        config.options().extensions.get::<Self>().cloned().unwrap_or_default()
    }
}

/// The object stores of a runtime: DataFusion's registry (the local file system, stores registered by
/// hand), plus one S3 store per bucket, made on first use from the environment and `settings`.
#[derive(Debug, Default)]
pub struct ObjectStores {
    known: DefaultObjectStoreRegistry,
    /// Over the environment's.
    settings: S3Settings,
    /// Shared by the buckets' stores: the chain is loaded once.
    sdk_credentials: Arc<SdkCredentials>,
}

impl ObjectStores {
    pub fn new(settings: S3Settings) -> Self {
        Self { settings, ..Self::default() }
    }
}

/// One registry per distinct [`S3Settings`]: what a scheduler's or executor's runtime producer hands each
/// session, so that the sessions of one client share their stores (and credentials).
#[derive(Debug, Default)]
pub struct StoresBySettings {
    registries: Mutex<HashMap<S3Settings, Arc<ObjectStores>>>,
}

impl StoresBySettings {
    pub fn for_config(&self, config: &SessionConfig) -> Arc<ObjectStores> {
        let settings = S3Settings::of(config);
        let mut registries = self.registries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(registries.entry(settings.clone()).or_insert_with(|| Arc::new(ObjectStores::new(settings))))
    }
}

impl ObjectStoreRegistry for ObjectStores {
    fn register_store(&self, url: &Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        self.known.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.known.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.known.get_store(url) {
            return Ok(store);
        }
        if url.scheme() != "s3" {
            return self.known.get_store(url);
        }
        let bucket = url.host_str().filter(|bucket| !bucket.is_empty()).ok_or_else(|| {
            DataFusionError::Configuration(format!("'{url}' names no bucket: expected s3://BUCKET/KEY"))
        })?;
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(endpoint) = &self.settings.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(allow_http) = self.settings.allow_http {
            builder = builder.with_allow_http(allow_http);
        }
        if let Some(region) = &self.settings.region {
            builder = builder.with_region(region);
        }
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            builder = builder.with_credentials(Arc::clone(&self.sdk_credentials) as _);
        }
        let store = builder
            .build()
            .map_err(|error| DataFusionError::Configuration(format!("the S3 store of '{url}': {error}")))?;
        // Two queries may make the same bucket's store at once: either one serves.
        self.known.register_store(url, Arc::new(store));
        self.known.get_store(url)
    }
}

/// Credentials from the AWS SDK's default chain, loaded when a request first needs them: loading is async,
/// and the registry that makes stores is not.
#[derive(Debug, Default)]
struct SdkCredentials {
    provider: OnceCell<Option<SharedCredentialsProvider>>,
}

#[async_trait::async_trait]
impl CredentialProvider for SdkCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let provider = self
            .provider
            .get_or_init(|| async {
                aws_config::defaults(BehaviorVersion::latest()).load().await.credentials_provider()
            })
            .await;
        let failed =
            |source: Box<dyn std::error::Error + Send + Sync>| object_store::Error::Generic { store: "S3", source };
        let provider = provider.as_ref().ok_or_else(|| failed("no AWS credentials provider is configured".into()))?;
        let credentials = provider.provide_credentials().await.map_err(|error| {
            failed(
                format!("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile ({error})")
                    .into(),
            )
        })?;
        Ok(Arc::new(AwsCredential {
            key_id: credentials.access_key_id().to_owned(),
            secret_key: credentials.secret_access_key().to_owned(),
            token: credentials.session_token().map(str::to_owned),
        }))
    }
}
