//! Tests across crates and tools, one module per deliverable, in one test binary: the Helm chart,
//! the krew manifest and the release script, the release (one version, the image, the
//! workflows), and the scripts' shell functions.

mod chart;
mod krew;
mod release;
mod scripts;
