//! Where files live: the local file system, and S3 or an S3-compatible store for `s3://bucket/...` URLs.
//!
//! A bucket's store is made when a query first names it, from the `AWS_*` environment variables (keys,
//! `AWS_REGION`, and `AWS_ENDPOINT_URL` with `AWS_ALLOW_HTTP=true` for a store such as MinIO or moto), and
//! kept for the process. Secrets are read from the environment only, never from SQL text.

use std::sync::Arc;

use datafusion::common::{DataFusionError, Result};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use url::Url;

/// The object stores of a runtime: DataFusion's registry (the local file system, stores registered by
/// hand), plus one S3 store per bucket, made on first use.
#[derive(Debug, Default)]
pub struct ObjectStores {
    known: DefaultObjectStoreRegistry,
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
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|error| DataFusionError::Configuration(format!("the S3 store of '{url}': {error}")))?;
        // Two queries may make the same bucket's store at once: either one serves.
        self.known.register_store(url, Arc::new(store));
        self.known.get_store(url)
    }
}
