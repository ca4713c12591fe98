//! Where files live: the local file system, and S3 or an S3-compatible store for `s3://bucket/...` URLs.
//!
//! A bucket's store is made when a query first names it, from the `AWS_*` environment variables (`AWS_REGION`,
//! and `AWS_ENDPOINT_URL` with `AWS_ALLOW_HTTP=true` for a store such as MinIO or moto), and kept for the
//! process. Credentials: `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` when set, otherwise the AWS SDK's
//! default chain (profiles in `~/.aws`, SSO, web identity, container and instance roles). Never SQL text.

use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use object_store::aws::{AmazonS3Builder, AwsCredential};
use object_store::{CredentialProvider, ObjectStore};
use tokio::sync::OnceCell;
use url::Url;

/// The object stores of a runtime: DataFusion's registry (the local file system, stores registered by
/// hand), plus one S3 store per bucket, made on first use.
#[derive(Debug, Default)]
pub struct ObjectStores {
    known: DefaultObjectStoreRegistry,
    /// Shared by the buckets' stores: the chain is loaded once.
    sdk_credentials: Arc<SdkCredentials>,
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
