//! Where queries run: a local DataFusion session, or a Ballista cluster (client, scheduler, executor), each
//! with mlprep's functions and settings.

pub mod cluster;
pub mod codec;
pub mod location;
pub mod ranged_csv;
pub mod session;
pub mod storage;

use crate::error::Result;
use datafusion::prelude::SessionContext;

pub use session::{Cluster, SessionOptions, session_context, session_state};

/// A session context with mlprep's functions registered, running where `options.cluster` says.
pub async fn connect(options: &SessionOptions) -> Result<SessionContext> {
    match &options.cluster {
        Cluster::Local => session_context(options),
        Cluster::Standalone => cluster::standalone_context(options).await,
        Cluster::Remote(url) => cluster::remote_context(url, options).await,
    }
}
