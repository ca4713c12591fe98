//! Tools around the pipeline: the benchmark and the synthetic data generator.

pub mod bench;
pub mod synthetic;
