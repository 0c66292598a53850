//! npvrisk: a Monte Carlo sensitivity engine for public-sector cost-benefit (NPV) models.
//!
//! The library computes; the `npvrisk` binary parses arguments, prints and exits. See
//! ARCHITECTURE.md for the code map and invariants.

pub mod batch;
pub mod batch_report;
pub mod calibrate;
mod cast;
pub mod charts;
pub mod copula;
pub mod dist;
pub mod distfile;
pub mod draws_out;
pub mod embedded;
pub mod engine;
pub mod error;
pub mod export;
pub mod fit;
pub mod fitdist;
pub mod format;
pub mod guard;
pub mod input;
pub mod kernel;
pub mod local;
pub mod metalog;
pub mod model;
pub mod money;
pub mod output;
pub mod params;
pub mod published;
pub mod report;
pub mod reproduce;
pub mod rng;
pub mod run;
pub mod sampler;
pub mod sensitivity;
pub mod shapley;
pub mod shard;
pub mod slurm;
pub mod sobol_indices;
pub mod stats;
pub mod stream;
pub mod summary;
pub mod text;
pub mod xlsx;
