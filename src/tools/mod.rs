//! Tools around the pipeline: the benchmark (and the local cluster it can start) and the synthetic data generator.

pub mod bench;
pub mod local_cluster;
pub mod synthetic;
